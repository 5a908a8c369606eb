import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { Topology } from '@app/contracts';
import { RunningApp, startApp, stopApp } from '../support/apps';
import { anUpload } from '../support/builders';
import { peekQueue, publishRaw } from '../support/broker';
import { createUpload, getUpload } from '../support/flows';
import { TestDb } from '../support/db';
import { waitFor } from '../support/poll';
import { testEnv } from '../support/test-env';

jest.setTimeout(90_000);

const record = (key: string, size: number, sequencer: string) => ({
  eventVersion: '2.2',
  eventSource: 'ceph:s3',
  eventName: 'ObjectCreated:Put',
  eventId: `${sequencer}.1`,
  s3: { bucket: { name: testEnv().S3_BUCKET }, object: { key, size, eTag: 'abc', sequencer } },
});

/**
 * Issue 17 (low): one record that can never apply must not take the other records of its message with it, and
 * one outbox row that cannot be published must not make the relay publish its whole batch again.
 */
describe('storage events and the relay, one bad item among good ones (e2e)', () => {
  const apps: RunningApp[] = [];
  const db = new TestDb();

  beforeAll(async () => {
    apps.push(...(await Promise.all([startApp('upload-gateway'), startApp('storage-events', { RECONCILER_INTERVAL_SECONDS: '0' })])));
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => stopApp(a)));
    await db.close();
  });

  it('a notification with an unknown object and a known one: the known one applies, only the unknown record is dead-lettered', async () => {
    const created = await createUpload(anUpload(Buffer.from('twelve bytes')).named('mixed.txt'));
    const unknownKey = `uploads/${randomUUID()}/nobody.txt`;
    const sequencer = randomUUID().replace(/-/g, '').slice(0, 16);
    const body = { Records: [record(unknownKey, 3, `${sequencer}1`), record(created.body.objectKey, 12, `${sequencer}2`)] };
    await publishRaw(testEnv().STORAGE_EVENTS_EXCHANGE, 'mixed', [JSON.stringify(body)]);

    const session = await waitFor(
      () => getUpload(created.id, created.caller),
      (s) => s.status !== 'PENDING_UPLOAD',
      { what: 'the known record applied' },
    );
    expect(session.status).not.toBe('PENDING_UPLOAD');
    const dead = await waitFor(
      async () => (await peekQueue(Topology.storageNotificationsDeadQueue)).filter((m) => m.body.includes(sequencer)),
      (list) => list.length >= 1,
      { what: 'the dead letter' },
    );
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0].body).Records.map((r: { s3: { object: { key: string } } }) => r.s3.object.key)).toEqual([unknownKey]);
    expect(dead[0].headers['x-dead-letter-reason']).toMatch(/UNKNOWN_OBJECT.*nobody\.txt/);
  });

  it('one outbox row the broker refuses: the others are published once each, the refused one is kept', async () => {
    const EXCHANGE = `relay-test-${randomUUID().slice(0, 8)}`;
    const conn = await amqp.connect(testEnv().AMQP_URL);
    const ch = await conn.createChannel();
    try {
      await ch.assertExchange(EXCHANGE, 'direct', { autoDelete: true });
      // A queue that refuses every message: the broker nacks a publish routed to it (and only that one).
      const { queue: refusing } = await ch.assertQueue('', { exclusive: true, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
      const { queue: kept } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(refusing, EXCHANGE, 'refused');
      await ch.bindQueue(kept, EXCHANGE, 'ok');
      const ids = Array.from({ length: 5 }, () => randomUUID());
      await db.pool.query(
        `insert into outbox_message (exchange, routing_key, message_id, payload, created_at)
         select $1, k, m, jsonb_build_object('n', m), now() from unnest($2::text[], $3::uuid[]) as r(k, m)`,
        [EXCHANGE, ['ok', 'ok', 'refused', 'ok', 'ok'], ids],
      );
      const refusedId = ids[2];
      // A few relay passes (it polls every second or two, and is woken when rows are given back).
      await waitFor(
        async () => (await db.pool.query(`select count(*)::int as n from outbox_message where message_id = any($1::uuid[])`, [ids])).rows[0].n,
        (n) => n === 1,
        { what: 'the published rows deleted' },
      );
      // The refused row stays, a few relay passes on: each pass holds it and gives it back (claimed_until set anew).
      const holds = new Set<string>();
      await waitFor(
        async () => {
          const r = await db.pool.query(`select claimed_until::text as c from outbox_message where message_id = $1`, [refusedId]);
          if (r.rows[0]?.c) holds.add(r.rows[0].c);
          return holds.size;
        },
        // The first pass's give-back, then at least one new value per pass (its hold may be given back between two reads).
        (n) => n >= 3,
        { timeoutMs: 60_000, intervalMs: 50, what: 'two more relay passes over the refused row' },
      );
      const received: string[] = [];
      for (let m = await ch.get(kept, { noAck: true }); m; m = await ch.get(kept, { noAck: true })) received.push(m.properties.messageId as string);
      expect(received.sort()).toEqual(ids.filter((id) => id !== refusedId).sort());
      const left = await db.pool.query(`select message_id from outbox_message where message_id = any($1::uuid[])`, [ids]);
      expect(left.rows.map((r) => r.message_id)).toEqual([refusedId]);
    } finally {
      await db.pool.query(`delete from outbox_message where exchange = $1`, [EXCHANGE]);
      await conn.close().catch(() => undefined);
    }
  });
});
