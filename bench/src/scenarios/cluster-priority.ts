import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { jobQueuesOf, JobType } from '@app/contracts';
import { isRunning, RunningProcess, startApp, stopProcess } from '../apps';
import { benchEnv, NS, PORT_BASE, ROOT } from '../env';
import { BenchContext, BenchFailure, Scenario, Section, table, thresholdTarget } from '../report';
import { fmt, percentile } from '../stats';
import { confirmChannel, JobBench, measurePriorityWaits } from './jobs';

/** The bench's private 3-node cluster (scripts/faults/rabbit-cluster.sh): node N on PORT_BASE+20+N-1. */
const CLUSTER = { CLUSTER_NAME: `${NS}bq`, CLUSTER_PORT_BASE: String(PORT_BASE + 20) };
const nodeUrl = (n: number) => `amqp://guest:guest@127.0.0.1:${PORT_BASE + 20 + n - 1}`;

function cluster(verb: string): string {
  const r = spawnSync('bash', [join(ROOT, 'scripts/faults/rabbit-cluster.sh'), verb], { env: { ...process.env, ...CLUSTER }, encoding: 'utf8' });
  if (r.status !== 0) throw new BenchFailure(`rabbit-cluster.sh ${verb} failed: ${(r.stdout + r.stderr).slice(-1500)}`);
  return r.stdout.trim().split('\n').slice(-1)[0] ?? '';
}

interface ModeRun {
  name: string;
  waits: number[][];
  backlogLeft: number[];
}

/**
 * Issue 23: the priority-1 wait behind a backlog of priority-10 jobs in the cluster mode (a private 3-node
 * RabbitMQ cluster, AMQP_QUEUE_MODE=quorum: replicated band queues, drained highest band first) beside the
 * single-node mode (the machine's RabbitMQ, classic queues with AMQP priorities). Same processor, same jobs.
 */
async function run(ctx: BenchContext): Promise<Section> {
  const backlog = ctx.quick ? 300 : 10_000;
  const probes = ctx.quick ? 3 : 20;
  const runs = ctx.quick ? 1 : 2;
  const bench = await JobBench.open();
  const concurrency = Number(benchEnv().JOB_CONCURRENCY);
  const results: ModeRun[] = [];
  let processor: RunningProcess | null = null;
  let clusterUp = '';
  try {
    await bench.prepareSessions(backlog + probes, ctx.log);
    const modes: { name: string; env: Record<string, string>; url: string; queues: string[] }[] = [
      { name: 'single node, classic queues (AMQP priorities)', env: {}, url: benchEnv().AMQP_URL, queues: jobQueuesOf(JobType.VALIDATION, 'classic') },
      {
        name: 'cluster of 3, quorum queues (priority bands)',
        env: { AMQP_URLS: [1, 2, 3].map(nodeUrl).join(','), AMQP_QUEUE_MODE: 'quorum' },
        url: nodeUrl(1),
        queues: jobQueuesOf(JobType.VALIDATION, 'quorum'),
      },
    ];
    for (const mode of modes) {
      if (mode.env.AMQP_QUEUE_MODE === 'quorum') {
        spawnSync('bash', [join(ROOT, 'scripts/faults/rabbit-cluster.sh'), 'down'], { env: { ...process.env, ...CLUSTER } });
        const t0 = Date.now();
        clusterUp = `${cluster('up')}`;
        ctx.log(`  ${clusterUp} (${fmt((Date.now() - t0) / 1000)} s)`);
      }
      processor = await startApp('job-processor', { env: { ...mode.env, JOB_TYPES: 'VALIDATION' } });
      const { ch, close } = await confirmChannel(mode.url);
      try {
        ctx.log(`  ${mode.name}:`);
        const measured = await measurePriorityWaits(bench, ch, { backlog, probes, runs, queues: mode.queues, url: mode.url, log: ctx.log });
        results.push({ name: mode.name, ...measured });
      } finally {
        await close();
      }
      if (!isRunning(processor)) throw new BenchFailure(`job-processor exited; see ${processor.log}`);
      await stopProcess(processor);
      processor = null;
    }
  } finally {
    if (processor) await stopProcess(processor);
    spawnSync('bash', [join(ROOT, 'scripts/faults/rabbit-cluster.sh'), 'down'], { env: { ...process.env, ...CLUSTER } });
    await bench.reset().catch(() => undefined);
    await bench.db.end().catch(() => undefined);
  }

  const rows = results.map((r) => {
    const all = r.waits.flat();
    return [r.name, fmt(percentile(all, 50), 0), fmt(percentile(all, 99), 0), fmt(Math.max(...all), 0), r.backlogLeft.map((b) => fmt(b, 0)).join(', ')];
  });
  const clusterWaits = results[1].waits.flat();
  const p99 = percentile(clusterWaits, 99);
  return {
    id: 6,
    title: 'Priorities on a RabbitMQ cluster',
    lines: [
      `One job-processor (JOB_TYPES=VALIDATION, JOB_CONCURRENCY=${concurrency}); ${fmt(backlog, 0)} priority-10 VALIDATION jobs queued, then ${probes} priority-1 jobs ` +
        `published one every 200 ms while the backlog drains, ${runs} run${runs > 1 ? 's' : ''} per mode; wait = claim (started_at) − publish. ` +
        `Single node: the machine's RabbitMQ, classic queues (x-max-priority 10). Cluster: ${clusterUp || 'a private 3-node cluster'} on this machine ` +
        `(scripts/faults/rabbit-cluster.sh, one scheduler per node), AMQP_QUEUE_MODE=quorum: priority 1 goes to jobs.validation.high, 10 to jobs.validation.low; ` +
        `the processor's PriorityGate gives a freed slot to the highest band first.`,
      '',
      ...table(['mode', ' p50 ms', ' p99 ms', ' max ms', ' backlog left when the last urgent job completed'], rows),
    ],
    targets: [
      thresholdTarget({
        name: `Priority-1 wait p99 behind ${fmt(backlog, 0)} priority-10 jobs, cluster mode`,
        source: 'issue 23',
        value: p99,
        limit: 1000,
        atLeast: false,
        wanted: '< 1 s',
        measured: `${fmt(p99, 0)} ms (p50 ${fmt(percentile(clusterWaits, 50), 0)} ms; single node p99 ${fmt(percentile(results[0].waits.flat(), 99), 0)} ms)`,
      }),
    ],
    data: { backlog, probes, runs, concurrency, results },
  };
}

export const clusterPriority: Scenario = { id: 6, key: 'cluster-priority', title: 'priorities on a RabbitMQ cluster', run };
