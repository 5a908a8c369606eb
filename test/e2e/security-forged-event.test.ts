import { randomBytes } from 'node:crypto';
import { System } from '../support/apps';
import { anUpload } from '../support/builders';
import { publishRaw } from '../support/broker';
import { createUpload, getUpload, waitForStatus } from '../support/flows';
import { api } from '../support/http';
import { objectExists } from '../support/multipart';
import { testEnv } from '../support/test-env';

jest.setTimeout(90_000);

/**
 * Issue 16 (low): storage notifications are taken for their size without asking the store, so whoever can publish to
 * the storage events exchange can mark a waiting session UPLOADED. The broker keeps such publishers out (the store's
 * own publish-only user; docs/security.md); behind that, VALIDATION reads the object itself: a forged ObjectCreated
 * for a session whose bytes never arrived (size matching, no object) never ends COMPLETED nor announces it.
 */
describe('security: a forged storage notification (e2e)', () => {
  let system: System;

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: 'VALIDATION' });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('ObjectCreated for a pending session with the declared size and no object: FAILED by VALIDATION, never COMPLETED, nothing to download', async () => {
    const bytes = Buffer.from(`never sent ${randomBytes(6).toString('hex')}`);
    const created = await createUpload(anUpload(bytes).named('forged.txt'));
    const key = created.body.objectKey as string;
    const forged = {
      Records: [
        {
          eventVersion: '2.2',
          eventSource: 'ceph:s3',
          eventName: 'ObjectCreated:Put',
          eventId: `forged-${randomBytes(6).toString('hex')}`,
          s3: {
            bucket: { name: testEnv().S3_BUCKET },
            object: { key, size: bytes.length, eTag: 'ffffffffffffffffffffffffffffffff', sequencer: '00000000FORGED00' },
          },
        },
      ],
    };
    await publishRaw(testEnv().STORAGE_EVENTS_EXCHANGE, 'uploads-forged', [JSON.stringify(forged)]);
    const final = await waitForStatus(created.body.id, created.caller, ['COMPLETED', 'FAILED']);
    expect(final.status).toBe('FAILED');
    expect(final).toMatchObject({ error: 'VALIDATION_FAILED', errorMessage: `object ${key} is not in storage` });
    expect(await objectExists(key)).toBe(false);
    const download = await api('GET', `/v1/uploads/${created.body.id}/download`, { uploadToken: created.caller.uploadToken });
    expect(download.status).toBeGreaterThanOrEqual(400);
    expect(download.status).toBeLessThan(500);
    expect((await getUpload(created.body.id, created.caller)).status).toBe('FAILED');
  });
});
