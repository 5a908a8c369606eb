import { FileStatus, GroupStatus, JobStatus, PartStatus } from '@app/contracts';

/**
 * The four lifecycles of the seed, each one table: from a status, the statuses it may move to.
 * Every status write goes through LifecycleWriter, which checks these tables and writes compare-and-set.
 */
export const FILE_STATUS_TRANSITIONS: Readonly<Record<FileStatus, readonly FileStatus[]>> = {
  // A single PUT goes straight to UPLOADED: nothing marks its start.
  [FileStatus.PENDING_UPLOAD]: [FileStatus.UPLOADING, FileStatus.UPLOADED, FileStatus.FAILED, FileStatus.DELETED],
  [FileStatus.UPLOADING]: [FileStatus.UPLOADED, FileStatus.FAILED, FileStatus.DELETED],
  [FileStatus.UPLOADED]: [FileStatus.PROCESSING, FileStatus.FAILED, FileStatus.DELETED],
  [FileStatus.PROCESSING]: [FileStatus.COMPLETED, FileStatus.FAILED, FileStatus.DELETED],
  [FileStatus.COMPLETED]: [FileStatus.DELETED],
  // The reconciler deleting a FAILED file's bytes (object_deleted_at) is a fact of the final status, not a transition.
  [FileStatus.FAILED]: [FileStatus.DELETED],
  [FileStatus.DELETED]: [],
};

export const JOB_STATUS_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  [JobStatus.PENDING]: [JobStatus.RUNNING, JobStatus.CANCELLED],
  // RUNNING → PENDING is a retry (attempts < maxAttempts); RUNNING → RUNNING is a take-over of an expired lease.
  [JobStatus.RUNNING]: [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PENDING, JobStatus.RUNNING],
  [JobStatus.COMPLETED]: [],
  // FAILED and CANCELLED jobs may be retried by hand (POST /v1/jobs/:id/retry): attempts keep counting, maxAttempts grows.
  [JobStatus.FAILED]: [JobStatus.PENDING],
  [JobStatus.CANCELLED]: [JobStatus.PENDING],
};

export const GROUP_STATUS_TRANSITIONS: Readonly<Record<GroupStatus, readonly GroupStatus[]>> = {
  // → FAILED: a file failed and every file is final, or the group expired still waiting for files (error EXPIRED).
  // → CANCELLED: asked for by the caller. Only an open group (PENDING, IN_PROGRESS) ends.
  [GroupStatus.PENDING]: [GroupStatus.IN_PROGRESS, GroupStatus.CANCELLED, GroupStatus.FAILED],
  [GroupStatus.IN_PROGRESS]: [GroupStatus.COMPLETED, GroupStatus.FAILED, GroupStatus.CANCELLED],
  [GroupStatus.COMPLETED]: [],
  [GroupStatus.FAILED]: [],
  [GroupStatus.CANCELLED]: [],
};

export const PART_STATUS_TRANSITIONS: Readonly<Record<PartStatus, readonly PartStatus[]>> = {
  [PartStatus.PENDING]: [PartStatus.UPLOADING, PartStatus.UPLOADED, PartStatus.FAILED],
  [PartStatus.UPLOADING]: [PartStatus.UPLOADED, PartStatus.FAILED],
  [PartStatus.UPLOADED]: [],
  [PartStatus.FAILED]: [],
};

export const FINAL_FILE_STATUSES: readonly FileStatus[] = [FileStatus.COMPLETED, FileStatus.FAILED, FileStatus.DELETED];
export const FINAL_JOB_STATUSES: readonly JobStatus[] = [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED];
export const FINAL_GROUP_STATUSES: readonly GroupStatus[] = [GroupStatus.COMPLETED, GroupStatus.FAILED, GroupStatus.CANCELLED];

export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

export function canTransition<S extends string>(table: TransitionTable<S>, from: S, to: S): boolean {
  return (table[from] as readonly S[]).includes(to);
}

/** Every status that may move to `to` (the precondition of a compare-and-set). */
export function sourcesOf<S extends string>(table: TransitionTable<S>, to: S): S[] {
  return (Object.keys(table) as S[]).filter((from) => canTransition(table, from, to));
}
