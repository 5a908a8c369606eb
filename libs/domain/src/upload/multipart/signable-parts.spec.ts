import { StorageQuota } from '../../user/storage-quota';
import { UploadPolicy } from '../upload-policy';
import { unsizedCeiling } from '../upload-rules';
import { UploadSession } from '../upload-session.entity';
import { plannedPartLength, signableParts } from './multipart-parts';
import { partLength, planParts } from './part-plan';

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

describe('part lengths without part rows (issue 16, MEDIUM 4)', () => {
  const planned = (size: number, partSize: number) => Object.assign(session({ userId: 'u', size }), planParts(size, partSize, 8 * MiB));

  it.each([
    // size, part size, part number, its exact length
    [100 * MiB + 1, 8 * MiB, 1, 8 * MiB],
    [100 * MiB + 1, 8 * MiB, 12, 8 * MiB],
    [100 * MiB + 1, 8 * MiB, 13, 4 * MiB + 1],
    [5 * MiB, 5 * MiB, 1, 5 * MiB],
    [5 * GiB, 5 * MiB, 1024, 5 * MiB],
  ])('%d bytes in parts of %d: part %d holds %d bytes', (size, partSize, n, length) => {
    expect(plannedPartLength(planned(size, partSize), n)).toBe(length);
  });

  it('matches the plan the parts were cut by, every part of it, and sums to the size', () => {
    const size = 47 * MiB + 123;
    const plan = planParts(size, 6 * MiB, 8 * MiB);
    const s = planned(size, 6 * MiB);
    const lengths = Array.from({ length: plan.totalParts }, (_, i) => plannedPartLength(s, i + 1));
    expect(lengths).toEqual(Array.from({ length: plan.totalParts }, (_, i) => partLength(size, plan, i + 1)));
    expect(lengths.reduce((a, b) => a! + b!, 0)).toBe(size);
  });

  it('none while the client chooses its parts (Uppy: no size, no plan) or for a single PUT', () => {
    expect(plannedPartLength(session({ userId: 'u', size: null }), 1)).toBeUndefined();
    expect(plannedPartLength(session({ userId: 'u', size: 10 * MiB, totalParts: 2 }), 1)).toBeUndefined();
    expect(plannedPartLength(session({ userId: 'u', size: 10 * MiB }), 1)).toBeUndefined();
  });
});
