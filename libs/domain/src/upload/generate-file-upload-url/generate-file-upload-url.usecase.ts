import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { takeGroupSlot } from '../../group/group-access';
import { Actor, newUploadToken } from '../../identity/actor';
import { contentTypeMatches, planJobs } from '../../job/plan/plan-jobs';
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

/** Who a new session belongs to: the caller, or the group it joins (whose owner and upload token it shares). */
export interface SessionOwner {
  userId: string | null;
  uploadTokenHash: string | null;
}

/**
 * The seed's `generateFileUploadUrl`: validate the request against the upload policy, create the session
 * (PENDING_UPLOAD) with its job plan, and hand out the pre-signed upload instructions.
 *
 * A session joining a group takes one of the group's slots in the same transaction (409 when the group is
 * full, cancelled or finished) and belongs to the group's owner; in an anonymous group it is reached with
 * the group's upload token, so no token of its own is issued.
 */
@Injectable()
export class GenerateFileUploadUrlUseCase {
  constructor(
    private readonly em: EntityManager,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    @Inject(UPLOAD_POLICY) private readonly policy: UploadPolicy,
  ) {}

  /** `opts.groupId`: the group named by the route (POST /v1/groups/:id/uploads); a different body groupId is refused. */
  async execute(actor: Actor, input: unknown, opts: { groupId?: string } = {}): Promise<CreatedUpload> {
    const cmd = validateCommand(GenerateFileUploadUrlCommand, input);
    if (opts.groupId !== undefined) {
      if (cmd.groupId !== undefined && cmd.groupId !== opts.groupId) {
        throw DomainError.invalid([{ field: 'groupId', message: 'must be the group of the route, or absent' }]);
      }
      cmd.groupId = opts.groupId;
    }
    this.checkCaller(actor);
    this.checkPolicy(cmd);

    return this.em.transactional(async (em) => {
      if (cmd.groupId) {
        const group = await takeGroupSlot(em, actor, cmd.groupId);
        const prepared = await this.prepare(cmd, { userId: group.userId, uploadTokenHash: group.uploadTokenHash });
        em.persist(prepared.session);
        return prepared;
      }
      const token = actor.userId === null ? newUploadToken() : null;
      const prepared = await this.prepare(cmd, { userId: actor.userId, uploadTokenHash: token?.hash ?? null });
      em.persist(prepared.session);
      return { ...prepared, ...(token ? { uploadToken: token.token } : {}) };
    });
  }

  /** Anonymous callers are refused unless the server allows anonymous uploads. */
  checkCaller(actor: Actor): void {
    if (actor.userId === null && !actor.isAdmin && !this.policy.anonymousUploads) {
      throw new DomainError(DomainErrorCode.UNAUTHENTICATED, 'Anonymous uploads are disabled: send Authorization: Bearer <token>');
    }
  }

  /** The configured limits a validated command must also obey; the error's details name the offending field. */
  checkPolicy(cmd: GenerateFileUploadUrlCommand): void {
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
    if (cmd.multipart === true || cmd.size > this.policy.multipartThreshold) {
      throw DomainError.invalid([{ field: 'multipart', message: `multipart uploads are not enabled on this server; files up to ${this.policy.multipartThreshold} bytes go up in one PUT` }]);
    }
  }

  /**
   * Builds the session (not yet persisted) and its upload instructions for a command that passed
   * checkPolicy. The caller persists the session in its transaction.
   */
  async prepare(cmd: GenerateFileUploadUrlCommand, owner: SessionOwner): Promise<CreatedUpload> {
    const id = randomUUID();
    const session = new UploadSession({
      id,
      bucket: this.storage.bucket,
      objectKey: buildObjectKey(id, cmd.filename),
      filename: cmd.filename,
      contentType: cmd.contentType.toLowerCase(),
      size: cmd.size,
      checksumSha256: cmd.checksumSha256 ?? null,
      groupId: cmd.groupId ?? null,
      userId: owner.userId,
      metadata: cmd.metadata ?? {},
      expiresAt: new Date(Date.now() + this.policy.uploadExpirySeconds * 1000),
      jobPlan: planJobs(cmd.contentType, cmd.jobs, this.policy.defaultJobs),
    });
    session.uploadTokenHash = owner.uploadTokenHash;

    const put = await this.storage.presignPut(session.objectKey, {
      contentType: session.contentType,
      contentLength: session.size,
      expiresInSeconds: this.policy.presignedUrlTtlSeconds,
    });
    return { session, upload: { strategy: 'SINGLE', method: 'PUT', url: put.url, headers: put.headers, expiresAt: put.expiresAt.toISOString() } };
  }
}
