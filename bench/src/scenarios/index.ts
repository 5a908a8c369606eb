import { Scenario } from '../report';
import { bigFiles } from './big-files';
import { clusterPriority } from './cluster-priority';
import { jobs } from './jobs';
import { scale } from './scale';
import { sessionCreation } from './session-creation';
import { smallFiles } from './small-files';

/**
 * Every scenario, in the order they run. A new one is a module exporting a Scenario (its id, an --only key,
 * its run returning a Section with its targets) added here; the report and the targets table need nothing else.
 */
export const SCENARIOS: Scenario[] = [sessionCreation, smallFiles, bigFiles, jobs, scale, clusterPriority];
