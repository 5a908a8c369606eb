import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { SessionStateError, UploadCancelledError } from '../errors';
import { sha256Of } from '../hash';
import { resolveSource } from '../source';
import { UploadClient } from '../upload-client';
import { UploadResult } from '../upload-file';
import { Group, JobRequest, LiveEvent, SessionDetails } from '../types';
import { describeError, jobsSummary, table } from './format';
import { LiveView } from './live-view';
import { ProgressView } from './progress-view';
import { CliState, PendingUpload } from './state';

export interface PutOptions {
  server: string;
  token?: string;
  files: string[];
  group?: string;
  jobs?: JobRequest[];
  contentType?: string;
  partSize?: number;
  concurrency: number;
  resume?: string;
  noResume: boolean;
  /** Hash each file, ask the gateway which ones you already hold, and have those copied server-side instead of sent. */
  skipExisting: boolean;
  wait: boolean;
  timeoutMs: number;
  json: boolean;
  progress: boolean;
  state: CliState;
}

interface LocalFile {
  path: string;
  name: string;
  size: number;
  mtimeMs: number;
  key: string;
}

/** One row of the final table (and of --json). */
export interface FileOutcome {
  file: string;
  sessionId: string | null;
  status: string;
  /** How the bytes got there: sent by this run, or reused (a server-side copy of `duplicateOf`, --skip-existing). */
  action: 'uploaded' | 'reused' | null;
  duplicateOf: string | null;
  resumed: boolean;
  partsSent: number[];
  partsSkipped: number[];
  jobs: SessionDetails['jobs'];
  error: string | null;
}

