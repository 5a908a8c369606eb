import { CreatedGroup, GroupView } from '@app/domain';
import { presentCreated } from '../uploads/upload.presenter';

/** The public JSON of a group: status, counters and byte progress (never the token hash). */
export function presentGroup(v: GroupView) {
  const g = v.group;
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    userId: g.userId,
    status: g.status,
    totalFiles: g.totalFiles,
    /** Files added so far (at most totalFiles). */
    fileCount: g.fileCount,
    completedFiles: g.completedFiles,
    failedFiles: g.failedFiles,
    /** Why a FAILED group ended, when its files are not the reason (EXPIRED); null otherwise. */
    error: g.error,
    expiresAt: g.expiresAt,
    bytesExpected: v.bytesExpected,
    bytesUploaded: v.bytesUploaded,
    createdAt: g.createdAt,
    updatedAt: g.updatedAt,
  };
}

/** A new group with its sessions and their upload instructions; an anonymous caller's one token for all of them. */
export function presentCreatedGroup(c: CreatedGroup) {
  return {
    ...presentGroup(c.view),
    uploads: c.uploads.map(presentCreated),
    ...(c.uploadToken ? { uploadToken: c.uploadToken } : {}),
  };
}
