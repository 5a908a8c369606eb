import { SessionStateError } from './errors';
import { Gateway } from './gateway';
import { follow, Follower, LiveWaitOptions, untilList } from './live';
import { DomainEvent, FINAL_UPLOAD_STATUSES, Job, SessionDetails, UploadStatus } from './types';

export type WaitOptions = LiveWaitOptions<SessionDetails, UploadStatus>;

/** A session's state after one of its events: the session's status, or one job's outcome. */
export function applySessionEvent(s: SessionDetails, e: DomainEvent): SessionDetails {
  const d = e.data;
  if (e.type.startsWith('session.') && typeof d.status === 'string') {
    return {
      ...s,
      status: d.status as UploadStatus,
      error: (d.error as string | null | undefined) ?? s.error,
      errorMessage: (d.errorMessage as string | null | undefined) ?? s.errorMessage,
    };
  }
  if (e.type.startsWith('job.') && typeof d.jobId === 'string') {
    const update = { status: d.status, attempts: d.attempts, result: d.result ?? null, error: d.error ?? null } as Partial<Job>;
    const jobs = s.jobs ?? [];
    const known = jobs.some((j) => j.id === d.jobId);
    return {
      ...s,
      jobs: known
        ? jobs.map((j) => (j.id === d.jobId ? { ...j, ...update } : j))
        : [...jobs, { id: d.jobId, type: String(d.type), priority: 0, maxAttempts: 0, ...update }],
    };
  }
  return s;
}

/**
 * Follows a session until it reaches a status in `until`, and returns it with its jobs and their results.
 * Reaching a final status outside `until` (say FAILED while waiting for COMPLETED) throws SessionStateError.
 */
export async function waitForSessionWith(gateway: Gateway, id: string, options: WaitOptions = {}): Promise<SessionDetails> {
  const until = untilList(options.until, FINAL_UPLOAD_STATUSES);
  const follower: Follower<SessionDetails> = {
    kind: 'session',
    get: (signal) => gateway.getUpload(id, signal),
    apply: applySessionEvent,
    done: (s) => until.includes(s.status) || FINAL_UPLOAD_STATUSES.includes(s.status),
    fingerprint: (s) => `${s.status}|${(s.jobs ?? []).map((j) => j.status).join(',')}`,
    timeout: (last, ms) => new SessionStateError(`session ${id} is still ${last?.status ?? 'unknown'} after ${ms} ms`, id, last?.status ?? 'UNKNOWN'),
  };
  const s = await follow(gateway, id, follower, options, { timeoutMs: 300_000, intervalMs: 500 });
  if (until.includes(s.status)) return s;
  throw new SessionStateError(
    `session ${id} ended ${s.status}${s.errorMessage ? `: ${s.errorMessage}` : s.error ? `: ${s.error}` : ''} (waited for ${until.join(' or ')})`,
    id,
    s.status,
  );
}
