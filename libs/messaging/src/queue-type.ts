import type { QueueMode } from '@app/contracts';

/**
 * The queue type argument every durable queue is declared with. Named in both modes, so that an app of the other
 * mode meets a TopologyMismatch naming `x-queue-type` instead of working on queues of the wrong kind.
 */
export function queueTypeArgs(mode: QueueMode = 'classic'): Record<string, string> {
  return { 'x-queue-type': mode };
}
