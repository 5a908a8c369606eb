import { FileStatus } from '@app/contracts';
import { DomainErrorCode } from '../../errors/domain-error';
import { canTransition, FILE_STATUS_TRANSITIONS, sourcesOf } from '../../lifecycle/transitions';
import { assertTakingParts, isExpired } from '../../upload/multipart/multipart-parts';
import { UploadSession } from '../../upload/upload-session.entity';
import { EXPIRABLE } from './reconcile-uploads.usecase';

describe('expiry', () => {
  it('fails only sessions still waiting for their bytes: a narrower source list than the table allows for FAILED', () => {
    expect([...EXPIRABLE].sort()).toEqual([FileStatus.PENDING_UPLOAD, FileStatus.UPLOADING].sort());
    for (const from of EXPIRABLE) expect(canTransition(FILE_STATUS_TRANSITIONS, from, FileStatus.FAILED)).toBe(true);
    // The table lets a job failure fail an UPLOADED or PROCESSING session; expiry must not use it unnarrowed.
    expect(sourcesOf(FILE_STATUS_TRANSITIONS, FileStatus.FAILED)).toEqual(expect.arrayContaining([FileStatus.UPLOADED, FileStatus.PROCESSING]));
    for (const stored of [FileStatus.UPLOADED, FileStatus.PROCESSING, FileStatus.COMPLETED]) expect(EXPIRABLE).not.toContain(stored);
  });

  function multipart(status: FileStatus, expiresInMs: number): UploadSession {
    const s = new UploadSession({
      id: 'a1b2c3d4-0000-4000-8000-000000000001',
      bucket: 'b',
      objectKey: 'uploads/a1b2c3d4-0000-4000-8000-000000000001/f',
      filename: 'f',
      contentType: 'text/plain',
      size: 1,
      expiresAt: new Date(Date.now() + expiresInMs),
      jobPlan: [],
    });
    s.status = status;
    s.uploadId = 'mp';
    return s;
  }

  it('a multipart session takes parts until its expiresAt, then answers UPLOAD_EXPIRED naming it', () => {
    expect(() => assertTakingParts(multipart(FileStatus.UPLOADING, 60_000))).not.toThrow();
    const expired = multipart(FileStatus.UPLOADING, -1);
    expect(isExpired(expired)).toBe(true);
    expect(() => assertTakingParts(expired)).toThrow(
      expect.objectContaining({ code: DomainErrorCode.UPLOAD_EXPIRED, message: expect.stringContaining(expired.id) }),
    );
    // An ended session keeps its 409 (its status says more than its expiry).
    expect(() => assertTakingParts(multipart(FileStatus.FAILED, -1))).toThrow(expect.objectContaining({ code: DomainErrorCode.SESSION_STATE_CONFLICT }));
  });
});
