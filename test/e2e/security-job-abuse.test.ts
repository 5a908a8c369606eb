import { randomUUID } from 'node:crypto';
import { System } from '../support/apps';
import { anUpload, textBytes } from '../support/builders';
import { createUpload, sendBytes, waitForStatus } from '../support/flows';
import { api, jwtFor } from '../support/http';

jest.setTimeout(120_000);

/**
 * Issue 16, MEDIUM 6: any caller could give every job priority 1 (starving everyone), add jobs without end and
 * retry one forever (a retry resets its attempts). Now priorities 1-2 and more than 5 attempts are for admins,
 * a session has at most 20 jobs, and a caller retries one job at most 3 times.
 */
describe('security: job abuse (e2e)', () => {
  let system: System;

  beforeAll(async () => {
    // Only VALIDATION runs: a THUMBNAIL job stays PENDING until cancelled.
    system = await System.start({ JOB_TYPES: 'VALIDATION' });
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('priority 1-2 and maxAttempts above 5 are refused for callers who are not admins, naming the field; an admin may', async () => {
    const bytes = textBytes();
    const file = { filename: 'a.txt', contentType: 'text/plain', size: bytes.length };
    const urgent = await api('POST', '/v1/uploads', { body: { ...file, jobs: [{ type: 'CHECKSUM', priority: 1 }] } });
    expect(urgent.status).toBe(400);
    expect(urgent.body.details).toEqual([expect.objectContaining({ field: 'jobs[0].priority' })]);
    const stubborn = await api('POST', '/v1/uploads', {
      token: jwtFor(`u-${randomUUID()}`),
      body: { ...file, jobs: [{ type: 'CHECKSUM' }, { type: 'VALIDATION', maxAttempts: 20 }] },
    });
    expect(stubborn.status).toBe(400);
    expect(stubborn.body.details).toEqual([expect.objectContaining({ field: 'jobs[1].maxAttempts' })]);
    const group = await api('POST', '/v1/groups', { body: { name: 'g', files: [{ ...file, jobs: [{ type: 'CHECKSUM', priority: 2 }] }] } });
    expect(group.status).toBe(400);
    expect(group.body.details).toEqual([expect.objectContaining({ field: 'files[0].jobs[0].priority' })]);
    expect((await api('POST', '/v1/uploads', { body: { ...file, jobs: [{ type: 'CHECKSUM', priority: 3, maxAttempts: 5 }] } })).status).toBe(201);
    const admin = jwtFor(`admin-${randomUUID()}`, { roles: ['admin'] });
    expect((await api('POST', '/v1/uploads', { token: admin, body: { ...file, jobs: [{ type: 'CHECKSUM', priority: 1, maxAttempts: 20 }] } })).status).toBe(
      201,
    );
  });

  it('a session takes at most 20 jobs; one job is retried at most 3 times by its owner', async () => {
    const bytes = textBytes();
    const created = await createUpload(anUpload(bytes));
    expect(await sendBytes(created, bytes)).toBe(200);
    expect((await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');

    expect((await api('POST', `/v1/uploads/${created.id}/jobs`, { ...created.caller, body: { type: 'THUMBNAIL', priority: 1 } })).body.details).toEqual([
      expect.objectContaining({ field: 'priority' }),
    ]);
    const added: string[] = [];
    // VALIDATION is one; 19 more fit.
    for (let i = 0; i < 19; i++) {
      const res = await api('POST', `/v1/uploads/${created.id}/jobs`, { ...created.caller, body: { type: 'THUMBNAIL' } });
      expect(res.status).toBe(201);
      added.push(res.body.id);
    }
    const over = await api('POST', `/v1/uploads/${created.id}/jobs`, { ...created.caller, body: { type: 'THUMBNAIL' } });
    expect(over.status).toBe(409);
    expect(over.body.message).toMatch(/20 jobs/);

    const job = added[0];
    for (let retry = 1; retry <= 3; retry++) {
      expect((await api('POST', `/v1/jobs/${job}/cancel`, created.caller)).status).toBe(200);
      expect((await api('POST', `/v1/jobs/${job}/retry`, created.caller)).status).toBe(200);
    }
    expect((await api('POST', `/v1/jobs/${job}/cancel`, created.caller)).status).toBe(200);
    const exhausted = await api('POST', `/v1/jobs/${job}/retry`, created.caller);
    expect(exhausted.status).toBe(409);
    expect(exhausted.body.message).toMatch(/retried 3 times/);
  });
});
