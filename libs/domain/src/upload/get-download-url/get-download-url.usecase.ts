import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { JobStatus, JobType } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { JOB_RUNNABLE_SESSION_STATUSES } from '../../job/find-accessible-job';
import { ProcessingJob } from '../../job/processing-job.entity';
import { OBJECT_STORAGE, ObjectStorage, PresignedRequest } from '../../ports/object-storage.port';
import { ApplyStorageEventUseCase, OBJECT_REPLACED } from '../../storage-event/apply-storage-event/apply-storage-event.usecase';
import { findAccessibleSession } from '../get-upload/get-upload.usecase';
import { UPLOAD_POLICY, UploadPolicy } from '../upload-policy';
import { UploadSession } from '../upload-session.entity';
import { GetDownloadUrlQuery } from './get-download-url.query';

/** The thumbnail a session has, from its latest completed THUMBNAIL job; null when it has none. */
export function thumbnailOf(
  jobs: Pick<ProcessingJob, 'type' | 'status' | 'result' | 'finishedAt'>[],
): { key: string; size: number; width: number; height: number; contentType: string } | null {
  const done = jobs
    .filter((j) => j.type === JobType.THUMBNAIL && j.status === JobStatus.COMPLETED && typeof j.result?.key === 'string')
    .sort((a, b) => (b.finishedAt?.getTime() ?? 0) - (a.finishedAt?.getTime() ?? 0))[0];
  if (!done?.result) return null;
  const r = done.result;
  return { key: String(r.key), size: Number(r.size), width: Number(r.width), height: Number(r.height), contentType: String(r.contentType ?? 'image/webp') };
}

/**
 * A pre-signed GET of the stored file (or `variant=thumbnail`: of its thumbnail), once the file is uploaded:
 * UPLOADED, PROCESSING or COMPLETED. Before that, or once FAILED or DELETED, 409; no thumbnail yet, 409.
 * The original is signed only while the store holds the bytes that were announced (its ETag is the recorded
 * one): other bytes are a replacement, applied at once as the storage event would (OBJECT_REPLACED), and a 409.
 */
@Injectable()
export class GetDownloadUrlUseCase {
  constructor(
    private readonly em: EntityManager,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    @Inject(UPLOAD_POLICY) private readonly policy: UploadPolicy,
    private readonly applyStorageEvent: ApplyStorageEventUseCase,
  ) {}

  async execute(actor: Actor, id: string, query: unknown): Promise<PresignedRequest & { variant: string }> {
    const q = validateCommand(GetDownloadUrlQuery, query);
    const session = await findAccessibleSession(this.em, actor, id);
    if (!JOB_RUNNABLE_SESSION_STATUSES.includes(session.status)) {
      throw new DomainError(DomainErrorCode.SESSION_STATE_CONFLICT, `Upload ${id} is ${session.status}: downloads are available once the file is uploaded`);
    }
    const expiresInSeconds = this.policy.presignedUrlTtlSeconds;
    if (q.variant === 'thumbnail') {
      const thumbnail = thumbnailOf(await this.em.find(ProcessingJob, { sessionId: session.id, type: JobType.THUMBNAIL }));
      if (!thumbnail) throw new DomainError(DomainErrorCode.OBJECT_NOT_IN_STORAGE, `Upload ${id} has no thumbnail (yet)`);
      return { variant: 'thumbnail', ...(await this.storage.presignGet(thumbnail.key, { expiresInSeconds, filename: thumbnailName(session) })) };
    }
    const stored = await this.storage.head(session.objectKey);
    if (!stored) throw new DomainError(DomainErrorCode.OBJECT_NOT_IN_STORAGE, `Upload ${id}: its object is no longer in storage`);
    if (session.etag !== null && stored.etag !== session.etag) {
      await this.applyStorageEvent.execute({
        kind: 'created',
        eventName: 'ObjectCreated:Observed',
        source: 'api',
        bucket: session.bucket,
        key: session.objectKey,
        size: stored.size,
        etag: stored.etag,
        sequencer: null,
        eventId: `download:${stored.etag ?? ''}`,
        eventTime: null,
      });
      throw new DomainError(
        DomainErrorCode.SESSION_STATE_CONFLICT,
        `Upload ${id}: ${OBJECT_REPLACED}: the stored object is not the one that was uploaded and validated`,
      );
    }
    return { variant: 'original', ...(await this.storage.presignGet(session.objectKey, { expiresInSeconds, filename: session.filename })) };
  }
}

function thumbnailName(session: UploadSession): string {
  return `${session.filename.replace(/\.[^.]*$/, '')}.thumbnail.webp`;
}
