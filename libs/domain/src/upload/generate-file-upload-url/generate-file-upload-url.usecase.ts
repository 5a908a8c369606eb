import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { UploadGroup } from '../../group/upload-group.entity';
import { Actor, canAccess, newUploadToken } from '../../identity/actor';
import { contentTypeMatches, planJobs } from '../../job/plan/plan-jobs';
import { FINAL_GROUP_STATUSES } from '../../lifecycle/transitions';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { buildObjectKey } from '../object-key';
import { UploadInstructions } from '../upload-instructions';
import { UPLOAD_POLICY, UploadPolicy } from '../upload-policy';
import { UploadSession } from '../upload-session.entity';
import { GenerateFileUploadUrlCommand } from './generate-file-upload-url.command';

export interface CreatedUpload {
  session: UploadSession;
  upload: UploadInstructions;
  /** For anonymous callers only: must accompany later calls on this session as X-Upload-Token. Shown once. */
  uploadToken?: string;
}

/**
 * The seed's `generateFileUploadUrl`: validate the request against the upload policy, create the session
 * (PENDING_UPLOAD) with its job plan, and hand out the pre-signed upload instructions.
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
    if (actor.userId === null && !actor.isAdmin && !this.policy.anonymousUploads) {
      throw new DomainError(DomainErrorCode.UNAUTHENTICATED, 'Anonymous uploads are disabled: send Authorization: Bearer <token>');
    }
    this.checkPolicy(cmd);
    if (cmd.multipart === true || cmd.size > this.policy.multipartThreshold) {
      throw DomainError.invalid([{ field: 'multipart', message: `multipart uploads are not enabled on this server; files up to ${this.policy.multipartThreshold} bytes go up in one PUT` }]);
    }
    if (cmd.groupId) await this.checkGroup(actor, cmd.groupId);

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

    const put = await this.storage.presignPut(session.objectKey, {
      contentType: session.contentType,
      contentLength: session.size,
      expiresInSeconds: this.policy.presignedUrlTtlSeconds,
    });
    // The flush reserves the owner's storage quota in the same transaction (StorageQuota), or fails QUOTA_EXCEEDED.
    await this.em.persistAndFlush(session);
    return {
      session,
      upload: { strategy: 'SINGLE', method: 'PUT', url: put.url, headers: put.headers, expiresAt: put.expiresAt.toISOString() },
      ...(token ? { uploadToken: token.token } : {}),
    };
  }

  private checkPolicy(cmd: GenerateFileUploadUrlCommand): void {
    if (cmd.size > this.policy.maxFileSize) {
      throw new DomainError(DomainErrorCode.FILE_TOO_LARGE, `size: at most ${this.policy.maxFileSize} bytes are allowed`, [
        { field: 'size', message: `must not exceed ${this.policy.maxFileSize} bytes` },
      ]);
    }
    if (!this.policy.allowedContentTypes.some((p) => contentTypeMatches(p, cmd.contentType))) {
      throw new DomainError(DomainErrorCode.CONTENT_TYPE_NOT_ALLOWED, `contentType: ${cmd.contentType} is not allowed`, [
        { field: 'contentType', message: `must be one of ${this.policy.allowedContentTypes.join(', ')}` },
      ]);
    }
  }

  private async checkGroup(actor: Actor, groupId: string): Promise<void> {
    const group = await this.em.findOne(UploadGroup, groupId);
    if (!group || !canAccess(actor, group)) throw new DomainError(DomainErrorCode.GROUP_NOT_FOUND, `Group ${groupId} not found`);
    if (FINAL_GROUP_STATUSES.includes(group.status)) {
      throw new DomainError(DomainErrorCode.GROUP_STATE_CONFLICT, `Group ${groupId} is ${group.status} and takes no more files`);
    }
    const files = await this.em.count(UploadSession, { groupId });
    if (files >= group.totalFiles) throw new DomainError(DomainErrorCode.GROUP_STATE_CONFLICT, `Group ${groupId} already has its ${group.totalFiles} files`);
  }
}
