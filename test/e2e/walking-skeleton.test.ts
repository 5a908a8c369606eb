import { DomainEventType, Topology } from '@app/contracts';
import { anUpload, pngBytes, sha256Base64, textBytes } from '../support/builders';
import { Capture, peekQueue, publishRaw } from '../support/broker';
import { createUpload, getUpload, sendBytes, uploadToEnd, waitForStatus } from '../support/flows';
import { System } from '../support/apps';
import { api } from '../support/http';
import { waitFor } from '../support/poll';
import { Counted, outboxDrained, storageOutcome } from '../support/outcomes';
import { TestStore } from '../support/store';
import { testEnv } from '../support/test-env';

jest.setTimeout(90_000);

/**
 * One file, end to end, through the three apps as processes: the gateway presigns, the client PUTs to
 * Ceph RGW, RGW's notification reaches storage-events over RabbitMQ, the VALIDATION job runs in
 * job-processor. Nothing here calls a handler directly.
 */
describe('walking skeleton (e2e)', () => {
  let system: System;
  let events: Capture;
  let notifications: Capture;
  const env = testEnv();
  const storageEventsPort = () => system.apps.find((a) => a.name === 'storage-events')!.port;

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: 'VALIDATION' });
    events = await Capture.on(env.DOMAIN_EVENTS_EXCHANGE);
    notifications = await Capture.on(env.STORAGE_EVENTS_EXCHANGE);
  });

  afterAll(async () => {
    await events?.close();
    await notifications?.close();
    await system?.stop();
  });

  it('a single PUT reaches COMPLETED with a COMPLETED validation job, and one event per step', async () => {
    const bytes = pngBytes(8, 8);
    const created = await createUpload(anUpload(bytes).named('my photo+ü (1) 100%.png').ofType('image/png').withChecksum());
    expect(created.body).toMatchObject({ status: 'PENDING_UPLOAD', upload: { strategy: 'SINGLE', method: 'PUT' } });
    expect(created.body.objectKey).toBe(`uploads/${created.id}/my photo_ü (1) 100_.png`);
    expect(created.body.uploadToken).toEqual(expect.any(String));

    expect(await sendBytes(created, bytes)).toBe(200);
    const done = await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED']);

    expect(done.status).toBe('COMPLETED');
    expect(done.uploadedAt).not.toBeNull();
    expect(done.jobs).toEqual([
      expect.objectContaining({
        type: 'VALIDATION',
        status: 'COMPLETED',
        attempts: 1,
        result: expect.objectContaining({ detectedType: 'image/png', sha256: sha256Base64(bytes) }),
      }),
    ]);
    await waitFor(
      async () => events.forSession(created.id, DomainEventType.SessionCompleted).length,
      (n) => n === 1,
      { what: 'session.completed' },
    );
    for (const type of [DomainEventType.SessionUploaded, DomainEventType.SessionProcessing, DomainEventType.SessionCompleted, DomainEventType.JobCompleted]) {
      const [event, ...more] = events.forSession(created.id, type);
      expect(more).toHaveLength(0);
      expect(event.body).toMatchObject({ type, version: 1, data: { sessionId: created.id, objectKey: created.body.objectKey } });
      expect(event.properties.messageId).toBe(event.body.id);
    }
  });

  it('the store refuses a body of another size or another content type than signed', async () => {
    const bytes = textBytes('exactly this text');
    const created = await createUpload(anUpload(bytes));
    const counted = await Counted.from(storageEventsPort());
    expect(await sendBytes(created, Buffer.concat([bytes, Buffer.from('more')]))).toBe(403);
    expect(await sendBytes(created, bytes.subarray(0, bytes.length - 1))).toBe(403);
    expect(await sendBytes(created, Buffer.alloc(0))).toBe(403);
    expect(await sendBytes(created, bytes, { 'Content-Type': 'application/pdf' })).toBe(403);
    expect(await sendBytes(created, bytes, { 'Content-Type': 'text/plain; charset=utf-8' })).toBe(403);
    // No Content-Type at all (fetch sends none for a Buffer body).
    expect(await sendBytes(created, bytes, {})).toBe(403);
    // Nor can the URL be pointed at another key: the path is signed.
    const other = created.body.upload.url.replace(encodeURIComponent(created.id), '00000000-0000-4000-8000-000000000000');
    expect((await fetch(other, { method: 'PUT', body: bytes, headers: created.body.upload.headers })).status).toBe(403);
    expect((await getUpload(created.id, created.caller)).status).toBe('PENDING_UPLOAD');
    // The signed request itself still works.
    expect(await sendBytes(created, bytes)).toBe(200);
    expect((await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    // The refused PUTs stored nothing the store told of: from before them until the session completed, storage-events
    // received one record, the signed PUT's.
    expect(await counted.since({ port: storageEventsPort(), name: 'storage_events_received_total' })).toBe(1);
    expect(await counted.since(storageOutcome(storageEventsPort(), 'uploaded'))).toBe(1);
  });

  it('a PNG declared as application/pdf ends FAILED with a clear error', async () => {
    const done = await uploadToEnd(anUpload(pngBytes()).named('fake.pdf').ofType('application/pdf'));
    expect(done).toMatchObject({ status: 'FAILED', error: 'VALIDATION_FAILED', errorMessage: 'type mismatch: content is image/png, declared application/pdf' });
    expect(done.jobs[0]).toMatchObject({ type: 'VALIDATION', status: 'FAILED', attempts: 1 });
    await waitFor(
      async () => events.forSession(done.id, DomainEventType.SessionFailed).length,
      (n) => n === 1,
      { what: 'session.failed' },
    );
  });

  it('a wrong declared checksum ends FAILED', async () => {
    const bytes = textBytes();
    const done = await uploadToEnd(anUpload(bytes).withChecksum(sha256Base64(Buffer.from('something else'))));
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('VALIDATION_FAILED');
    expect(done.errorMessage).toMatch(/^checksum mismatch: SHA-256 is .+, declared .+$/);
  });

  it('the same notification delivered three times yields one change, one set of jobs, one session.uploaded', async () => {
    const bytes = textBytes();
    const created = await createUpload(anUpload(bytes));
    expect(await sendBytes(created, bytes)).toBe(200);
    const original = await waitFor(
      async () => notifications.messages.find((m) => m.body?.Records?.[0]?.s3?.object?.key === created.body.objectKey),
      (m) => m !== undefined,
      { what: 'the store notification' },
    );
    await waitForStatus(created.id, created.caller, ['COMPLETED']);
    const counted = await Counted.from(storageEventsPort());
    // Two more deliveries of the very same notification, as an at-least-once store may send.
    await publishRaw(env.STORAGE_EVENTS_EXCHANGE, original!.routingKey, [JSON.stringify(original!.body), JSON.stringify(original!.body)]);
    // Both replays applied (counted as duplicates), whatever they wrote published, and every event published received.
    await counted.atLeast(storageOutcome(storageEventsPort(), 'duplicate'), 2);
    await outboxDrained();
    await events.fence();
    expect(await counted.since(storageOutcome(storageEventsPort()))).toBe(2);

    const after = await getUpload(created.id, created.caller);
    expect(after.status).toBe('COMPLETED');
    expect(after.jobs).toHaveLength(1);
    expect(events.forSession(created.id, DomainEventType.SessionUploaded)).toHaveLength(1);
    expect(events.forSession(created.id, DomainEventType.SessionCompleted)).toHaveLength(1);
  });

  it('garbage and unknown keys on the inbound exchange are dead-lettered with a reason; the consumer keeps going', async () => {
    const marker = `garbage-${Date.now()}`;
    const unknownKey = `uploads/00000000-0000-4000-8000-000000000000/${marker}.txt`;
    await publishRaw(env.STORAGE_EVENTS_EXCHANGE, 'test', [
      `not json ${marker}`,
      JSON.stringify({ hello: marker }),
      JSON.stringify({
        Records: [{ eventName: 'ObjectCreated:Put', eventSource: 'ceph:s3', s3: { bucket: { name: env.S3_BUCKET }, object: { key: unknownKey, size: 3 } } }],
      }),
    ]);
    const dead = await waitFor(
      async () => (await peekQueue(Topology.storageNotificationsDeadQueue)).filter((m) => m.body.includes(marker)),
      (list) => list.length === 3,
      { what: 'three dead letters' },
    );
    const reasons = dead.map((m) => String(m.headers['x-dead-letter-reason']));
    expect(reasons).toEqual(
      expect.arrayContaining([
        'body is not valid JSON',
        'malformed storage notification: no Records array',
        expect.stringMatching(/^UNKNOWN_OBJECT: No upload session for object/),
      ]),
    );
    // Still consuming: a real upload completes.
    const done = await uploadToEnd(anUpload(textBytes()));
    expect(done.status).toBe('COMPLETED');
  });

  it('DELETE removes the stored file and marks the session DELETED, once', async () => {
    const store = new TestStore();
    const bytes = textBytes();
    const created = await createUpload(anUpload(bytes));
    expect(await sendBytes(created, bytes)).toBe(200);
    const done = await waitForStatus(created.id, created.caller, ['COMPLETED']);
    expect(await store.exists(done.objectKey)).toBe(true);

    const counted = await Counted.from(storageEventsPort());
    const res = await api('DELETE', `/v1/uploads/${created.id}`, created.caller);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('DELETED');
    expect(await store.exists(done.objectKey)).toBe(false);
    expect((await api('DELETE', `/v1/uploads/${created.id}`, created.caller)).body.status).toBe('DELETED');
    expect((await api('DELETE', `/v1/uploads/${created.id}`)).status).toBe(404);
    await waitFor(
      async () => events.forSession(created.id, DomainEventType.SessionDeleted).length,
      (n) => n === 1,
      { what: 'session.deleted' },
    );
    // The store's own removal notification arrives too, before or after the gateway's change commits ('deleted' or
    // 'ignored'); it must not add a second event.
    await counted.atLeastAll([storageOutcome(storageEventsPort(), 'deleted'), storageOutcome(storageEventsPort(), 'ignored')], 1);
    await outboxDrained();
    await events.fence();
    expect(events.forSession(created.id, DomainEventType.SessionDeleted)).toHaveLength(1);
  });

  describe('the API', () => {
    it('answers 400 naming every bad field', async () => {
      const res = await api('POST', '/v1/uploads', { body: { filename: '../x/y', contentType: 'nope', size: -1, checksumSha256: 'abc', extra: 1 } });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      const fields = res.body.details.map((d: { field: string }) => d.field);
      expect(new Set(fields)).toEqual(new Set(['filename', 'contentType', 'size', 'checksumSha256', 'extra']));
    });

    it.each([
      ['a string size', { filename: 'a.txt', contentType: 'text/plain', size: '12' }, 'size'],
      ['a fractional size', { filename: 'a.txt', contentType: 'text/plain', size: 1.5 }, 'size'],
      ['a size above the maximum', { filename: 'a.txt', contentType: 'text/plain', size: 10 ** 15 }, 'size'],
      ['a missing filename', { contentType: 'text/plain', size: 1 }, 'filename'],
      ['a control character', { filename: 'a\u0001.txt', contentType: 'text/plain', size: 1 }, 'filename'],
      ['a bad job type', { filename: 'a.txt', contentType: 'text/plain', size: 1, jobs: [{ type: 'NOPE' }] }, 'jobs[0].type'],
      ['a bad metadata value', { filename: 'a.txt', contentType: 'text/plain', size: 1, metadata: { k: 'ünïcode' } }, 'metadata'],
    ])('%s → 400', async (_, body, field) => {
      const res = await api('POST', '/v1/uploads', { body });
      expect(res.status).toBe(400);
      expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
    });

    it('answers 400 to a body that is not JSON, and 404 to unknown routes', async () => {
      expect((await api('POST', '/v1/uploads', { rawBody: '{"filename": ' })).status).toBe(400);
      expect((await api('POST', '/v1/uploads', { rawBody: '[1,2]' })).status).toBe(400);
      expect((await api('GET', '/v1/nothing-here')).status).toBe(404);
    });

    it('hides sessions from callers without their upload token (404, not 403)', async () => {
      const created = await createUpload(anUpload(textBytes()));
      expect((await api('GET', `/v1/uploads/${created.id}`)).status).toBe(404);
      expect((await api('GET', `/v1/uploads/${created.id}`, { uploadToken: 'wrong' })).status).toBe(404);
      expect((await api('GET', `/v1/uploads/${created.id}`, { uploadToken: created.caller.uploadToken })).status).toBe(200);
      expect((await api('GET', '/v1/uploads/not-a-uuid')).status).toBe(404);
    });
  });
});
