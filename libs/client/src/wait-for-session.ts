import { SessionStateError } from './errors';
import { Gateway } from './gateway';
import { sleep } from './retry';
import { FINAL_UPLOAD_STATUSES, SessionDetails, UploadStatus } from './types';

export interface WaitOptions {
  /** Stop at one of these statuses (default: a final one: COMPLETED, FAILED, DELETED). */
  until?: UploadStatus | readonly UploadStatus[];
  /** Give up after this long (default 5 minutes). */
  timeoutMs?: number;
  /** Between polls (default 500 ms, growing to 5 s while nothing changes). */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Called whenever the status or a job's status changes. */
  onChange?: (s: SessionDetails) => void;
}

/**
 * Follows a session until it reaches a status in `until`, and returns it with its jobs and their results.
 * Reaching a final status outside `until` (say FAILED while waiting for COMPLETED) throws SessionStateError.
 */
export async function waitForSessionWith(gateway: Gateway, id: string, options: WaitOptions = {}): Promise<SessionDetails> {
  const until: readonly UploadStatus[] = options.until === undefined ? FINAL_UPLOAD_STATUSES : typeof options.until === 'string' ? [options.until] : options.until;
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  const base = options.intervalMs ?? 500;
  let interval = base;
  let seen = '';
  for (;;) {
    const s = await gateway.getUpload(id, options.signal);
    const fingerprint = `${s.status}|${(s.jobs ?? []).map((j) => j.status).join(',')}`;
    if (fingerprint !== seen) {
      seen = fingerprint;
      interval = base;
      options.onChange?.(s);
    } else {
      interval = Math.min(5_000, Math.round(interval * 1.5));
    }
    if (until.includes(s.status)) return s;
    if (FINAL_UPLOAD_STATUSES.includes(s.status)) {
      throw new SessionStateError(`session ${id} ended ${s.status}${s.errorMessage ? `: ${s.errorMessage}` : s.error ? `: ${s.error}` : ''} (waited for ${until.join(' or ')})`, id, s.status);
    }
    if (Date.now() + interval > deadline) throw new SessionStateError(`session ${id} is still ${s.status} after ${options.timeoutMs ?? 300_000} ms`, id, s.status);
    await sleep(interval, options.signal);
  }
}
