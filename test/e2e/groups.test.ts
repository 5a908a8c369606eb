import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { DomainEventType } from '@app/contracts';
import { createS3Client } from '@app/storage';
import { RunningApp, startApp, stopApp, System } from '../support/apps';
import { Capture } from '../support/broker';
import { anUpload, pngBytes, textBytes } from '../support/builders';
import { Caller } from '../support/flows';
import { api, jwtFor, putToUrl } from '../support/http';
import { waitFor } from '../support/poll';
import { Counted, jobOutcome, outboxDrained, storageOutcome } from '../support/outcomes';
import { objectExistsIn } from '../support/store';
import { PORT_BASE, testEnv, testS3Settings } from '../support/test-env';

jest.setTimeout(300_000);

const MAX_FILES = 250;
/** PUTs in flight at once: enough to race, few enough for a 2-core machine. */
const PUT_CONCURRENCY = 24;

interface CreatedGroup {
  id: string;
  body: any;
  caller: Caller;
}

async function createGroup(body: Record<string, unknown>, caller: Caller = {}): Promise<CreatedGroup> {
  const res = await api('POST', '/v1/groups', { body, ...caller });
  if (res.status !== 201) throw new Error(`POST /v1/groups: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
  return { id: res.body.id, body: res.body, caller: { token: caller.token, uploadToken: res.body.uploadToken ?? caller.uploadToken } };
}

async function getGroup(id: string, caller: Caller): Promise<any> {
  const res = await api('GET', `/v1/groups/${id}`, caller);
  if (res.status !== 200) throw new Error(`GET /v1/groups/${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

function waitForGroup(id: string, caller: Caller, statuses: string[], timeoutMs = 120_000): Promise<any> {
  return waitFor(
    () => getGroup(id, caller),
    (g) => statuses.includes(g.status),
    { timeoutMs, intervalMs: 250, what: `group ${id} to be ${statuses.join('|')}` },
  );
}

/** Every session of a group, all pages (`limit` a page). */
async function groupUploads(id: string, caller: Caller, limit = 100): Promise<any[]> {
  const all: any[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: any } = await api('GET', `/v1/groups/${id}/uploads?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, caller);
    if (res.status !== 200) throw new Error(`GET /v1/groups/${id}/uploads: ${res.status} ${JSON.stringify(res.body)}`);
    all.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return all;
}

/** Sends each file's bytes to its pre-signed URL, a bounded number at a time; every PUT must succeed. */
async function putAll(uploads: any[], bytes: Buffer[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < uploads.length; i = next++) {
      const u = uploads[i].upload;
      const status = await putToUrl(u.url, bytes[i], u.headers);
      if (status !== 200) throw new Error(`PUT of file ${i} answered ${status}`);
    }
  };
  await Promise.all(Array.from({ length: PUT_CONCURRENCY }, worker));
}

function filesOf(n: number, tag: string): { bytes: Buffer[]; files: Record<string, unknown>[] } {
  const bytes = Array.from({ length: n }, (_, i) => textBytes(`${tag} file ${i} ${Math.random()}\n`));
  return { bytes, files: bytes.map((b, i) => anUpload(b).named(`${tag}-${i}.txt`).build()) };
}

const sum = (bytes: Buffer[]) => bytes.reduce((n, b) => n + b.length, 0);

/**
 * Upload groups end to end: the three apps as processes, real Ceph RGW notifications, a test consumer on
 * uploads.events counting group events as a downstream service would.
 */
describe('upload groups (e2e)', () => {
  const env = testEnv();
  const appEnv = { JOB_TYPES: 'VALIDATION', MAX_FILES_PER_GROUP: String(MAX_FILES), JOB_CONCURRENCY: '8' };
  let system: System;
  let events: Capture;
  const s3 = createS3Client(testS3Settings());

  const groupEvents = (groupId: string, type?: string) =>
    events.messages.filter((m) => m.routingKey.startsWith('group.') && m.body?.data?.groupId === groupId && (!type || m.routingKey === type));

  /** Every instance running now (the nested describe adds a second storage-events and job-processor). */
  const running: RunningApp[] = [];
  const portsOf = (name: RunningApp['name']) => running.filter((a) => a.name === name && a.process.exitCode === null).map((a) => a.port);
  /** Counters of every storage-events and job-processor instance, read before a test's work. */
  const baseline = () => Counted.from(...portsOf('storage-events'), ...portsOf('job-processor'));

  /**
   * Waits for the group's one final event, and for the work its files caused to be counted (one storage notification
   * and one job outcome per file, across all instances); then for whatever that work wrote to the outbox to be published
   * and received. Only then is "exactly one group event" an assertion: no fixed wait.
   */
  async function theOnlyGroupEvent(groupId: string, type: string, counted: Counted, work: { notifications: number; jobs: number }): Promise<any> {
    await waitFor(
      async () => groupEvents(groupId).length,
      (n) => n >= 1,
      { timeoutMs: 30_000, what: `${type} of ${groupId}` },
    );
    await counted.atLeastAll(
      portsOf('storage-events').map((p) => storageOutcome(p)),
      work.notifications,
      { timeoutMs: 60_000 },
    );
    await counted.atLeastAll(
      portsOf('job-processor').map((p) => jobOutcome(p)),
      work.jobs,
      { timeoutMs: 60_000 },
    );
    await outboxDrained();
    await events.fence();
    const all = groupEvents(groupId);
    expect(all.map((m) => m.routingKey)).toEqual([type]);
    return all[0].body;
  }

  /** Only the store's 404 for the object means absent (objectExistsIn); anything else fails the test. */
  const objectExists = (key: string) => objectExistsIn(s3, env.S3_BUCKET, key);

  /** A whole group: create with its files, PUT them all concurrently, wait for a final status. */
  async function uploadGroup(n: number, tag: string, caller: Caller) {
    const { bytes, files } = filesOf(n, tag);
    const counted = await baseline();
    const started = Date.now();
    const group = await createGroup({ name: `${tag} batch`, files }, caller);
    expect(group.body).toMatchObject({
      status: 'PENDING',
      totalFiles: n,
      fileCount: n,
      completedFiles: 0,
      failedFiles: 0,
      bytesExpected: sum(bytes),
      bytesUploaded: 0,
    });
    expect(group.body.uploads).toHaveLength(n);
    await putAll(group.body.uploads, bytes);
    const done = await waitForGroup(group.id, group.caller, ['COMPLETED', 'FAILED', 'CANCELLED']);
    const seconds = (Date.now() - started) / 1000;
    // The figure goes into the report; no assertion on speed.
    console.log(`group of ${n} files (${tag}): ${done.status} in ${seconds.toFixed(1)} s from POST /v1/groups`);
    return { group, bytes, done, counted };
  }

  beforeAll(async () => {
    system = await System.start(appEnv);
    running.push(...system.apps);
    events = await Capture.on(env.DOMAIN_EVENTS_EXCHANGE);
  });

  afterAll(async () => {
    await events?.close();
    await system?.stop();
  });

  it('200 files uploaded concurrently: COMPLETED with completedFiles 200 and exactly one group.completed carrying every object key', async () => {
    const caller = { token: jwtFor('group-user-200') };
    const { group, bytes, done, counted } = await uploadGroup(200, 'g200', caller);

    expect(done).toMatchObject({
      status: 'COMPLETED',
      totalFiles: 200,
      completedFiles: 200,
      failedFiles: 0,
      bytesExpected: sum(bytes),
      bytesUploaded: sum(bytes),
    });
    const event = await theOnlyGroupEvent(group.id, DomainEventType.GroupCompleted, counted, { notifications: 200, jobs: 200 });
    expect(event).toMatchObject({
      type: 'group.completed',
      version: 1,
      data: { groupId: group.id, status: 'COMPLETED', totalFiles: 200, completedFiles: 200, failedFiles: 0 },
    });
    const expected = group.body.uploads.map((u: any) => ({ sessionId: u.id, objectKey: u.objectKey, status: 'COMPLETED' }));
    expect(event.data.sessions).toHaveLength(200);
    expect(event.data.sessions).toEqual(expect.arrayContaining(expected));
    // Followed to the end, 7 a page: the group's sessions were created together, many of them with the same createdAt
    // (ties that only the id orders). Pages are disjoint and complete: each of the 200 exactly once, none other.
    const sessions = await groupUploads(group.id, caller, 7);
    const ids = sessions.map((s) => s.id);
    expect(new Set(sessions.map((s) => s.createdAt)).size).toBeLessThan(200);
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
    expect([...ids].sort()).toEqual(group.body.uploads.map((u: any) => u.id).sort());
    expect(sessions.every((s) => s.status === 'COMPLETED')).toBe(true);
    // And through GET /v1/uploads?groupId, 9 a page.
    const listed: string[] = [];
    for (let cursor: string | null = null, guard = 0; guard < 100; guard++) {
      const page: { status: number; body: any } = await api('GET', `/v1/uploads?groupId=${group.id}&limit=9${cursor ? `&cursor=${cursor}` : ''}`, caller);
      expect(page.status).toBe(200);
      listed.push(...page.body.items.map((s: any) => s.id));
      cursor = page.body.nextCursor;
      if (!cursor) break;
    }
    expect(listed).toHaveLength(200);
    expect([...listed].sort()).toEqual([...ids].sort());
  });

  describe('with two storage-events and two job-processor instances', () => {
    const extra: RunningApp[] = [];

    beforeAll(async () => {
      extra.push(await startApp('storage-events', appEnv, { port: PORT_BASE + 3 }));
      extra.push(await startApp('job-processor', appEnv, { port: PORT_BASE + 4 }));
      running.push(...extra);
    });
    afterAll(async () => {
      await Promise.all(extra.map((a) => stopApp(a)));
      running.splice(running.length - extra.length, extra.length);
    });

    it('200 files still end COMPLETED with exact counters and one group.completed', async () => {
      const caller = { token: jwtFor('group-user-scaled') };
      const { group, done, counted } = await uploadGroup(200, 'g200x2', caller);

      expect(done).toMatchObject({ status: 'COMPLETED', completedFiles: 200, failedFiles: 0 });
      const event = await theOnlyGroupEvent(group.id, DomainEventType.GroupCompleted, counted, { notifications: 200, jobs: 200 });
      expect(event.data.sessions).toHaveLength(200);
      // Both instances of each app took part in this group (competing consumers on the same queues): counted since
      // this test began, each instance applied some of its 200 uploads and completed some of its 200 jobs, 200 in all.
      const uploaded = await Promise.all(portsOf('storage-events').map((p) => counted.since(storageOutcome(p, 'uploaded'))));
      const completed = await Promise.all(portsOf('job-processor').map((p) => counted.since(jobOutcome(p, { outcome: 'completed' }))));
      expect(uploaded).toHaveLength(2);
      expect(completed).toHaveLength(2);
      expect(uploaded.every((n) => n > 0) && uploaded[0] + uploaded[1] === 200).toBe(true);
      expect(completed.every((n) => n > 0) && completed[0] + completed[1] === 200).toBe(true);
    });
  });

  it('one file failing validation: FAILED with completedFiles n-1, failedFiles 1, one group.failed', async () => {
    const { bytes, files } = filesOf(5, 'gfail');
    const png = pngBytes();
    bytes.push(png);
    files.push(anUpload(png).named('fake.pdf').ofType('application/pdf').build());
    // Anonymous: one token for the group and all its sessions.
    const group = await createGroup({ name: 'one bad file', files });
    expect(group.caller.uploadToken).toEqual(expect.any(String));
    expect(group.body.uploads.every((u: any) => u.uploadToken === undefined)).toBe(true);
    const counted = await baseline();
    await putAll(group.body.uploads, bytes);

    const done = await waitForGroup(group.id, group.caller, ['COMPLETED', 'FAILED']);
    expect(done).toMatchObject({ status: 'FAILED', totalFiles: 6, completedFiles: 5, failedFiles: 1 });
    const event = await theOnlyGroupEvent(group.id, DomainEventType.GroupFailed, counted, { notifications: 6, jobs: 6 });
    expect(event.data).toMatchObject({ status: 'FAILED', completedFiles: 5, failedFiles: 1 });
    const bad = group.body.uploads[5];
    expect(event.data.sessions).toContainEqual({ sessionId: bad.id, objectKey: bad.objectKey, status: 'FAILED' });

    // The group token opens the group and each of its sessions; nothing opens them without it.
    expect((await api('GET', `/v1/uploads/${bad.id}`, group.caller)).body).toMatchObject({ status: 'FAILED', error: 'VALIDATION_FAILED' });
    expect((await api('GET', `/v1/groups/${group.id}`)).status).toBe(404);
    expect((await api('GET', `/v1/groups/${group.id}`, { uploadToken: 'not-the-token' })).status).toBe(404);
    expect((await api('GET', `/v1/uploads/${bad.id}`)).status).toBe(404);
  });

  it('cancel mid-way: CANCELLED, unfinished files FAILED with CANCELLED, nothing left in storage, no later event reopens it', async () => {
    const { bytes, files } = filesOf(10, 'gcancel');
    const group = await createGroup({ name: 'cancel me', files });
    const counted = await baseline();
    const first = group.body.uploads.slice(0, 4);
    await putAll(first, bytes.slice(0, 4));
    await waitFor(
      () => getGroup(group.id, group.caller),
      (g) => g.completedFiles === 4,
      { timeoutMs: 60_000, what: 'the first 4 files completed' },
    );

    const cancelled = await api('POST', `/v1/groups/${group.id}/cancel`, group.caller);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', totalFiles: 10, completedFiles: 4, failedFiles: 6 });
    const sessions = await groupUploads(group.id, group.caller);
    expect(sessions.filter((s) => s.status === 'COMPLETED')).toHaveLength(4);
    expect(sessions.filter((s) => s.status === 'FAILED' && s.error === 'CANCELLED')).toHaveLength(6);

    // A client that did not hear of the cancel still sends a file with its (still valid) URL.
    const late = group.body.uploads[7];
    expect(await putToUrl(late.upload.url, bytes[7], late.upload.headers)).toBe(200);
    await waitFor(
      () => objectExists(late.objectKey),
      (exists) => !exists,
      { timeoutMs: 30_000, what: 'the late object to be removed' },
    );

    const after = await getGroup(group.id, group.caller);
    expect(after).toMatchObject({ status: 'CANCELLED', completedFiles: 4, failedFiles: 6 });
    // Notifications: the 4 files and the late one (whose removal's own notification may come too); jobs: the 4 files'.
    const event = await theOnlyGroupEvent(group.id, DomainEventType.GroupCancelled, counted, { notifications: 5, jobs: 4 });
    expect(event.data).toMatchObject({ status: 'CANCELLED', completedFiles: 4, failedFiles: 6 });
    expect(event.data.sessions).toHaveLength(10);
    // Nothing of the cancelled files is left: no objects, no unfinished multipart uploads.
    for (const s of sessions.filter((x) => x.status === 'FAILED')) expect(await objectExists(s.objectKey)).toBe(false);
    const multipart = await s3.send(new ListMultipartUploadsCommand({ Bucket: env.S3_BUCKET, Prefix: 'uploads/' }));
    const keys = new Set(sessions.map((s) => s.objectKey));
    expect((multipart.Uploads ?? []).filter((u) => keys.has(u.Key))).toEqual([]);

    // Cancelling again changes nothing; the group takes no more files.
    expect((await api('POST', `/v1/groups/${group.id}/cancel`, group.caller)).body).toMatchObject({ status: 'CANCELLED', failedFiles: 6 });
    const more = await api('POST', `/v1/groups/${group.id}/uploads`, { body: anUpload(textBytes()).build(), ...group.caller });
    expect(more.status).toBe(409);
    expect(more.body.message).toMatch(/CANCELLED/);
    // What those two calls committed is in the outbox before they answered: drained and received, nothing new.
    await outboxDrained();
    await events.fence();
    expect(groupEvents(group.id)).toHaveLength(1);
  });

  describe('bad input and limits', () => {
    const owner = { token: jwtFor('group-owner') };
    const fields = (res: { body: any }) => (res.body.details ?? []).map((d: { field: string }) => d.field);

    it.each([
      ['0 files with totalFiles 0', { name: 'x', totalFiles: 0, files: [] }, 'totalFiles'],
      ['no files and no totalFiles', { name: 'x' }, 'totalFiles'],
      ['totalFiles above the maximum', { name: 'x', totalFiles: MAX_FILES + 1 }, 'totalFiles'],
      ['a file list above the maximum', { name: 'x', files: filesOf(MAX_FILES + 1, 'many').files }, 'files'],
      ['more files than totalFiles', { name: 'x', totalFiles: 1, files: filesOf(2, 'two').files }, 'files'],
      ['a missing name', { files: filesOf(1, 'noname').files }, 'name'],
      ['a file naming a group', { name: 'x', files: [{ ...filesOf(1, 'gid').files[0], groupId: '00000000-0000-4000-8000-000000000000' }] }, 'files[0].groupId'],
    ])('%s → 400 naming %s', async (_, body, field) => {
      const res = await api('POST', '/v1/groups', { body, ...owner });
      expect(res.status).toBe(400);
      expect(fields(res)).toContain(field);
    });

    it('one invalid file rejects the whole request, naming its index and field; nothing is created', async () => {
      const name = `atomic ${Math.random()}`;
      const { files } = filesOf(4, 'atomic');
      files[2] = { ...files[2], size: -1 };
      files[3] = { ...files[3], size: 10 ** 15 };
      const res = await api('POST', '/v1/groups', { body: { name, files }, ...owner });
      expect(res.status).toBe(400);
      expect(fields(res)).toEqual(['files[2].size']);

      const tooLarge = await api('POST', '/v1/groups', { body: { name, files: [files[0], files[3]] }, ...owner });
      expect(tooLarge.status).toBe(400);
      expect(fields(tooLarge)).toEqual(['files[1].size']);

      const mine = await api('GET', '/v1/groups?limit=100', owner);
      expect(mine.body.items.filter((g: any) => g.name === name)).toEqual([]);
    });

    it('adds files up to totalFiles, concurrently without overshooting, then 409', async () => {
      const group = await createGroup({ name: 'room for 5', totalFiles: 6, files: filesOf(1, 'room').files }, owner);
      const adds = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          api('POST', `/v1/groups/${group.id}/uploads`, { body: anUpload(textBytes()).named(`add-${i}.txt`).build(), ...owner }),
        ),
      );
      expect(adds.filter((r) => r.status === 201)).toHaveLength(5);
      expect(adds.filter((r) => r.status === 409)).toHaveLength(5);
      for (const r of adds.filter((x) => x.status === 201))
        expect(r.body).toMatchObject({ groupId: group.id, status: 'PENDING_UPLOAD', upload: { strategy: 'SINGLE' } });
      expect(await getGroup(group.id, owner)).toMatchObject({ totalFiles: 6, fileCount: 6 });
      expect(await groupUploads(group.id, owner)).toHaveLength(6);
      const full = await api('POST', `/v1/groups/${group.id}/uploads`, { body: anUpload(textBytes()).build(), ...owner });
      expect(full).toMatchObject({ status: 409, body: { statusCode: 409, message: expect.stringMatching(/already has its 6 files/) } });
      // Through POST /v1/uploads with groupId as well.
      expect((await api('POST', '/v1/uploads', { body: anUpload(textBytes()).with({ groupId: group.id }).build(), ...owner })).status).toBe(409);
    });

    it("someone else's group is a 404 on every route", async () => {
      const group = await createGroup({ name: 'private', totalFiles: 2 }, owner);
      const other = { token: jwtFor('someone-else') };
      expect((await api('GET', `/v1/groups/${group.id}`, other)).status).toBe(404);
      expect((await api('GET', `/v1/groups/${group.id}/uploads`, other)).status).toBe(404);
      expect((await api('POST', `/v1/groups/${group.id}/uploads`, { body: anUpload(textBytes()).build(), ...other })).status).toBe(404);
      expect((await api('POST', `/v1/groups/${group.id}/cancel`, other)).status).toBe(404);
      expect((await api('GET', `/v1/groups/${group.id}`)).status).toBe(404);
      expect((await api('GET', '/v1/groups/not-a-uuid', owner)).status).toBe(404);
      expect((await getGroup(group.id, owner)).status).toBe('PENDING');
    });

    it('a finished group cannot be cancelled (409)', async () => {
      const { bytes, files } = filesOf(1, 'finished');
      const group = await createGroup({ name: 'done', files }, owner);
      await putAll(group.body.uploads, bytes);
      await waitForGroup(group.id, owner, ['COMPLETED']);
      expect((await api('POST', `/v1/groups/${group.id}/cancel`, owner)).status).toBe(409);
      expect((await getGroup(group.id, owner)).status).toBe('COMPLETED');
    });
  });

  it('GET /v1/groups pages by cursor, newest first; listing needs an authenticated caller', async () => {
    const caller = { token: jwtFor(`lister-${Math.random()}`) };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createGroup({ name: `list ${i}`, totalFiles: 1 }, caller)).id);
    const first = await api('GET', '/v1/groups?limit=2', caller);
    expect(first.status).toBe(200);
    expect(first.body.items.map((g: any) => g.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.items[0]).toMatchObject({ totalFiles: 1, completedFiles: 0, failedFiles: 0, bytesExpected: 0, bytesUploaded: 0 });
    const second = await api('GET', `/v1/groups?limit=2&cursor=${first.body.nextCursor}`, caller);
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    expect((await api('GET', '/v1/groups?cursor=@@', caller)).status).toBe(400);
    expect((await api('GET', '/v1/groups')).status).toBe(401);
  });
});
