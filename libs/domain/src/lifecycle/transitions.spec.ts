import { FileStatus, GroupStatus, JobStatus, PartStatus } from '@app/contracts';
import { canTransition, FILE_STATUS_TRANSITIONS, GROUP_STATUS_TRANSITIONS, JOB_STATUS_TRANSITIONS, PART_STATUS_TRANSITIONS, sourcesOf } from './transitions';

/** Every (from, to) pair of each lifecycle, and whether it is allowed. The tables must match the seed exactly. */
function pairs<S extends string>(all: S[], allowed: [S, S][]): [S, S, boolean][] {
  const ok = new Set(allowed.map(([a, b]) => `${a}>${b}`));
  return all.flatMap((from) => all.map((to): [S, S, boolean] => [from, to, ok.has(`${from}>${to}`)]));
}

const F = FileStatus;
const fileAllowed: [FileStatus, FileStatus][] = [
  [F.PENDING_UPLOAD, F.UPLOADING],
  [F.PENDING_UPLOAD, F.UPLOADED],
  [F.PENDING_UPLOAD, F.FAILED],
  [F.PENDING_UPLOAD, F.DELETED],
  [F.UPLOADING, F.UPLOADED],
  [F.UPLOADING, F.FAILED],
  [F.UPLOADING, F.DELETED],
  [F.UPLOADED, F.PROCESSING],
  [F.UPLOADED, F.FAILED],
  [F.UPLOADED, F.DELETED],
  [F.PROCESSING, F.COMPLETED],
  [F.PROCESSING, F.FAILED],
  [F.PROCESSING, F.DELETED],
  [F.COMPLETED, F.DELETED],
  [F.FAILED, F.DELETED],
];
const J = JobStatus;
const jobAllowed: [JobStatus, JobStatus][] = [
  [J.PENDING, J.RUNNING],
  [J.PENDING, J.CANCELLED],
  [J.RUNNING, J.COMPLETED],
  [J.RUNNING, J.FAILED],
  [J.RUNNING, J.CANCELLED],
  [J.RUNNING, J.PENDING],
  [J.RUNNING, J.RUNNING],
  [J.FAILED, J.PENDING],
  [J.CANCELLED, J.PENDING],
];
const G = GroupStatus;
const groupAllowed: [GroupStatus, GroupStatus][] = [
  [G.PENDING, G.IN_PROGRESS],
  [G.PENDING, G.CANCELLED],
  [G.PENDING, G.FAILED],
  [G.IN_PROGRESS, G.COMPLETED],
  [G.IN_PROGRESS, G.FAILED],
  [G.IN_PROGRESS, G.CANCELLED],
];
const P = PartStatus;
const partAllowed: [PartStatus, PartStatus][] = [
  [P.PENDING, P.UPLOADING],
  [P.PENDING, P.UPLOADED],
  [P.PENDING, P.FAILED],
  [P.UPLOADING, P.UPLOADED],
  [P.UPLOADING, P.FAILED],
];

describe('FileStatus lifecycle', () => {
  it.each(pairs(Object.values(FileStatus), fileAllowed))('%s → %s allowed: %s', (from, to, allowed) => {
    expect(canTransition(FILE_STATUS_TRANSITIONS, from, to)).toBe(allowed);
  });
  it('FAILED is reachable from every non-final state, DELETED from every state but itself', () => {
    expect(sourcesOf(FILE_STATUS_TRANSITIONS, F.FAILED).sort()).toEqual([F.PENDING_UPLOAD, F.PROCESSING, F.UPLOADED, F.UPLOADING].sort());
    expect(sourcesOf(FILE_STATUS_TRANSITIONS, F.DELETED).sort()).toEqual(
      Object.values(F)
        .filter((s) => s !== F.DELETED)
        .sort(),
    );
  });
});

describe('JobStatus lifecycle', () => {
  it.each(pairs(Object.values(JobStatus), jobAllowed))('%s → %s allowed: %s', (from, to, allowed) => {
    expect(canTransition(JOB_STATUS_TRANSITIONS, from, to)).toBe(allowed);
  });
});

describe('GroupStatus lifecycle', () => {
  it.each(pairs(Object.values(GroupStatus), groupAllowed))('%s → %s allowed: %s', (from, to, allowed) => {
    expect(canTransition(GROUP_STATUS_TRANSITIONS, from, to)).toBe(allowed);
  });
});

describe('lifecycle ends added by the reconciler and the retry route', () => {
  it("a group's expiry ends only an open group (PENDING, IN_PROGRESS → FAILED); a final group never moves again", () => {
    expect(sourcesOf(GROUP_STATUS_TRANSITIONS, G.FAILED).sort()).toEqual([G.IN_PROGRESS, G.PENDING]);
    for (const final of [G.COMPLETED, G.FAILED, G.CANCELLED]) expect(GROUP_STATUS_TRANSITIONS[final]).toEqual([]);
  });
  it('the expiry of a waiting file goes PENDING_UPLOAD | UPLOADING → FAILED, as a single upload expires', () => {
    expect(canTransition(FILE_STATUS_TRANSITIONS, F.PENDING_UPLOAD, F.FAILED)).toBe(true);
    expect(canTransition(FILE_STATUS_TRANSITIONS, F.UPLOADING, F.FAILED)).toBe(true);
  });
  it('purging the bytes of a FAILED file moves no status: FAILED only goes on to DELETED', () => {
    expect(FILE_STATUS_TRANSITIONS[F.FAILED]).toEqual([F.DELETED]);
  });
  it('a manual retry leaves only FAILED or CANCELLED; automatic retries leave RUNNING', () => {
    expect(sourcesOf(JOB_STATUS_TRANSITIONS, J.PENDING).sort()).toEqual([J.CANCELLED, J.FAILED, J.RUNNING]);
    expect(canTransition(JOB_STATUS_TRANSITIONS, J.COMPLETED, J.PENDING)).toBe(false);
  });
});

describe('PartStatus lifecycle', () => {
  it.each(pairs(Object.values(PartStatus), partAllowed))('%s → %s allowed: %s', (from, to, allowed) => {
    expect(canTransition(PART_STATUS_TRANSITIONS, from, to)).toBe(allowed);
  });
});
