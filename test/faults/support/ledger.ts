import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { testEnv } from '../../support/test-env';
import { waitFor } from '../../support/poll';

/** Read-only SQL against the namespace's database (psql: survives the database restarts the suite causes). */
export function sql(query: string): string[][] {
  const url = new URL(testEnv().DATABASE_URL);
  const r = spawnSync(
    'psql',
    ['-h', url.hostname, '-p', url.port, '-U', 'postgres', '-d', url.pathname.slice(1), '-At', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-c', query],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('|'));
}

const list = (ids: string[]) => ids.map((id) => `'${id}'`).join(',');

export interface SessionState {
  status: string;
  error: string;
  jobs: number;
  attempts: number;
  jobStatuses: string;
}

export function sessionStates(ids: string[]): Map<string, SessionState> {
  const rows = sql(
    `select s.id, s.status, coalesce(s.error, ''), count(j.id), coalesce(sum(j.attempts), 0), coalesce(string_agg(j.status::text, ',' order by j.status), '')
       from upload_session s left join processing_job j on j.session_id = s.id where s.id in (${list(ids)}) group by s.id`,
  );
  return new Map(
    rows.map(([id, status, error, jobs, attempts, jobStatuses]) => [id, { status, error, jobs: Number(jobs), attempts: Number(attempts), jobStatuses }]),
  );
}

const FINAL = ['COMPLETED', 'FAILED', 'DELETED'];

/** Waits until every session is final (the apps keep working meanwhile); returns the states. */
export async function waitAllFinal(ids: string[], timeoutMs = 120_000): Promise<Map<string, SessionState>> {
  return waitFor(
    async () => sessionStates(ids),
    (m) => ids.every((id) => FINAL.includes(m.get(id)?.status ?? '')),
    { timeoutMs, intervalMs: 1000, what: `${ids.length} sessions to be final` },
  ).catch((e: Error) => {
    const m = sessionStates(ids);
    const waiting = ids.filter((id) => !FINAL.includes(m.get(id)?.status ?? ''));
    throw new Error(
      `${waiting.length} of ${ids.length} sessions not final, e.g. ${JSON.stringify(waiting.slice(0, 3).map((id) => ({ id, ...m.get(id) })))}\n${e.message.slice(0, 300)}`,
    );
  });
}

export function outboxBacklog(): number {
  return Number(sql('select count(*) from outbox_message')[0][0]);
}

export interface DomainEvent {
  type: string;
  id: string;
  sessionId: string | undefined;
  groupId: string | undefined;
  error: string | null;
}

/**
 * Every domain event the apps publish, kept in a durable queue of the private broker (it survives the broker
 * restarts the suite causes, unlike an exclusive test queue).
 */
export class EventLedger {
  static readonly QUEUE = 'faults.domain-events';
  /** Carries only fence markers into the ledger's queue (declared again on each fence: broker restarts drop it). */
  static readonly FENCE = 'faults.fence';
  readonly events: DomainEvent[] = [];
  private readonly fences = new Set<string>();

  /** `urls`: the broker's nodes, tried in turn (default: the test broker); `queueArguments`: e.g. a quorum queue on a cluster. */
  constructor(private readonly opts: { urls?: string[]; queueArguments?: Record<string, unknown> } = {}) {}

  private async connect(): Promise<amqp.ChannelModel> {
    let last: unknown;
    for (const url of this.opts.urls ?? [testEnv().AMQP_URL]) {
      try {
        return await amqp.connect(url);
      } catch (e) {
        last = e;
      }
    }
    throw last;
  }

  async bind(): Promise<void> {
    const conn = await this.connect();
    const ch = await conn.createChannel();
    await ch.assertExchange(testEnv().DOMAIN_EVENTS_EXCHANGE, 'topic', { durable: true });
    await ch.assertQueue(EventLedger.QUEUE, { durable: true, arguments: this.opts.queueArguments });
    await ch.bindQueue(EventLedger.QUEUE, testEnv().DOMAIN_EVENTS_EXCHANGE, '#');
    await ch.purgeQueue(EventLedger.QUEUE);
    await conn.close();
  }

  /** Takes what has arrived into `events`. */
  async drain(): Promise<void> {
    const conn = await this.connect();
    const ch = await conn.createChannel();
    for (;;) {
      const m = await ch.get(EventLedger.QUEUE, { noAck: true });
      if (!m) break;
      if (m.fields.exchange === EventLedger.FENCE) {
        this.fences.add(m.content.toString('utf8'));
        continue;
      }
      const body = JSON.parse(m.content.toString('utf8'));
      this.events.push({
        type: m.fields.routingKey,
        id: body.id,
        sessionId: body.data?.sessionId,
        groupId: body.data?.groupId,
        error: body.data?.error ?? null,
      });
    }
    await conn.close();
  }

  /**
   * Takes every event already in the ledger's queue: a marker is published (with a confirm) behind them and the queue
   * drained up to it (a queue delivers in order). After the outbox is empty, that is every event committed work caused.
   */
  async fence(): Promise<void> {
    const marker = randomUUID();
    // The ledger's own broker (a cluster's nodes in turn), where its queue is.
    const conn = await this.connect();
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertExchange(EventLedger.FENCE, 'fanout', { durable: false });
      await ch.bindQueue(EventLedger.QUEUE, EventLedger.FENCE, '');
      ch.publish(EventLedger.FENCE, '', Buffer.from(marker));
      await ch.waitForConfirms();
    } finally {
      await conn.close();
    }
    await waitFor(
      async () => (await this.drain(), this.fences.has(marker)),
      (seen) => seen,
      { timeoutMs: 30_000, intervalMs: 200, what: 'the ledger fence marker' },
    );
  }

  /** Once the outbox is empty and every event published is taken, per session: type → [deliveries, distinct event ids]. */
  async settle(ids: string[]): Promise<Map<string, Record<string, [number, number]>>> {
    await waitFor(
      async () => outboxBacklog(),
      (n) => n === 0,
      { timeoutMs: 60_000, intervalMs: 500, what: 'the outbox to drain' },
    );
    await this.fence();
    const wanted = new Set(ids);
    const out = new Map<string, Record<string, [number, number]>>(ids.map((id) => [id, {}]));
    const seen = new Map<string, Set<string>>();
    for (const e of this.events) {
      if (!e.sessionId || !wanted.has(e.sessionId)) continue;
      const counts = out.get(e.sessionId)!;
      const key = `${e.sessionId}/${e.type}`;
      if (!seen.has(key)) seen.set(key, new Set());
      seen.get(key)!.add(e.id);
      counts[e.type] = [(counts[e.type]?.[0] ?? 0) + 1, seen.get(key)!.size];
    }
    return out;
  }
}

/** Prints a figure line, outside Jest's console decoration. */
/** The distinct domain events of one session in a run without faults (one job: VALIDATION). */
export const CLEAN_PROFILE: Record<string, number> = { 'session.uploaded': 1, 'session.processing': 1, 'session.completed': 1, 'job.completed': 1 };

/** The sessions whose distinct events (from EventLedger.settle) differ from a clean run's. */
export function offCleanProfile(ids: string[], events: Map<string, Record<string, [number, number]>>): string[] {
  const clean = JSON.stringify(Object.entries(CLEAN_PROFILE).sort());
  return ids.filter(
    (id) =>
      JSON.stringify(
        Object.entries(events.get(id) ?? {})
          .map(([type, [, distinct]]) => [type, distinct])
          .sort(),
      ) !== clean,
  );
}

export function report(line: string): void {
  process.stdout.write(`[faults] ${line}\n`);
}
