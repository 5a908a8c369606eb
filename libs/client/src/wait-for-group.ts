import { GroupStateError } from './errors';
import { Gateway } from './gateway';
import { follow, Follower, LiveWaitOptions, untilList } from './live';
import { DomainEvent, FINAL_GROUP_STATUSES, Group, GroupStatus } from './types';

export type WaitForGroupOptions = LiveWaitOptions<Group, GroupStatus>;

/** The group after one of its own events (group.*: status and counters). Its sessions' events leave it as it is. */
export function applyGroupEvent(g: Group, e: DomainEvent): Group {
  if (!e.type.startsWith('group.') || typeof e.data.status !== 'string') return g;
  const n = (v: unknown, fallback: number | undefined) => (typeof v === 'number' ? v : fallback);
  return {
    ...g,
    status: e.data.status as GroupStatus,
    totalFiles: n(e.data.totalFiles, g.totalFiles)!,
    completedFiles: n(e.data.completedFiles, g.completedFiles)!,
    failedFiles: n(e.data.failedFiles, g.failedFiles),
  };
}

/**
 * Follows a group until it reaches a status in `until` (by default its final one), and returns it. Reaching a
 * final status outside `until` throws GroupStateError. One stream follows every file of the group (`onEvent`).
 */
export async function waitForGroupWith(gateway: Gateway, id: string, options: WaitForGroupOptions = {}): Promise<Group> {
  const until = untilList(options.until, FINAL_GROUP_STATUSES);
  const follower: Follower<Group> = {
    kind: 'group',
    get: (signal) => gateway.getGroup(id, signal),
    apply: applyGroupEvent,
    done: (g) => until.includes(g.status) || FINAL_GROUP_STATUSES.includes(g.status),
    fingerprint: (g) => `${g.status}|${g.completedFiles}|${g.failedFiles ?? 0}|${g.totalFiles}`,
    timeout: (last, ms) => new GroupStateError(`group ${id} is still ${last?.status ?? 'unknown'} after ${ms} ms`, id, last?.status ?? 'UNKNOWN'),
  };
  const g = await follow(gateway, id, follower, options, { timeoutMs: 600_000, intervalMs: 1_000 });
  if (until.includes(g.status)) return g;
  throw new GroupStateError(`group ${id} ended ${g.status} (waited for ${until.join(' or ')})`, id, g.status);
}
