import { DefaultJobsRule } from '../job/plan/plan-jobs';

/** The configured rules uploads obey (from the gateway's config). */
export interface UploadPolicy {
  presignedUrlTtlSeconds: number;
  uploadExpirySeconds: number;
  maxFileSize: number;
  multipartThreshold: number;
  defaultPartSize: number;
  /** type/subtype patterns; `image/*` and `*\/*` wildcards. */
  allowedContentTypes: string[];
  defaultJobs: DefaultJobsRule[];
  anonymousUploads: boolean;
  /** Bytes per user (StorageQuota); 0 = unlimited. */
  userQuotaBytes: number;
  /** Most files (totalFiles) one upload group may have. */
  maxFilesPerGroup: number;
  /** Seconds a new group has to receive its files, unless it asks for its own (at most maxGroupExpirySeconds). */
  groupExpirySeconds: number;
  maxGroupExpirySeconds: number;
}

export const UPLOAD_POLICY = Symbol('UploadPolicy');
