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
  /** Most files (totalFiles) one upload group may have. */
  maxFilesPerGroup: number;
}

export const UPLOAD_POLICY = Symbol('UploadPolicy');
