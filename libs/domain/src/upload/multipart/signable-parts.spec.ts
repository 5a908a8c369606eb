import { StorageQuota } from '../../user/storage-quota';
import { UploadPolicy } from '../upload-policy';
import { unsizedCeiling } from '../upload-rules';
import { UploadSession } from '../upload-session.entity';
import { signableParts } from './multipart-parts';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const policy = (maxFileSize: number, userQuotaBytes: number) => ({ maxFileSize, userQuotaBytes }) as UploadPolicy;
const session = (props: { userId: string | null; size: number | null; totalParts?: number }) => {
  const s = new UploadSession({
    id: 'abc',
    bucket: 'b',
    objectKey: 'uploads/abc/x',
    filename: 'x',
    contentType: 'a/b',
    expiresAt: new Date(),
    jobPlan: [],
    ...props,
  });
  s.totalParts = props.totalParts ?? 0;
  return s;
};

describe('uploads without a declared size (issue 16, MEDIUM 3)', () => {
  it.each([
    // maxFileSize, quota, owner, ceiling
    [5 * GiB, 0, 'u', 5 * GiB],
    [5 * GiB, 1 * GiB, 'u', 1 * GiB],
    [5 * GiB, 1 * GiB, null, 5 * GiB],
    [12 * MiB, 40 * MiB, 'u', 12 * MiB],
  ])('ceiling with MAX_FILE_SIZE %d and quota %d for owner %s: %d', (max, quota, owner, ceiling) => {
    expect(unsizedCeiling(policy(max, quota), owner)).toBe(ceiling);
  });

  it.each([
    // ceiling → part numbers: every part but the last holds at least 5 MiB
    [5 * GiB, 1024],
    [12 * MiB, 3],
    [5 * MiB, 1],
    [1, 1],
    [100 * 5 * GiB, 10_000],
  ])('a ceiling of %d bytes signs part numbers 1..%d', (ceiling, parts) => {
    expect(signableParts(session({ userId: null, size: null }), policy(ceiling, 0))).toBe(parts);
  });

  it('a planned upload signs its own parts, whatever the ceiling', () => {
    expect(signableParts(session({ userId: 'u', size: 100 * MiB, totalParts: 13 }), policy(5 * MiB, 0))).toBe(13);
  });

  it("an owner's unsized session reserves its ceiling; an anonymous one nothing; a sized one its size", () => {
    const quota = new StorageQuota(policy(12 * MiB, 40 * MiB));
    const sessions = [session({ userId: 'u', size: null }), session({ userId: null, size: null }), session({ userId: 'u', size: 1000 })];
    expect(quota.reserve(sessions)).toBe(12 * MiB + 1000);
    expect(sessions.map((s) => s.quotaBytes)).toEqual([12 * MiB, 0, 1000]);
  });
});
