#!/usr/bin/env node
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { GatewayError } from '../errors';
import { UploadClient } from '../upload-client';
import { JobRequest, Session } from '../types';
import { describeError, humanBytes, jobsSummary, table } from './format';
import { LiveView } from './live-view';
import { put } from './put';
import { CliState } from './state';

const USAGE = `upload: send files to the upload platform

  upload put <files...> [--group NAME] [--jobs TYPE[:PRIORITY],...] [--content-type T] [--part-size BYTES]
                        [--concurrency N] [--resume SESSION_ID] [--no-resume] [--no-wait] [--timeout SECONDS]
                        [--skip-existing]   (files you already uploaded are copied server-side, not sent)
  upload status <sessionId|groupId> [--wait]   (--wait: shows each change live until a final state)
  upload ls [--status STATUS] [--group GROUP_ID]
  upload get <sessionId> [-o FILE]

Common options: --server URL (UPLOAD_SERVER, default http://localhost:3000), --token JWT (UPLOAD_TOKEN),
--json (machine-readable output, no progress bars). Interrupted uploads are remembered in UPLOAD_STATE_DIR
(default ~/.upload-cli): running the same \`upload put\` again sends only the parts the store lacks.
\`upload put\` waits for processing (unless --no-wait) and shows each file's and each job's state as it changes, from the
gateway's live event stream (polling where the gateway has none).
Exit code: 0 when every file ends COMPLETED (UPLOADED with --no-wait), 1 on any failure, 2 on bad usage.`;

