import { randomBytes } from 'node:crypto';
import { DomainEventType } from '@app/contracts';
import { System } from '../support/apps';
import { Capture } from '../support/broker';
import { anUpload, sha256Base64, textBytes } from '../support/builders';
import { createUpload, getUpload, sendBytes, waitForStatus } from '../support/flows';
import { api, issuedUploadToken } from '../support/http';
import { objectExists, storedSha256 } from '../support/multipart';
import { outboxDrained } from '../support/outcomes';
import { waitFor } from '../support/poll';
import { testEnv } from '../support/test-env';

jest.setTimeout(120_000);

/**
 * Issue 16, HIGH 1: a validated file swapped afterwards through the URL that uploaded it. The pre-signed PUT
 * writes once (If-None-Match: * signed in); the POST form cannot carry that condition, so a second POST does
 * replace the object: the storage event with another ETag ends the session (OBJECT_REPLACED), the object is
 * removed, and neither a download nor an event ever presents the other bytes as validated.
 */
describe('security: a validated object swapped afterwards (e2e)', () => {
  let system: System;
  let events: Capture;
  let uppyToken: string;
  let asPage: { headers: { cookie: string } };

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: 'VALIDATION' });
    uppyToken = await issuedUploadToken();
    asPage = { headers: { cookie: `upload_token=${uppyToken}` } };
    events = await Capture.on(testEnv().DOMAIN_EVENTS_EXCHANGE);
  });

  afterAll(async () => {
    await events?.close();
    await system?.stop();
  });

  it('single PUT: the same URL cannot store other bytes of the same length once the file is in; downloads serve the validated bytes', async () => {
    const bytes = textBytes(`validated ${randomBytes(8).toString('hex')}\n`);
    const evil = Buffer.from(bytes.toString('utf8').replace('validated', 'EVIL!!!!!'), 'utf8');
    expect(evil.length).toBe(bytes.length);
    const created = await createUpload(anUpload(bytes).withChecksum());
    expect(created.body.upload.headers).toMatchObject({ 'If-None-Match': '*' });
    // The condition is signed: the URL does not work without it.
    expect(await sendBytes(created, bytes, { 'Content-Type': created.body.upload.headers['Content-Type'] })).toBe(403);
    expect(await sendBytes(created, bytes)).toBe(200);
    const done = await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED']);
    expect(done).toMatchObject({ status: 'COMPLETED', checksumSha256: sha256Base64(bytes) });

    // The attack: same URL, same signed headers, other bytes of the same length.
    expect(await sendBytes(created, evil)).toBe(412);
    expect(await storedSha256(created.body.objectKey)).toBe(sha256Base64(bytes));
    const link = await api('GET', `/v1/uploads/${created.id}/download`, created.caller);
    expect(link.status).toBe(200);
    expect(Buffer.from(await (await fetch(link.body.url)).arrayBuffer()).equals(bytes)).toBe(true);
    expect((await getUpload(created.id, created.caller)).status).toBe('COMPLETED');
  });

  it("Uppy's POST form: a second POST after validation ends the session OBJECT_REPLACED, removes the object, and no download or event presents it", async () => {
    const bytes = textBytes(`form upload ${randomBytes(8).toString('hex')}\n`);
    const params = await api('GET', `/s3/params?filename=${encodeURIComponent('note.txt')}&type=text%2Fplain`, asPage);
    expect(params.status).toBe(200);
    const post = async (body: Buffer) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(params.body.fields as Record<string, string>)) form.append(k, v);
      form.append('file', new Blob([body], { type: 'text/plain' }), 'note.txt');
      const res = await fetch(params.body.url, { method: 'POST', body: form });
      await res.arrayBuffer();
      return res.status;
    };
    const key: string = params.body.fields.key;
    const id = key.split('/')[1];
    const caller = { uploadToken: uppyToken };
    expect(await post(bytes)).toBe(201);
    expect(await waitForStatus(id, caller, ['COMPLETED', 'FAILED'])).toMatchObject({ status: 'COMPLETED', size: bytes.length });
    await waitFor(
      async () => events.forSession(id, DomainEventType.SessionCompleted).length,
      (n) => n === 1,
      { what: 'session.completed' },
    );

    // The attack: the same form, other bytes (any length within the policy's range).
    const evil = Buffer.concat([bytes, Buffer.from('appended by someone else\n')]);
    expect(await post(evil)).toBe(201);

    const ended = await waitForStatus(id, caller, ['DELETED', 'FAILED']);
    expect(ended).toMatchObject({ status: 'DELETED', error: 'OBJECT_REPLACED' });
    await waitFor(
      () => objectExists(key),
      (exists) => !exists,
      { what: 'the replaced object removed' },
    );
    expect((await api('GET', `/v1/uploads/${id}/download`, caller)).status).toBe(409);
    const [deleted, ...more] = events.forSession(id, DomainEventType.SessionDeleted);
    expect(more).toHaveLength(0);
    expect(deleted.body.data).toMatchObject({ status: 'DELETED', error: 'OBJECT_REPLACED', size: bytes.length });
    // Nothing announced the other bytes: one session.uploaded, one session.completed, both for the first POST.
    // Everything committed is published (outbox empty) and captured (fence) before counting.
    await outboxDrained();
    await events.fence();
    expect(events.forSession(id, DomainEventType.SessionUploaded)).toHaveLength(1);
    expect(events.forSession(id, DomainEventType.SessionCompleted)).toHaveLength(1);
  });
});
