import { CreatedUpload, JobSummary, SessionSummary, thumbnailOf, UploadDetails, UploadParts } from '@app/domain';

/** The public JSON of a session (never the token hash, never the job plan's internals). */
export function presentSession(s: SessionSummary) {
  return {
    id: s.id,
    groupId: s.groupId,
    userId: s.userId,
    bucket: s.bucket,
    objectKey: s.objectKey,
    uploadId: s.uploadId,
    status: s.status,
    filename: s.filename,
    contentType: s.contentType,
    size: s.size,
    checksumSha256: s.checksumSha256,
    sha256: s.sha256,
    md5: s.md5,
    etag: s.etag,
    error: s.error,
    errorMessage: s.errorMessage,
    metadata: s.metadata,
    totalParts: s.totalParts,
    completedParts: s.completedParts,
    uploadedAt: s.uploadedAt,
    expiresAt: s.expiresAt,
    objectDeletedAt: s.objectDeletedAt,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

export function presentJob(j: JobSummary) {
  return {
    id: j.id,
    sessionId: j.sessionId,
    type: j.type,
    status: j.status,
    priority: j.priority,
    required: j.required,
    config: j.config,
    result: j.result,
    error: j.error,
    attempts: j.attempts,
    maxAttempts: j.maxAttempts,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    runAfter: j.runAfter,
  };
}

export function presentCreated(c: CreatedUpload) {
  return {
    ...presentSession(c.session),
    jobs: c.session.jobPlan.map((j) => ({ type: j.type, priority: j.priority, maxAttempts: j.maxAttempts, required: j.required })),
    upload: c.upload,
    ...(c.uploadToken ? { uploadToken: c.uploadToken } : {}),
  };
}

export function presentDetails(d: UploadDetails) {
  const thumbnail = thumbnailOf(d.jobs);
  return {
    ...presentSession(d.session),
    parts: d.parts,
    jobs: d.jobs.map(presentJob),
    // Fetch it with GET /v1/uploads/:id/download?variant=thumbnail.
    thumbnail: thumbnail && { key: thumbnail.key, size: thumbnail.size, width: thumbnail.width, height: thumbnail.height, contentType: thumbnail.contentType },
  };
}

export function presentParts(p: UploadParts) {
  return {
    sessionId: p.session.id,
    uploadId: p.session.uploadId,
    status: p.session.status,
    totalParts: p.session.totalParts,
    completedParts: p.session.completedParts,
    parts: p.parts.map((x) => ({ partNumber: x.partNumber, etag: x.etag, size: x.size, lastModified: x.lastModified })),
    missingPartNumbers: p.missingPartNumbers,
  };
}
