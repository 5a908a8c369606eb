import { DefaultJobsRule } from '../job/plan/plan-jobs';

/**
 * The configured rules uploads obey: the one definition, which the gateway's config (libs/config `GatewayConfig.uploads`)
 * fills from the environment.
 */
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
  /** The most a group may ask for (`expiresInSeconds`). */
  maxGroupExpirySeconds: number;
}

export const UPLOAD_POLICY = Symbol('UploadPolicy');