/** `upload put`: uploads files (as a group with --group), shows progress, waits for processing, prints the outcome. Returns the exit code. */
export async function put(o: PutOptions): Promise<number> {
  const files: LocalFile[] = [];
  for (const f of o.files) {
    const path = resolve(f);
    let st;
    try {
      st = statSync(path);
    } catch {
      process.stderr.write(`error: ${f}: no such file\n`);
      return 2;
    }
    if (!st.isFile()) {
      process.stderr.write(`error: ${f}: not a regular file\n`);
      return 2;
    }
    files.push({ path, name: basename(path), size: st.size, mtimeMs: st.mtimeMs, key: CliState.keyOf(o.server, path, st.size, st.mtimeMs) });
  }
  if (o.resume && files.length !== 1) {
    process.stderr.write('error: --resume takes one file\n');
    return 2;
  }

  const client = new UploadClient({ server: o.server, token: o.token, uploadTokens: o.state.tokens });
  const view = new ProgressView(
    o.progress,
    files.reduce((n, f) => n + f.size, 0),
    Math.min(30, Math.max(7, ...files.map((f) => f.name.length))),
  );
  files.forEach((f) => view.add(f.key, f.name, f.size));
  const controller = new AbortController();
  // Ctrl-C: stop sending but keep the session open, so the next `upload put` resumes it.
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  const common = {
    concurrency: o.concurrency,
    signal: controller.signal,
    abortOnCancel: false,
    ...(o.partSize ? { partSize: o.partSize } : {}),
    ...(o.jobs ? { jobs: o.jobs } : {}),
  };

  const outcomes: FileOutcome[] = files.map((f) => ({
    file: f.name,
    sessionId: null,
    status: 'NOT_SENT',
    action: null,
    duplicateOf: null,
    resumed: false,
    partsSent: [],
    partsSkipped: [],
    jobs: [],
    error: null,
  }));
  // --skip-existing: each file's SHA-256 (read from disk a slice at a time), then one check per 1,000 files.
  const content: { checksumSha256: string; ifExists: 'upload' | 'reuse' }[] = [];
  if (o.skipExisting) {
    try {
      if (!o.json) process.stderr.write(`hashing ${files.length} file(s)…\n`);
      const sums: string[] = new Array(files.length);
      let next = 0;
      const hashNext = async () => {
        for (let i = next++; i < files.length; i = next++) sums[i] = await sha256Of(await resolveSource(files[i].path), undefined, controller.signal);
      };
      await Promise.all(Array.from({ length: Math.min(4, files.length) }, hashNext));
      for (let at = 0; at < files.length; at += 1000) {
        const answers = await client.checkUploads(files.slice(at, at + 1000).map((f, k) => ({ checksumSha256: sums[at + k], size: f.size })));
        answers.forEach((a, k) => (content[at + k] = { checksumSha256: sums[at + k], ifExists: a.exists ? 'reuse' : 'upload' }));
      }
    } catch (e) {
      if (o.json)
        process.stdout.write(`${JSON.stringify({ ok: false, error: describeError(e), details: (e as { details?: unknown }).details ?? [] }, null, 2)}\n`);
      else process.stderr.write(`error: ${describeError(e)}\n`);
      return 1;
    }
  }
  const record = (i: number, s: { sessionId: string; uploadToken?: string; groupId: string | null; partSize: number | null }) => {
    const f = files[i];
    outcomes[i].sessionId = s.sessionId;
    const pending: PendingUpload = { ...s, server: o.server, path: f.path, size: f.size, mtimeMs: f.mtimeMs, startedAt: new Date().toISOString() };
    o.state.remember(pending, f.key, f.name);
  };
  const settle = (i: number, r: UploadResult) => {
    Object.assign(outcomes[i], {
      sessionId: r.sessionId,
      status: r.session.status,
      action: r.reused ? 'reused' : 'uploaded',
      duplicateOf: r.duplicateOf,
      partsSent: r.partsSent,
      partsSkipped: r.partsSkipped,
    });
    o.state.forget(files[i].key);
  };
  const fail = (i: number, e: unknown) => {
    // Interrupted (Ctrl-C): the session stays open and the next run resumes it.
    outcomes[i].status = e instanceof UploadCancelledError ? 'INTERRUPTED' : 'FAILED';
    outcomes[i].error = describeError(e);
  };

  let groupLine: string | null = null;
  let groupId: string | null = null;
  // A group's stream opens as soon as the group exists, so no change is missed while the bytes go up (files
  // may finish processing before the last one is sent); its lines wait until the progress bars are done.
  const early: LiveEvent<SessionDetails | Group>[] = [];
  let live: LiveView | null = null;
  let groupStream: Promise<unknown> | null = null;
  const stopGroupStream = new AbortController();
  const groupStreamFailed = (e: unknown) => process.stderr.write(`${describeError(e)}\n`);
  try {
    const pendings = files.map((f) => (o.noResume ? undefined : o.state.pendingFor(f.key)));
    const resumeGroup = o.group !== undefined && pendings.every((p) => p?.groupId) && new Set(pendings.map((p) => p!.groupId)).size === 1;
    if (o.group !== undefined && !resumeGroup) {
      const result = await client.uploadGroup(
        files.map((f, i) => ({ source: f.path, ...(o.contentType ? { contentType: o.contentType } : {}), ...(content[i] ?? {}) })),
        {
          ...common,
          name: o.group,
          onGroup: (g, uploads) => {
            groupId = g.id;
            o.state.rememberToken(g.id, client.gateway.tokenOf(g.id));
            uploads.forEach((u, i) =>
              record(i, {
                sessionId: u.id,
                uploadToken: client.gateway.tokenOf(u.id),
                groupId: g.id,
                partSize: u.upload.strategy === 'MULTIPART' ? u.upload.partSize : null,
              }),
            );
            if (o.wait) {
              groupStream = client
                .waitForGroup(g.id, {
                  timeoutMs: o.timeoutMs,
                  signal: AbortSignal.any([controller.signal, stopGroupStream.signal]),
                  onEvent: (e) => (live ? live.onEvent(e) : early.push(e)),
                })
                .catch((e: unknown) => (controller.signal.aborted || stopGroupStream.signal.aborted ? undefined : groupStreamFailed(e)));
            }
          },
          onProgress: (p) => p.files.forEach((fp, i) => view.update(files[i].key, fp)),
        },
      );
      result.files.forEach((r, i) => (r.ok ? settle(i, r.result) : fail(i, r.error)));
    } else {
      if (resumeGroup) groupId = pendings[0]!.groupId;
      await Promise.all(
        files.map(async (f, i) => {
          const pending = o.resume ? { sessionId: o.resume } : pendings[i];
          try {
            settle(i, await uploadOne(client, f, i, pending, o, { ...common, ...(content[i] ?? {}) }, view, outcomes, record));
          } catch (e) {
            fail(i, e);
          }
        }),
      );
    }
  } catch (e) {
    view.stop();
    stopGroupStream.abort();
    // Nothing was created (a 400 for the whole group, an unreachable gateway): say why.
    if (o.json)
      process.stdout.write(`${JSON.stringify({ ok: false, error: describeError(e), details: (e as { details?: unknown }).details ?? [] }, null, 2)}\n`);
    else process.stderr.write(`error: ${describeError(e)}\n`);
    return 1;
  }
  view.stop();

  if (controller.signal.aborted) {
    process.stderr.write('interrupted: run the same command again to resume\n');
  } else if (o.wait) {
    // Processing, live: one line per change, from the gateway's event streams (polling where it has none).
    const view = new LiveView(!o.json, new Map(outcomes.filter((out) => out.sessionId).map((out) => [out.sessionId!, out.file])));
    live = view;
    for (const e of early.splice(0)) view.onEvent(e);
    if (groupId && outcomes.every((out) => out.sessionId && !out.error)) {
      // One stream for the whole group, opened when the group was created: every file's events, then the group's final one.
      await (groupStream ?? client.waitForGroup(groupId, { timeoutMs: o.timeoutMs, onEvent: (e) => view.onEvent(e) }).catch(groupStreamFailed));
      await Promise.all(
        outcomes.map(async (out) => {
          const s = await client.getSession(out.sessionId!).catch((e: unknown) => void (out.error = describeError(e)));
          if (!s) return;
          // A file that finished before the group's stream was open (a small file on a busy machine): its final
          // state, so that every file's lines are shown (a state already shown prints nothing).
          view.onEvent({ kind: 'snapshot', snapshot: s });
          Object.assign(out, { status: s.status, jobs: s.jobs, error: s.status === 'COMPLETED' ? null : (s.errorMessage ?? s.error ?? null) });
        }),
      );
    } else {
      // Some file failed to upload: each session is followed on its own instead.
      stopGroupStream.abort();
      await Promise.all(
        outcomes.map(async (out) => {
          if (!out.sessionId || out.error) return;
          try {
            const s = await client.waitForSession(out.sessionId, { timeoutMs: o.timeoutMs, onEvent: (e) => view.onEvent(e) });
            Object.assign(out, { status: s.status, jobs: s.jobs, error: s.status === 'COMPLETED' ? null : (s.errorMessage ?? s.error ?? null) });
          } catch (e) {
            if (e instanceof SessionStateError) {
              const s = await client.getSession(out.sessionId).catch(() => null);
              Object.assign(out, { status: s?.status ?? e.status, jobs: s?.jobs ?? [], error: s?.errorMessage ?? s?.error ?? e.message });
            } else out.error = describeError(e);
          }
        }),
      );
    }
  }
  if (groupId) {
    // The group settles with its last file; give the counters a moment when every file is final.
    const allFinal = outcomes.every((out) => ['COMPLETED', 'FAILED', 'DELETED'].includes(out.status));
    let g = await client.getGroup(groupId).catch(() => null);
    for (let i = 0; allFinal && o.wait && g && !['COMPLETED', 'FAILED', 'CANCELLED'].includes(g.status) && i < 20; i++) {
      await new Promise((r) => setTimeout(r, 250));
      g = await client.getGroup(groupId).catch(() => g);
    }
    if (g)
      groupLine = `group ${g.id} "${g.name}": ${g.status} (${g.completedFiles}/${g.totalFiles} completed${g.failedFiles ? `, ${g.failedFiles} failed` : ''})`;
  }

  const wanted = o.wait ? ['COMPLETED'] : ['UPLOADED', 'PROCESSING', 'COMPLETED'];
  const ok = outcomes.every((out) => wanted.includes(out.status) && !out.error);
  const totals = {
    files: outcomes.length,
    uploaded: outcomes.filter((out) => out.action === 'uploaded').length,
    reused: outcomes.filter((out) => out.action === 'reused').length,
    failed: outcomes.filter((out) => !wanted.includes(out.status) || out.error).length,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ ok, groupId, totals, files: outcomes }, null, 2)}\n`);
  } else {
    const note = (out: FileOutcome) =>
      out.action === 'reused'
        ? `reused (copy of ${out.duplicateOf})`
        : out.resumed
          ? `resumed, sent ${out.partsSent.length} parts`
          : o.skipExisting && out.action
            ? 'uploaded'
            : '';
    const rows = outcomes.map((out) => [out.file, out.sessionId ?? '-', out.status, jobsSummary(out.jobs), note(out), out.error ?? '']);
    process.stdout.write(`\n${table(['FILE', 'SESSION', 'STATUS', 'JOBS', 'NOTE', 'ERROR'], rows)}\n`);
    if (groupLine) process.stdout.write(`${groupLine}\n`);
    process.stdout.write(`${totals.files} file(s): ${totals.uploaded} uploaded, ${totals.reused} reused${totals.failed ? `, ${totals.failed} failed` : ''}\n`);
  }
  return ok ? 0 : 1;
}

async function uploadOne(
  client: UploadClient,
  f: LocalFile,
  i: number,
  pending: { sessionId: string; uploadToken?: string; partSize?: number | null; groupId?: string | null } | undefined,
  o: PutOptions,
  common: object,
  view: ProgressView,
  outcomes: FileOutcome[],
  record: (i: number, s: { sessionId: string; uploadToken?: string; groupId: string | null; partSize: number | null }) => void,
): Promise<UploadResult> {
  const base = {
    ...common,
    onProgress: (p: Parameters<typeof view.update>[1]) => view.update(f.key, p),
    onSession: (s: Parameters<typeof record>[1]) => record(i, s),
  };
  if (pending) {
    try {
      view.log(`${f.name}: resuming session ${pending.sessionId}`);
      outcomes[i].resumed = true;
      return await client.uploadFile(f.path, {
        ...base,
        resume: { sessionId: pending.sessionId, uploadToken: pending.uploadToken, partSize: pending.partSize ?? undefined },
      });
    } catch (e) {
      // A session that cannot go on (expired, aborted, single PUT) is replaced by a new one, unless asked for by id.
      if (!(e instanceof SessionStateError) || o.resume) throw e;
      view.log(`${f.name}: ${e.message}; starting over`);
      o.state.forget(f.key);
      outcomes[i].resumed = false;
    }
  }
  return client.uploadFile(f.path, { ...base, ...(o.contentType ? { contentType: o.contentType } : {}) });
}
