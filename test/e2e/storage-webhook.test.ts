import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Topology } from '@app/contracts';
import { anUpload, pngBytes, textBytes } from '../support/builders';
import { peekQueue } from '../support/broker';
import { createUpload, sendBytes, waitForStatus } from '../support/flows';
import { System } from '../support/apps';
import { hasMetric, sample, scrape } from '../support/metrics';
import { waitFor } from '../support/poll';
import { NS, PORT_BASE, ROOT, testEnv } from '../support/test-env';

jest.setTimeout(90_000);

const TOKEN = `hook-${NS}-0123456789abcdef`;
const WEBHOOK = `http://127.0.0.1:${PORT_BASE + 1}/v1/storage-events`;

async function post(body: unknown, opts: { query?: string; authorization?: string; raw?: string } = {}) {
  const res = await fetch(`${WEBHOOK}${opts.query ?? ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(opts.authorization ? { authorization: opts.authorization } : {}) },
    body: opts.raw ?? JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/**
 * Notifications by webhook instead of AMQP: Ceph RGW pushes over HTTP to POST /v1/storage-events on a
 * bucket of its own (radosgw aborts on a multi-object delete in a bucket whose topic pushes over HTTP),
 * whose only notification is that push. The same upload reaches COMPLETED.
 */
describe('storage notifications by webhook (e2e)', () => {
  const bucket = `uploads-${NS}-webhook`;
  let system: System;

  beforeAll(async () => {
    const provision = spawnSync(process.execPath, [join(ROOT, 'scripts/provision-store.mjs')], {
      env: {
        ...process.env,
        ...testEnv({ S3_BUCKET: bucket, STORAGE_EVENTS_TOPIC: `${bucket}-push`, STORAGE_EVENTS_PUSH_ENDPOINT: `${WEBHOOK}?token=${TOKEN}` }),
      },
      encoding: 'utf8',
    });
    if (provision.status !== 0) throw new Error(`provisioning the webhook bucket failed: ${provision.stdout}${provision.stderr}`);
    system = await System.start({ S3_BUCKET: bucket, STORAGE_WEBHOOK_TOKEN: TOKEN, JOB_TYPES: 'VALIDATION' });
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('Ceph RGW pushing over HTTP takes an upload to COMPLETED', async () => {
    const before = await scrape(PORT_BASE + 1);
    const bytes = pngBytes(6, 6);
    const created = await createUpload(anUpload(bytes).named('pushed over http.png').ofType('image/png').withChecksum());
    expect(created.body.bucket).toBe(bucket);
    expect(await sendBytes(created, bytes)).toBe(200);
    const done = await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED']);
    expect(done).toMatchObject({ status: 'COMPLETED', jobs: [expect.objectContaining({ type: 'VALIDATION', status: 'COMPLETED' })] });

    const after = await scrape(PORT_BASE + 1);
    const uploaded = { transport: 'http', outcome: 'uploaded' };
    expect(sample(after, 'storage_events_outcomes_total', uploaded) - sample(before, 'storage_events_outcomes_total', uploaded)).toBe(1);
    // Nothing of this upload came over AMQP (the bucket has no AMQP notification). Other files' late notifications
    // may reach this app's queue (the namespace is shared), so only an upload applied over AMQP would count.
    const overAmqp = { transport: 'amqp', outcome: 'uploaded' };
    expect(sample(after, 'storage_events_outcomes_total', overAmqp) - sample(before, 'storage_events_outcomes_total', overAmqp)).toBe(0);
  });

  it('refuses a missing or wrong token (401) and a body that is no notification (400); takes the token as a Bearer header too', async () => {
    const notification = { Records: [] };
    expect((await post(notification)).status).toBe(401);
    expect((await post(notification, { query: '?token=wrong-token-0123456789' })).status).toBe(401);
    expect((await post(notification, { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect(await post({ hello: 'world' }, { authorization: `Bearer ${TOKEN}` })).toMatchObject({
      status: 400,
      body: { message: 'malformed storage notification: no Records array' },
    });
    expect((await post(null, { query: `?token=${TOKEN}`, raw: '{not json' })).status).toBe(400);
    expect(await post(notification, { authorization: `Bearer ${TOKEN}` })).toEqual({ status: 200, body: { outcomes: [] } });
  });

  it('a MinIO-shaped notification of an object no upload knows is dead-lettered with its reason, like its AMQP twin', async () => {
    const marker = `hook-unknown-${Date.now()}`;
    const key = `uploads/00000000-0000-4000-8000-000000000000/${marker}.txt`;
    const minio = {
      EventName: 's3:ObjectCreated:Put',
      Key: `${bucket}/${key}`,
      Records: [
        {
          eventVersion: '2.0',
          eventSource: 'minio:s3',
          eventName: 's3:ObjectCreated:Put',
          s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key), size: 3, eTag: 'abc', sequencer: '1' } },
        },
      ],
    };
    const deadOverHttp = { transport: 'http', outcome: 'dead-lettered' };
    const before = sample(await scrape(PORT_BASE + 1), 'storage_events_outcomes_total', deadOverHttp);
    const res = await post(minio, { authorization: `Bearer ${TOKEN}` });
    expect(res).toMatchObject({ status: 200, body: { deadLettered: expect.stringMatching(/^UNKNOWN_OBJECT: /) } });
    const dead = await waitFor(
      async () => (await peekQueue(Topology.storageNotificationsDeadQueue)).filter((m) => m.body.includes(marker)),
      (l) => l.length === 1,
      { what: 'the dead letter' },
    );
    expect(dead[0].headers['x-dead-letter-reason']).toMatch(/^UNKNOWN_OBJECT: No upload session for object/);
    expect(hasMetric(await scrape(PORT_BASE + 1), 'storage_events_outcomes_total')).toBe(true);
    expect(sample(await scrape(PORT_BASE + 1), 'storage_events_outcomes_total', deadOverHttp) - before).toBe(1);
  });

  it('answers 404 while no token is configured', async () => {
    // The system above has one; a second storage-events without it shows the webhook is off by default.
    const { startApp, stopApp } = await import('../support/apps');
    const bare = await startApp('storage-events', { STORAGE_WEBHOOK_TOKEN: '' }, { port: PORT_BASE + 9 });
    try {
      const res = await fetch(`http://127.0.0.1:${PORT_BASE + 9}/v1/storage-events?token=${TOKEN}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"Records":[]}',
      });
      expect(res.status).toBe(404);
    } finally {
      await stopApp(bare);
    }
  });
});
