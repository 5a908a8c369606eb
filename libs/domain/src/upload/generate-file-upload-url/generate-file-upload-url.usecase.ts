import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { validateCommand } from '../../errors/validate-command';
import { Actor, newUploadToken } from '../../identity/actor';
import { planJobs } from '../../job/plan/plan-jobs';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { FilePart } from '../file-part.entity';
import { partLength, planParts } from '../multipart/part-plan';
import { buildObjectKey } from '../object-key';
import { assertGroupTakesFile, assertMayUpload, assertWithinPolicy } from '../upload-rules';
import { UploadInstructions } from '../upload-instructions';
import { UPLOAD_POLICY, UploadPolicy } from '../upload-policy';
import { UploadSession } from '../upload-session.entity';
import { GenerateFileUploadUrlCommand } from './generate-file-upload-url.command';

/** Part URLs handed out with a new multipart session; more through POST /v1/uploads/:id/parts. */
export const FIRST_PART_URLS = 100;

export interface CreatedUpload {
  session: UploadSession;
  upload: UploadInstructions;
  /** For anonymous callers only: must accompany later calls on this session as X-Upload-Token. Shown once. */
  uploadToken?: string;
}

/**
 * The seed's `generateFileUploadUrl`: validate the request against the upload policy, create the session
 * (PENDING_UPLOAD) with its job plan, and hand out the pre-signed upload instructions: one PUT, or above the
 * multipart threshold (or when asked) a multipart upload in parts of a negotiated size.
 */
@Injectable()
export class GenerateFileUploadUrlUseCase {
  constructor(
    private readonly em: EntityManager,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    @Inject(UPLOAD_POLICY) private readonly policy: UploadPolicy,
  ) {}

  async execute(actor: Actor, input: unknown): Promise<CreatedUpload> {
    const cmd = validateCommand(GenerateFileUploadUrlCommand, input);
    assertMayUpload(actor, this.policy);
    assertWithinPolicy(this.policy, cmd);
    const multipart = cmd.multipart ?? cmd.size > this.policy.multipartThreshold;
    // Checked before anything is created: a part size S3 cannot take is the client's 400.
    const plan = multipart ? planParts(cmd.size, cmd.partSize, this.policy.defaultPartSize) : null;
    if (cmd.groupId) await assertGroupTakesFile(this.em, actor, cmd.groupId);

    const id = randomUUID();
    const token = actor.userId === null ? newUploadToken() : null;
    const session = new UploadSession({
      id,
      bucket: this.storage.bucket,
      objectKey: buildObjectKey(id, cmd.filename),
      filename: cmd.filename,
      contentType: cmd.contentType.toLowerCase(),
      size: cmd.size,
      checksumSha256: cmd.checksumSha256 ?? null,
      groupId: cmd.groupId ?? null,
      userId: actor.userId,
      metadata: cmd.metadata ?? {},
      expiresAt: new Date(Date.now() + this.policy.uploadExpirySeconds * 1000),
      jobPlan: planJobs(cmd.contentType, cmd.jobs, this.policy.defaultJobs),
    });
    session.uploadTokenHash = token?.hash ?? null;
    const tokenPart = token ? { uploadToken: token.token } : {};

    if (!plan) {
      const put = await this.storage.presignPut(session.objectKey, {
        contentType: session.contentType,
        contentLength: cmd.size,
        expiresInSeconds: this.policy.presignedUrlTtlSeconds,
      });
      await this.em.persistAndFlush(session);
      return { session, upload: { strategy: 'SINGLE', method: 'PUT', url: put.url, headers: put.headers, expiresAt: put.expiresAt.toISOString() }, ...tokenPart };
    }

    // multipartUploadInitSchema: the store's multipart upload, its FilePart rows, the first batch of part URLs.
    const { uploadId } = await this.storage.createMultipartUpload(session.objectKey, { contentType: session.contentType });
    session.uploadId = uploadId;
    session.totalParts = plan.totalParts;
    const parts = Array.from({ length: plan.totalParts }, (_, i) => new FilePart({ sessionId: id, partNumber: i + 1, size: partLength(cmd.size, plan, i + 1) }));
    const first = parts.slice(0, FIRST_PART_URLS);
    const urls = await Promise.all(
      first.map((p) => this.storage.presignUploadPart(session.objectKey, uploadId, p.partNumber, { expiresInSeconds: this.policy.presignedUrlTtlSeconds, contentLength: p.size })),
    );
    this.em.persist(session);
    for (const p of parts) this.em.persist(p);
    await this.em.flush();
    return {
      session,
      upload: {
        strategy: 'MULTIPART',
        uploadId,
        partSize: plan.partSize,
        totalParts: plan.totalParts,
        parts: first.map((p, i) => ({ partNumber: p.partNumber, size: p.size, url: urls[i].url })),
        expiresAt: new Date(Date.now() + this.policy.presignedUrlTtlSeconds * 1000).toISOString(),
      },
      ...tokenPart,
    };
  }
}
