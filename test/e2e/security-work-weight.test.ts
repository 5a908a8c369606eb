import { randomUUID } from 'node:crypto';
import { System } from '../support/apps';
import { api, jwtFor } from '../support/http';

jest.setTimeout(90_000);

const WRITES = 10;

/**
 * Issue 16, MEDIUM 4: a POST /v1/groups of N files, or a request for N part URLs, did N creates' work and counted
 * as one write. Now it counts as its work: N files are N writes, N part URLs one write per 100 (what one create signs).
 */
describe('security: rate limits weighted by work (e2e)', () => {
  let system: System;

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: 'VALIDATION', RATE_LIMIT_WRITES: String(WRITES), RATE_LIMIT_REQUESTS: '1000', RATE_LIMIT_WINDOW_SECONDS: '600' });
  });
  afterAll(async () => {
    await system?.stop();
  });

  const file = (i: number, fields: Record<string, unknown> = {}) => ({
    filename: `f-${i}.bin`,
    contentType: 'application/octet-stream',
    size: 1000,
    ...fields,
  });

  it('a group of N files counts as N writes: 8 files, then 3 more are refused, 2 fit', async () => {
    const token = jwtFor(`weight-${randomUUID()}`);
    const eight = await api('POST', '/v1/groups', { body: { name: 'eight', files: Array.from({ length: 8 }, (_, i) => file(i)) }, token });
    expect(eight.status).toBe(201);
    const three = await api('POST', '/v1/groups', { body: { name: 'three', files: [file(1), file(2), file(3)] }, token });
    expect(three.status).toBe(429);
    expect(three.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(three.body.message).toContain('this one counts as 3');
    expect((await api('POST', '/v1/groups', { body: { name: 'two', files: [file(1), file(2)] }, token })).status).toBe(201);
    expect((await api('POST', '/v1/uploads', { body: file(9), token })).status).toBe(429);
  });

  it('a group larger than the whole limit passes only with an empty window', async () => {
    const token = jwtFor(`weight-${randomUUID()}`);
    const files = Array.from({ length: 30 }, (_, i) => file(i));
    expect((await api('POST', '/v1/groups', { body: { name: 'big', files }, token })).status).toBe(201);
    expect((await api('POST', '/v1/uploads', { body: file(0), token })).status).toBe(429);
  });

  it('part URLs count one write per 100 asked for', async () => {
    const token = jwtFor(`weight-${randomUUID()}`);
    const created = await api('POST', '/v1/uploads', { body: file(0, { size: 5 * 1024 ** 3, multipart: true, partSize: 5 * 1024 ** 2 }), token });
    expect(created.status).toBe(201);
    const sign = (from: number, n: number) =>
      api('POST', `/v1/uploads/${created.body.id}/parts`, { body: { partNumbers: Array.from({ length: n }, (_, i) => from + i) }, token });
    // 1 write used; 800 URLs are 8 more; 101 URLs would be 2: refused; 100 are 1: the last that fits.
    expect((await sign(1, 800)).status).toBe(200);
    expect((await sign(801, 101)).status).toBe(429);
    expect((await sign(801, 100)).status).toBe(200);
    expect((await sign(901, 1)).status).toBe(429);
  });
});