async function main(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean', default: false },
      group: { type: 'string' },
      jobs: { type: 'string' },
      'content-type': { type: 'string' },
      'part-size': { type: 'string' },
      concurrency: { type: 'string' },
      resume: { type: 'string' },
      'no-resume': { type: 'boolean', default: false },
      'skip-existing': { type: 'boolean', default: false },
      'no-wait': { type: 'boolean', default: false },
      'no-progress': { type: 'boolean', default: false },
      timeout: { type: 'string' },
      wait: { type: 'boolean', default: false },
      status: { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...args] = positionals;
  if (v.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || v.help ? 0 : 2;
  }
  const server = (v.server ?? process.env.UPLOAD_SERVER ?? 'http://localhost:3000').replace(/\/+$/, '');
  const token = v.token ?? (process.env.UPLOAD_TOKEN || undefined);
  const state = new CliState();
  const client = () => new UploadClient({ server, token, uploadTokens: state.tokens });
  const out = (data: unknown, text: () => string) => process.stdout.write(`${v.json ? JSON.stringify(data, null, 2) : text()}\n`);

  switch (command) {
    case 'put': {
      if (args.length === 0) return usage('put needs at least one file');
      const concurrency = v.concurrency === undefined ? 4 : positiveInt(v.concurrency, '--concurrency');
      const partSize = v['part-size'] === undefined ? undefined : positiveInt(v['part-size'], '--part-size');
      const timeout = v.timeout === undefined ? 600 : positiveInt(v.timeout, '--timeout');
      return put({
        server,
        token,
        files: args,
        group: v.group,
        jobs: v.jobs ? parseJobs(v.jobs) : undefined,
        contentType: v['content-type'],
        partSize,
        concurrency,
        resume: v.resume,
        noResume: v['no-resume'],
        skipExisting: v['skip-existing'],
        wait: !v['no-wait'],
        timeoutMs: timeout * 1000,
        json: v.json,
        progress: !v.json && !v['no-progress'] && Boolean(process.stderr.isTTY),
        state,
      });
    }
    case 'status': {
      const [id] = args;
      if (!id) return usage('status needs an id');
      const c = client();
      // --wait: each change as it happens (the live stream), then the final state.
      const names = new Map<string, string>();
      const live = new LiveView(v.wait && !v.json, names);
      try {
        const s = v.wait
          ? await c
              .waitForSession(id, { onEvent: (e) => live.onEvent(e) })
              .catch(async (e) => (e instanceof GatewayError ? Promise.reject(e) : c.getSession(id)))
          : await c.getSession(id);
        out(s, () =>
          [
            `session ${s.id}  ${s.status}${s.error ? `  ${s.error}: ${s.errorMessage ?? ''}` : ''}`,
            `file     ${s.filename} (${s.contentType}, ${humanBytes(s.size)})${s.groupId ? `  group ${s.groupId}` : ''}`,
            `parts    ${s.totalParts === 0 ? 'none (one PUT)' : s.parts ? `${s.parts.uploaded}/${s.parts.total}` : `${s.completedParts}/${s.totalParts}`}`,
            table(
              ['JOB', 'STATUS', 'ATTEMPTS', 'RESULT / ERROR'],
              (s.jobs ?? []).map((j) => [
                j.type,
                String(j.status),
                `${j.attempts ?? 0}/${j.maxAttempts}`,
                j.error ? String(j.error) : JSON.stringify(j.result ?? null),
              ]),
            ),
          ].join('\n'),
        );
        return s.status === 'FAILED' ? 1 : 0;
      } catch (e) {
        if (!(e instanceof GatewayError) || e.statusCode !== 404) throw e;
        if (v.wait) for (const u of (await c.listSessions({ groupId: id, limit: 100 })).items) names.set(u.id, u.filename);
        const g = v.wait ? await c.waitForGroup(id, { onEvent: (ev) => live.onEvent(ev) }) : await c.getGroup(id);
        const uploads = await c.listSessions({ groupId: id });
        out({ ...g, uploads: uploads.items }, () =>
          [
            `group ${g.id} "${g.name}": ${g.status} (${g.completedFiles}/${g.totalFiles} completed${g.failedFiles ? `, ${g.failedFiles} failed` : ''})`,
            sessionsTable(uploads.items),
          ].join('\n'),
        );
        return g.status === 'FAILED' || g.status === 'CANCELLED' ? 1 : 0;
      }
    }
    case 'ls': {
      const c = client();
      let items: Session[];
      if (token || v.group) {
        items = (await c.listSessions({ status: v.status, groupId: v.group })).items;
      } else {
        // Anonymous: the gateway knows no "mine"; show the sessions this machine created.
        const recent = state.recent(server).slice(-50).reverse();
        items = (await Promise.all(recent.map((r) => c.getSession(r.id).catch(() => null)))).filter((s): s is NonNullable<typeof s> => s !== null);
        if (v.status) items = items.filter((s) => s.status === v.status);
      }
      out(items, () => sessionsTable(items));
      return 0;
    }
    case 'get': {
      const [id] = args;
      if (!id) return usage('get needs a session id');
      const c = client();
      const s = await c.getSession(id);
      const { url } = await c.gateway.download(id);
      const res = await fetch(url);
      if (!res.ok || !res.body) throw new Error(`download failed: HTTP ${res.status}`);
      const target = v.output ?? s.filename;
      if (target === '-') await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), process.stdout);
      else await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(target));
      if (target !== '-') process.stderr.write(`${s.filename} → ${target} (${humanBytes(s.size)})\n`);
      return 0;
    }
    default:
      return usage(`unknown command ${command}`);
  }
}

function sessionsTable(items: Session[]): string {
  return table(
    ['SESSION', 'FILE', 'SIZE', 'STATUS', 'JOBS', 'ERROR'],
    items.map((s) => [s.id, s.filename, humanBytes(s.size), s.status, jobsSummary(s.jobs as never), s.errorMessage ?? s.error ?? '']),
  );
}

function usage(message: string): number {
  process.stderr.write(`error: ${message}\n\n${USAGE}\n`);
  return 2;
}

class UsageError extends Error {}

function positiveInt(s: string, name: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer`);
  return n;
}

/** `VALIDATION,THUMBNAIL:3` → [{ type: 'VALIDATION' }, { type: 'THUMBNAIL', priority: 3 }] */
function parseJobs(s: string): JobRequest[] {
  return s
    .split(',')
    .filter(Boolean)
    .map((item) => {
      const [type, priority] = item.split(':');
      return priority === undefined ? { type: type.toUpperCase() } : { type: type.toUpperCase(), priority: positiveInt(priority, '--jobs priority') };
    });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.exitCode = usage((e as Error).message);
      return;
    }
    process.stderr.write(`error: ${describeError(e)}\n`);
    process.exitCode = 1;
  },
);
