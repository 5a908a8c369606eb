import { GroupStateError } from './errors';
import { Gateway } from './gateway';
import { follow, Follower } from './live';
import { DomainEvent, FINAL_GROUP_STATUSES, Group, GroupStatus, LiveEvent } from './types';

export interface WaitForGroupOptions {
  /** Stop at one of these statuses (default: a final one: COMPLETED, FAILED, CANCELLED). */
  until?: GroupStatus | readonly GroupStatus[];
  /** Give up after this long (default 10 minutes). */
  timeoutMs?: number;
  /** Between polls, when polling (default 1 s, growing to 5 s while nothing changes). */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Called whenever the group's status or counters change. */
  onChange?: (g: Group) => void;
  /**
   * Each event of the live stream as it arrives: the snapshot, the group's own events and those of every session
   * in it (session.*, job.*: a file's progress, live).
   */
  onEvent?: (e: LiveEvent<Group>) => void;
  /** Follow the group's live event stream (default true); polls where the gateway offers none. */
  live?: boolean;
}

/** The group after one of its own events (group.*: status and counters). Its sessions' events leave it as it is. */
export function applyGroupEvent(g: Group, e: DomainEvent): Group {
  if (!e.type.startsWith('group.') || typeof e.data.status !== 'string') return g;
  const n = (v: unknown, fallback: number | undefined) => (typeof v === 'number' ? v : fallback);
  return { ...g, status: e.data.status as GroupStatus, totalFiles: n(e.data.totalFiles, g.totalFiles)!, completedFiles: n(e.data.completedFiles, g.completedFiles)!, failedFiles: n(e.data.failedFiles, g.failedFiles) };
}

/**
 * Follows a group until it reaches a status in `until` (by default its final one), and returns it. Reaching a
 * final status outside `until` throws GroupStateError.
 */
export async function waitForGroupWith(gateway: Gateway, id: string, options: WaitForGroupOptions = {}): Promise<Group> {
  const until: readonly GroupStatus[] = options.until === undefined ? FINAL_GROUP_STATUSES : typeof options.until === 'string' ? [options.until] : options.until;
  const follower: Follower<Group> = {
    kind: 'group',
    get: (signal) => gateway.getGroup(id, signal),
    apply: applyGroupEvent,
    done: (g) => until.includes(g.status) || FINAL_GROUP_STATUSES.includes(g.status),
    fingerprint: (g) => `${g.status}|${g.completedFiles}|${g.failedFiles ?? 0}|${g.totalFiles}`,
    timeout: (last, ms) => new GroupStateError(`group ${id} is still ${last?.status ?? 'unknown'} after ${ms} ms`, id, last?.status ?? 'UNKNOWN'),
  };
  const g = await follow(gateway, id, follower, {
    timeoutMs: options.timeoutMs ?? 600_000,
    intervalMs: options.intervalMs ?? 1_000,
    signal: options.signal,
    live: options.live ?? true,
    onChange: options.onChange,
    onEvent: options.onEvent,
  });
  if (until.includes(g.status)) return g;
  throw new GroupStateError(`group ${id} ended ${g.status} (waited for ${until.join(' or ')})`, id, g.status);
}
