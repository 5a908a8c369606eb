import { Pool } from 'pg';
import { System } from '../support/apps';
import { getUpload, waitForStatus } from '../support/flows';
import { api } from '../support/http';
import { multipartUploadsUnder, putPart } from '../support/multipart';
import { waitFor } from '../support/poll';
import { testEnv } from '../support/test-env';

jest.setTimeout(90_000);

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/**
 * Issue 16, MEDIUM 4: one POST /v1/groups with 1,000 files of 5 GiB was 1,000 CreateMultipartUpload round trips and
 * about a million FilePart rows in one transaction. The work of one request is now bounded (multipart files and
 * parts), refused with a 400 naming `files` before anything reaches the store.
 */
describe('security: work per POST /v1/groups (e2e)', () => {
  let system: System;
  const db = new Pool({ connectionString: testEnv().DATABASE_URL, max: 2 });

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: 'VALIDATION', MAX_FILE_SIZE_BYTES: String(5 * GiB) });
  });

  afterAll(async () => {
    await system?.stop();
    await db.end();
  });

  /** The `file_part` rows of a group's sessions, as the database holds them: `status:size` per part, by session. */
  async function partRows(groupId: string): Promise<Map<string, string[]>> {
    const { rows } = await db.query<{ session_id: string; part_number: number; status: string; size: string }>(
      `select p.session_id, p.part_number, p.status, p.size from file_part p join upload_session s on s.id = p.session_id
        where s.group_id = $1 order by p.session_id, p.part_number`,
      [groupId],
    );
    const bySession = new Map<string, string[]>();
    for (const r of rows) bySession.set(r.session_id, [...(bySession.get(r.session_id) ?? []), `${r.part_number}:${r.status}:${r.size}`]);
    return bySession;
  }
  const rowCount = async (groupId: string) => [...(await partRows(groupId)).values()].reduce((n, r) => n + r.length, 0);

  const big = (i: number) => ({ filename: `big-${i}.bin`, contentType: 'application/octet-stream', size: 5 * GiB });
  const small = (i: number) => ({ filename: `small-${i}.bin`, contentType: 'application/octet-stream', size: 6 * MiB, multipart: true });

  it('more parts than one request may plan: 400 naming files', async () => {
    const res = await api('POST', '/v1/groups', { body: { name: 'too many parts', files: Array.from({ length: 16 }, (_, i) => big(i)) } });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field: 'files', message: expect.stringMatching(/would plan 10240 parts; at most 10000 per request/) }]);
  });

  it('more multipart uploads than one request may start: 400 naming files', async () => {
    const res = await api('POST', '/v1/groups', { body: { name: 'too many uploads', files: Array.from({ length: 51 }, (_, i) => small(i)) } });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ field: 'files', message: expect.stringMatching(/would start 51 multipart uploads; at most 50 per request/) }]);
  });

  it('within the bounds the group is created, and the rest is added file by file', async () => {
    const res = await api('POST', '/v1/groups', { body: { name: 'fits', totalFiles: 3, files: [big(1), small(1)] } });
    expect(res.status).toBe(201);
    const added = await api('POST', `/v1/groups/${res.body.id}/uploads`, { uploadToken: res.body.uploadToken, body: big(2) });
    expect(added.status).toBe(201);
    expect(added.body.upload).toMatchObject({ strategy: 'MULTIPART', totalParts: 640 });
  });

  describe('part rows are created lazily (issue 16, MEDIUM 4)', () => {
    it('10 files × 1,000 parts: no part rows (10,000 before); a signed part gets its planned length; abort fails the uploads', async () => {
      // 999 parts of 5 MiB and a last one of 1 MiB: the most one request may plan.
      const size = 999 * 5 * MiB + MiB;
      const files = Array.from({ length: 10 }, (_, i) => ({
        filename: `planned-${i}.bin`,
        contentType: 'application/octet-stream',
        size,
        multipart: true,
        partSize: 5 * MiB,
      }));
      const started = Date.now();
      const res = await api('POST', '/v1/groups', { body: { name: 'ten thousand parts', files } });
      expect(res.status).toBe(201);
      console.log(`POST /v1/groups with 10 × 1,000 planned parts: ${Date.now() - started} ms`);
      const caller = { uploadToken: res.body.uploadToken as string };
      const uploads = res.body.uploads as { id: string; objectKey: string; upload: { totalParts: number; uploadId: string; parts: { size: number }[] } }[];
      expect(uploads.map((u) => u.upload.totalParts)).toEqual(Array(10).fill(1000));
      expect(uploads[0].upload.parts).toHaveLength(100);
      expect(await rowCount(res.body.id)).toBe(0);

      const [first] = uploads;
      const signed = await api('POST', `/v1/uploads/${first.id}/parts`, { body: { partNumbers: [1, 999, 1000] }, ...caller });
      expect(signed.status).toBe(200);
      expect(signed.body.parts.map((p: { partNumber: number; size: number }) => [p.partNumber, p.size])).toEqual([
        [1, 5 * MiB],
        [999, 5 * MiB],
        [1000, MiB],
      ]);
      // The length is signed into the URL: the store refuses another.
      expect((await putPart(signed.body.parts[2].url, Buffer.alloc(MiB + 1))).status).toBe(403);
      const listed = await api('GET', `/v1/uploads/${first.id}/parts`, caller);
      expect(listed.body).toMatchObject({ status: 'PENDING_UPLOAD', totalParts: 1000, completedParts: 0, parts: [] });
      expect(listed.body.missingPartNumbers).toHaveLength(1000);
      expect(await rowCount(res.body.id)).toBe(0);

      for (const u of uploads) expect((await api('POST', `/v1/uploads/${u.id}/abort`, { body: {}, ...caller })).status).toBe(200);
      for (const u of uploads) expect(await getUpload(u.id, caller)).toMatchObject({ status: 'FAILED', error: 'ABORTED' });
      expect(await multipartUploadsUnder(first.objectKey)).toEqual([]);
      expect(await rowCount(res.body.id)).toBe(0);
    });

    it('a group of multipart files completes end to end; rows appear only for the parts the store reported', async () => {
      const sizes = [0, 1, 2].map((i) => 7 * MiB + 1000 * i);
      const files = sizes.map((size, i) => ({ filename: `lazy-${i}.bin`, contentType: 'application/octet-stream', size, multipart: true, partSize: 5 * MiB }));
      const res = await api('POST', '/v1/groups', { body: { name: 'lazy parts', files } });
      expect(res.status).toBe(201);
      const groupId = res.body.id as string;
      const caller = { uploadToken: res.body.uploadToken as string };
      const uploads = res.body.uploads as { id: string; upload: { parts: { partNumber: number; size: number; url: string }[] } }[];
      expect(uploads.map((u) => u.upload.parts.map((p) => p.size))).toEqual(sizes.map((size) => [5 * MiB, size - 5 * MiB]));
      expect(await rowCount(groupId)).toBe(0);

      // Part 1 of each: the listing reconciles it into a row; part 2 is missing and has none.
      for (const [i, u] of uploads.entries()) {
        expect((await putPart(u.upload.parts[0].url, Buffer.alloc(5 * MiB, i + 1))).status).toBe(200);
        const listed = await api('GET', `/v1/uploads/${u.id}/parts`, caller);
        expect(listed.body).toMatchObject({ status: 'UPLOADING', totalParts: 2, completedParts: 1, missingPartNumbers: [2] });
      }
      const reported = await partRows(groupId);
      expect(uploads.map((u) => reported.get(u.id))).toEqual(uploads.map(() => [`1:UPLOADED:${5 * MiB}`]));
      const midway = await api('GET', `/v1/groups/${groupId}`, caller);
      expect(midway.body).toMatchObject({ bytesExpected: sizes.reduce((a, b) => a + b, 0), bytesUploaded: 3 * 5 * MiB });

      // Part 2 through a fresh URL (signed from the plan, no row), then completion.
      for (const [i, u] of uploads.entries()) {
        const signed = await api('POST', `/v1/uploads/${u.id}/parts`, { body: { partNumbers: [2] }, ...caller });
        expect(signed.body.parts).toEqual([{ partNumber: 2, size: sizes[i] - 5 * MiB, url: expect.any(String) }]);
        expect((await putPart(signed.body.parts[0].url, Buffer.alloc(sizes[i] - 5 * MiB, i + 1))).status).toBe(200);
        expect((await api('POST', `/v1/uploads/${u.id}/complete`, { body: {}, ...caller })).status).toBe(200);
      }
      for (const [i, u] of uploads.entries()) {
        expect(await waitForStatus(u.id, caller, ['COMPLETED', 'FAILED'], 60_000)).toMatchObject({
          status: 'COMPLETED',
          size: sizes[i],
          totalParts: 2,
          completedParts: 2,
          parts: { total: 2, uploaded: 2, uploadedBytes: sizes[i] },
        });
      }
      const group = await waitFor(
        async () => (await api('GET', `/v1/groups/${groupId}`, caller)).body,
        (g) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(g.status),
        { what: 'the group to finish' },
      );
      expect(group).toMatchObject({ status: 'COMPLETED', completedFiles: 3, failedFiles: 0, bytesUploaded: sizes.reduce((a, b) => a + b, 0) });
      const rows = await partRows(groupId);
      expect(uploads.map((u) => rows.get(u.id))).toEqual(sizes.map((size) => [`1:UPLOADED:${5 * MiB}`, `2:UPLOADED:${size - 5 * MiB}`]));
    });
  });
});
