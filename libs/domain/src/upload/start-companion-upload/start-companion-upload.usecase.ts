import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor, hashUploadToken } from '../../identity/actor';
import { planJobs } from '../../job/plan/plan-jobs';
import { OBJECT_STORAGE, ObjectStorage, PresignedPost } from '../../ports/object-storage.port';
import { buildObjectKey } from '../object-key';
import { UPLOAD_POLICY, UploadPolicy } from '../upload-policy';
import { assertMayUpload, assertWithinPolicy, unsizedCeiling } from '../upload-rules';
import { UploadSession } from '../upload-session.entity';
import { UploadSessionRepository } from '../upload-session.repository';
import { StartCompanionUploadCommand } from './start-companion-upload.command';

/** An upload token an anonymous Uppy page chose itself must be as hard to guess as one we issue. */
const STRONG_TOKEN = /^[A-Za-z0-9_-]{32,200}$/;
const UPPY_META_SKIPPED = new Set(['name', 'type', 'relativepath']);

export type StartedCompanionUpload =
  { strategy: 'SINGLE'; session: UploadSession; post: PresignedPost } | { strategy: 'MULTIPART'; session: UploadSession; uploadId: string };

/**
 * Starts an upload the way Uppy's S3 plugin asks (Companion's S3 contract): a session like any other, with
 * a POST-policy form for one request (`GET /s3/params`) or a store multipart upload whose part size the
 * client picks (`POST /s3/multipart`). Uppy sends no extra headers, so an anonymous page proves itself
 * with the upload token it presents (X-Upload-Token or the upload_token cookie); the session is bound to it.
 */
@Injectable()
export class StartCompanionUploadUseCase {
  constructor(
    private readonly sessions: UploadSessionRepository,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    @Inject(UPLOAD_POLICY) private readonly policy: UploadPolicy,
  ) {}

  async execute(actor: Actor, input: unknown, strategy: 'SINGLE' | 'MULTIPART'): Promise<StartedCompanionUpload> {
    const cmd = validateCommand(StartCompanionUploadCommand, input);
    assertMayUpload(actor, this.policy);
    let tokenHash: string | null = null;
    if (actor.userId === null && !actor.isAdmin) {
      if (actor.uploadToken === null || !STRONG_TOKEN.test(actor.uploadToken)) {
        throw new DomainError(
          DomainErrorCode.UNAUTHENTICATED,
          'Anonymous Uppy uploads need an upload token of 32+ URL-safe characters, as X-Upload-Token or the upload_token cookie (the /demo page sets one)',
        );
      }
      tokenHash = hashUploadToken(actor.uploadToken);
    }
    const contentType = cmd.type.toLowerCase();
    try {
      assertWithinPolicy(this.policy, { contentType });
    } catch (e) {
      // Uppy calls the field `type`.
      if (e instanceof DomainError)
        throw new DomainError(
          e.code,
          e.message.replace(/^contentType/, 'type'),
          e.details?.map((d) => ({ ...d, field: 'type' })),
        );
      throw e;
    }

    const id = randomUUID();
    const session = new UploadSession({
      id,
      bucket: this.storage.bucket,
      objectKey: buildObjectKey(id, cmd.filename),
      filename: cmd.filename,
      contentType,
      size: null,
      userId: actor.userId,
      metadata: s3Metadata(cmd.metadata ?? {}),
      expiresAt: new Date(Date.now() + this.policy.uploadExpirySeconds * 1000),
      jobPlan: planJobs(contentType, undefined, this.policy.defaultJobs),
    });
    session.uploadTokenHash = tokenHash;

    if (strategy === 'SINGLE') {
      const post = await this.storage.presignPost(session.objectKey, {
        contentType,
        minBytes: 1,
        // What the session reserves of its owner's quota is the most the form accepts.
        maxBytes: Math.min(unsizedCeiling(this.policy, actor.userId), 5 * 1024 ** 3),
        expiresInSeconds: this.policy.presignedUrlTtlSeconds,
      });
      await this.sessions.insertNew([{ session }]);
      return { strategy, session, post };
    }
    const { uploadId } = await this.storage.createMultipartUpload(session.objectKey, { contentType });
    session.uploadId = uploadId;
    await this.sessions.insertNew([{ session }]).catch(async (e: unknown) => {
      await this.storage.abortMultipartUpload(session.objectKey, uploadId).catch(() => undefined);
      throw e;
    });
    return { strategy, session, uploadId };
  }
}

/** Uppy's meta as S3-safe metadata: token-like keys, short printable ASCII values; the rest is dropped. */
function s3Metadata(meta: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [k, v] of Object.entries(meta)) {
    if (Object.keys(out).length >= 20 || UPPY_META_SKIPPED.has(k.toLowerCase())) continue;
    if (!/^[a-z0-9_-]{1,64}$/.test(k) || typeof v !== 'string' || !/^[\x20-\x7e]{0,256}$/.test(v)) continue;
    if ((bytes += k.length + v.length) > 2048) break;
    out[k] = v;
  }
  return out;
}
