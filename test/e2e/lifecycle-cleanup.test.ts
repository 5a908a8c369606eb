import { Client } from 'pg';
import { DomainEventType } from '@app/contracts';
import { System } from '../support/apps';
import { Capture } from '../support/broker';
import { GetBucketLifecycleConfigurationCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { anUpload, sha256Base64, textBytes } from '../support/builders';
import { api, jwtFor, putToUrl } from '../support/http';
import { multipartUploadsUnder, objectExists, putPart, storeClient } from '../support/multipart';
import { scrape, sample } from '../support/metrics';
import { waitFor } from '../support/poll';
import { PORT_BASE, testEnv } from '../support/test-env';

jest.setTimeout(180_000);

const MiB = 1024 ** 2;

/**
 * What a client abandons or what fails ends and leaves nothing in the store: the three apps as processes,
 * the reconciler every second, real Ceph RGW and RabbitMQ. Expiry is brought forward in the database (the
 * gateway's minimum is a minute): as if the client had gone away that long ago.
 */
describe('nothing left dangling (e2e)', () => {
  const env = testEnv();
  let system: System;
  let events: Capture;
  let db: Client;

  /** Waits until the reconciler has run `n` more whole passes, then until every event published so far is captured. */
  const afterPasses = async (n: number) => {
    const passes = async () => sample(await scrape(PORT_BASE + 1), 'reconciler_passes_total');
    const start = await passes();
    await waitFor(passes, (p) => p >= start + n, { timeoutMs: 30_000, what: `${n} more reconciler passes` });
    await events.fence();
  };
  const eventsOf = (pred: (m: { routingKey: string; body: any }) => boolean) => events.messages.filter(pred);

  beforeAll(async () => {
    db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    system = await System.start({ RECONCILER_INTERVAL_SECONDS: '1', JOB_TYPES: 'VALIDATION' });
    events = await Capture.on(env.DOMAIN_EVENTS_EXCHANGE);
  });

  afterAll(async () => {
    await events?.close();
    await system?.stop();
    await db?.end();
  });

  it('an under-filled group expires: FAILED with error EXPIRED, its waiting files FAILED (EXPIRED), exactly one group.failed, no object or multipart upload left', async () => {
    const caller = { token: jwtFor(`expiry-${Date.now()}`) };
    const single = textBytes('never sent\n');
    const res = await api('POST', '/v1/groups', {
      ...caller,
      body: {
        name: 'under-filled',
        totalFiles: 3,
        expiresInSeconds: 3600,
        files: [
          anUpload(single).named('never-sent.txt').build(),
          anUpload(Buffer.alloc(0))
            .named('half.bin')
            .ofType('application/octet-stream')
            .declaringSize(6 * MiB)
            .with({ multipart: true, partSize: 5 * MiB })
            .build(),
        ],
      },
    });
    expect(res.status).toBe(201);
    expect(Date.parse(res.body.expiresAt) - Date.now()).toBeGreaterThan(3500_000);
    expect(res.body).toMatchObject({ status: 'PENDING', totalFiles: 3, fileCount: 2, error: null });
    const [first, half] = res.body.uploads;
    // The multipart file's first part reaches the store; the client never comes back for the rest.
    const part = await putPart(half.upload.parts[0].url, Buffer.alloc(5 * MiB, 7));
    expect(part.status).toBe(200);
    expect(await multipartUploadsUnder(half.objectKey)).toEqual([half.upload.uploadId]);

    await db.query(`update upload_group set expires_at = now() - interval '1 second' where id = $1`, [res.body.id]);
    // No file joins an expired group, whether or not the reconciler has been by yet.
    const late = await api('POST', `/v1/groups/${res.body.id}/uploads`, { ...caller, body: anUpload(single).named('late.txt').build() });
    expect(late.status).toBe(409);

    const group = await waitFor(
      () => api('GET', `/v1/groups/${res.body.id}`, caller),
      (r) => r.body.status !== 'PENDING',
      { timeoutMs: 30_000, what: 'the group to expire' },
    );
    expect(group.body).toMatchObject({ status: 'FAILED', error: 'EXPIRED', totalFiles: 3, fileCount: 2, completedFiles: 0, failedFiles: 2 });
    for (const u of [first, half]) {
      const s = await api('GET', `/v1/uploads/${u.id}`, caller);
      expect(s.body).toMatchObject({ status: 'FAILED', error: 'EXPIRED' });
    }

    await waitFor(
      async () => eventsOf((m) => m.routingKey.startsWith('group.') && m.body?.data?.groupId === res.body.id).length,
      (n) => n >= 1,
      { timeoutMs: 30_000, what: 'group.failed' },
    );
    await afterPasses(3); // three more reconciler passes: none may add a second event
    const groupEvents = eventsOf((m) => m.routingKey.startsWith('group.') && m.body?.data?.groupId === res.body.id);
    expect(groupEvents.map((m) => m.routingKey)).toEqual([DomainEventType.GroupFailed]);
    expect(groupEvents[0].body.data).toMatchObject({ status: 'FAILED', error: 'EXPIRED', failedFiles: 2 });
    expect(groupEvents[0].body.data.sessions.map((s: any) => s.status)).toEqual(['FAILED', 'FAILED']);
    for (const u of [first, half]) expect(events.forSession(u.id).map((m) => m.routingKey)).toEqual([DomainEventType.SessionFailed]);

    await waitFor(
      () => multipartUploadsUnder(half.objectKey),
      (ids) => ids.length === 0,
      { timeoutMs: 20_000, what: 'the multipart upload aborted' },
    );
    expect(await objectExists(first.objectKey)).toBe(false);
    expect(await objectExists(half.objectKey)).toBe(false);
  });

  it('a file that fails validation keeps no bytes in the store: object and thumbnails deleted after the retention (0 here), objectDeletedAt shown', async () => {
    const caller = { token: jwtFor(`failed-${Date.now()}`) };
    const bytes = textBytes(`not what was declared ${Math.random()}\n`);
    const created = await api('POST', '/v1/uploads', {
      ...caller,
      body: anUpload(bytes)
        .withChecksum(sha256Base64(Buffer.from('other bytes')))
        .build(),
    });
    expect(created.status).toBe(201);
    // A derived file as the THUMBNAIL job writes it, under the session's thumbnail prefix.
    const { s3, bucket } = storeClient();
    const thumbnail = `thumbnails/${created.body.id}/256.webp`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: thumbnail, Body: Buffer.from('webp'), ContentType: 'image/webp' }));
    expect(await putToUrl(created.body.upload.url, bytes, created.body.upload.headers)).toBe(200);

    const failed = await waitFor(
      () => api('GET', `/v1/uploads/${created.body.id}`, caller),
      (r) => ['FAILED', 'COMPLETED'].includes(r.body.status),
      { timeoutMs: 30_000, what: 'validation to fail' },
    );
    expect(failed.body).toMatchObject({ status: 'FAILED' });
    expect(failed.body.errorMessage).toMatch(/checksum mismatch/);
    const purged = await waitFor(
      () => api('GET', `/v1/uploads/${created.body.id}`, caller),
      (r) => r.body.objectDeletedAt !== null,
      { timeoutMs: 30_000, what: 'the failed object deleted' },
    );
    expect(purged.body).toMatchObject({ status: 'FAILED', error: failed.body.error, objectDeletedAt: expect.any(String) });
    expect(await objectExists(created.body.objectKey)).toBe(false);
    expect(await objectExists(thumbnail)).toBe(false);
    expect((await api('GET', `/v1/uploads/${created.body.id}/download`, caller)).status).toBe(409);
  });

  it('an abandoned multipart upload expires (FAILED, EXPIRED, one session.failed) and ListMultipartUploads shows nothing left; the bucket carries the abort rule behind it', async () => {
    const caller = { token: jwtFor(`abandoned-mpu-${Date.now()}`) };
    const created = await api('POST', '/v1/uploads', {
      ...caller,
      body: anUpload(Buffer.alloc(0))
        .named('abandoned.bin')
        .ofType('application/octet-stream')
        .declaringSize(11 * MiB)
        .with({ multipart: true, partSize: 5 * MiB })
        .build(),
    });
    expect(created.status).toBe(201);
    const { uploadId, parts } = created.body.upload;
    // Two of its three parts reach the store; then the client goes away.
    for (const p of parts.slice(0, 2)) expect((await putPart(p.url, Buffer.alloc(5 * MiB, p.partNumber))).status).toBe(200);
    expect(await multipartUploadsUnder(created.body.objectKey)).toEqual([uploadId]);

    await db.query(`update upload_session set expires_at = now() - interval '1 second' where id = $1`, [created.body.id]);
    const expired = await waitFor(
      () => api('GET', `/v1/uploads/${created.body.id}`, caller),
      (r) => r.body.status !== 'PENDING_UPLOAD' && r.body.status !== 'UPLOADING',
      { timeoutMs: 30_000, what: 'expiry' },
    );
    expect(expired.body).toMatchObject({ status: 'FAILED', error: 'EXPIRED' });
    expect(await multipartUploadsUnder(created.body.objectKey)).toEqual([]);
    expect(await objectExists(created.body.objectKey)).toBe(false);
    await waitFor(
      async () => events.forSession(created.body.id).length,
      (n) => n >= 1,
      { timeoutMs: 20_000, what: 'session.failed' },
    );
    await afterPasses(2);
    expect(events.forSession(created.body.id).map((m) => m.routingKey)).toEqual([DomainEventType.SessionFailed]);

    // Provisioning (global setup runs scripts/provision-store.mjs) left the store's own backstop on the bucket.
    const { s3, bucket } = storeClient();
    const rules = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
    expect(rules.find((r) => r.ID === 'abort-incomplete-multipart-uploads')).toMatchObject({
      Status: 'Enabled',
      Filter: { Prefix: 'uploads/' },
      AbortIncompleteMultipartUpload: {
        DaysAfterInitiation: Math.ceil((Number(env.UPLOAD_EXPIRY_SECONDS) + Number(env.MULTIPART_ABORT_MARGIN_SECONDS)) / 86400),
      },
    });
  });
});
