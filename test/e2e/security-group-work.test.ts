import { System } from '../support/apps';
import { api } from '../support/http';

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

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: 'VALIDATION', MAX_FILE_SIZE_BYTES: String(5 * GiB) });
  });

  afterAll(async () => {
    await system?.stop();
  });

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
});
