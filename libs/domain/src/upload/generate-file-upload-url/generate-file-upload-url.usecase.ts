import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { findAccessibleGroup, takeGroupSlot } from '../../group/group-access';
import { Actor, newUploadToken } from '../../identity/actor';
import { jobRequestProblems } from '../../job/plan/job-spec';
import { planJobs } from '../../job/plan/plan-jobs';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { partLength, PartPlan, planParts } from '../multipart/part-plan';
import { buildObjectKey } from '../object-key';
import { assertMayUpload, assertWithinPolicy } from '../upload-rules';
import { UploadInstructions } from '../upload-instructions';
import { UPLOAD_POLICY, UploadPolicy } from '../upload-policy';
import { UploadSession } from '../upload-session.entity';
import { HeldCopy, UploadSessionQueries } from '../upload-session.queries';
import { NewSession, UploadSessionRepository } from '../upload-session.repository';
import { GenerateFileUploadUrlCommand } from './generate-file-upload-url.command';

/** Part URLs handed out with a new multipart session; more through POST /v1/uploads/:id/parts. */
export const FIRST_PART_URLS = 100;

export interface CreatedUpload {
  session: UploadSession;
  upload: UploadInstructions;
  /** For anonymous callers only: must accompany later calls on this session as X-Upload-Token. Shown once. */
  uploadToken?: string;
}

/** A session ready to be stored: its rows, and the instructions the client gets once they are. */
export interface PreparedUpload extends NewSession {
  upload: UploadInstructions;
  /** The command it was prepared from (a reuse that finds no copy left turns into the upload it describes). */
  command: GenerateFileUploadUrlCommand;
  /** A reuse: the caller's stored copies of this content, newest first, to copy from once the session is stored. */
  copyFrom?: HeldCopy[];
}

/** Duplicates copied at once (each copy is one request to the store, or a few for a very large object). */
const CONCURRENT_COPIES = 8;

/** Who a new session belongs to: the caller, or the group it joins (whose owner and upload token it shares). */
export interface SessionOwner {
  userId: string | null;
  uploadTokenHash: string | null;
}

/**
 * The seed's `generateFileUploadUrl`: validate the request against the upload policy, create the session
 * (PENDING_UPLOAD) with its job plan, and hand out the pre-signed upload instructions: one PUT, or above the
 * multipart threshold (or when asked) a multipart upload in parts of a negotiated size.
 *
 * The store's part (signing, CreateMultipartUpload) happens first, outside any transaction; then one
 * statement reserves the quota and stores the session (UploadSessionRepository.insertNew). A session joining a
 * group takes one of the group's slots in the same transaction (409 when the group is full, cancelled or
 * finished) and belongs to the group's owner; in an anonymous group it is reached with the group's upload
 * token, so no token of its own is issued.
 */
@Injectable()
export class GenerateFileUploadUrlUseCase {
  constructor(
    private readonly em: EntityManager,
    private readonly sessions: UploadSessionRepository,
    private readonly queries: UploadSessionQueries,
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
    this.checkPolicy(cmd, actor);

    const groupId = cmd.groupId;
    if (groupId !== undefined) {
      // The group decides the owner; its slot is taken below, in the transaction that stores the session.
      const group = await findAccessibleGroup(this.em, actor, groupId);
      const prepared = await this.prepare(cmd, { userId: group.userId, uploadTokenHash: group.uploadTokenHash }, actor);
      await this.storeOrAbandon([prepared], () =>
        this.em.transactional(async (em) => {
          await takeGroupSlot(em, actor, groupId);
          await this.sessions.insertNew([prepared], em);
        }),
      );
      await this.copyDuplicates([prepared]);
      return { session: prepared.session, upload: prepared.upload };
    }
    const token = actor.userId === null ? newUploadToken() : null;
    const prepared = await this.prepare(cmd, { userId: actor.userId, uploadTokenHash: token?.hash ?? null }, actor);
    await this.storeOrAbandon([prepared], () => this.sessions.insertNew([prepared]));
    await this.copyDuplicates([prepared]);
    return { session: prepared.session, upload: prepared.upload, ...(token ? { uploadToken: token.token } : {}) };
  }

  /** Anonymous callers are refused unless the server allows anonymous uploads. */
  checkCaller(actor: Actor): void {
    assertMayUpload(actor, this.policy);
  }

  /** The configured limits a validated command must also obey (size, type, part size); errors name the field. */
  checkPolicy(cmd: GenerateFileUploadUrlCommand, actor: Actor): void {
    if (cmd.ifExists === 'reuse' && cmd.checksumSha256 === undefined) {
      throw DomainError.invalid([{ field: 'checksumSha256', message: 'is required with ifExists "reuse" (the content is found by its SHA-256)' }]);
    }
    const jobProblems = (cmd.jobs ?? []).flatMap((j, i) => jobRequestProblems(actor.isAdmin, j, `jobs[${i}].`));
    if (jobProblems.length > 0) throw DomainError.invalid(jobProblems);
    assertWithinPolicy(this.policy, cmd);
    this.partPlan(cmd);
  }

  /**
   * The session (and for multipart, the store's multipart upload and the part plan) with its upload
   * instructions, not stored yet. For a command that passed checkPolicy. Talks to the store: call it
   * outside any transaction, then store the result with UploadSessionRepository.insertNew, and `abandon` it
   * if that fails; then `copyDuplicates`.
   *
   * With ifExists "reuse", when the owner is the caller (`actor`) and holds a COMPLETED upload of this content, the
   * session gets nothing to send (strategy NONE) and the copies to take its object from: copyDuplicates copies
   * server-side once the session is stored, so the copy's notification finds it.
   */
  async prepare(cmd: GenerateFileUploadUrlCommand, owner: SessionOwner, actor?: Actor): Promise<PreparedUpload> {
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

    // Only the caller's own uploads are ever copied from: never a group owner's on an admin's behalf, never anyone's for an anonymous caller.
    if (cmd.ifExists === 'reuse' && cmd.checksumSha256 !== undefined && owner.userId !== null && actor?.userId === owner.userId) {
      const held = await this.queries.heldCopies(owner.userId, { checksumSha256: cmd.checksumSha256, size: cmd.size });
      if (held.length > 0) return { session, command: cmd, copyFrom: held, upload: { strategy: 'NONE', reason: 'DUPLICATE', duplicateOf: held[0].id } };
    }
    return { session, command: cmd, ...(await this.instructions(session, cmd)) };
  }

  /**
   * After the sessions are stored: the object of each reuse, copied server-side from the newest stored copy that is
   * still there unchanged (pinned to its ETag). When none is (deleted or replaced since the lookup), the session
   * becomes the plain upload its command describes and the client sends the bytes after all.
   */
  async copyDuplicates(prepared: PreparedUpload[]): Promise<void> {
    const todo = prepared.filter((p) => p.copyFrom !== undefined);
    for (let i = 0; i < todo.length; i += CONCURRENT_COPIES) {
      await Promise.all(todo.slice(i, i + CONCURRENT_COPIES).map((p) => this.copyOrUpload(p)));
    }
  }

  private async copyOrUpload(p: PreparedUpload): Promise<void> {
    const { session } = p;
    for (const source of p.copyFrom ?? []) {
      const outcome = await this.storage.copy(source.objectKey, session.objectKey, {
        size: session.size!,
        contentType: session.contentType,
        ifMatch: source.etag,
      });
      if (outcome === 'copied') {
        p.upload = { strategy: 'NONE', reason: 'DUPLICATE', duplicateOf: source.id };
        return;
      }
    }
    const { upload } = await this.instructions(session, p.command);
    if (session.uploadId !== null && !(await this.sessions.startMultipartInstead(session))) {
      await this.storage.abortMultipartUpload(session.objectKey, session.uploadId).catch(() => undefined);
      throw new DomainError(DomainErrorCode.SESSION_STATE_CONFLICT, `upload ${session.id} ended before its bytes could be asked for`);
    }
    p.upload = upload;
    delete p.copyFrom;
  }

  /** How the client sends the bytes of a new session: a signed PUT, or a multipart upload created in the store. */
  private async instructions(session: UploadSession, cmd: GenerateFileUploadUrlCommand): Promise<{ upload: UploadInstructions }> {
    const plan = this.partPlan(cmd);
    if (!plan) {
      const put = await this.storage.presignPut(session.objectKey, {
        contentType: session.contentType,
        contentLength: cmd.size,
        expiresInSeconds: this.policy.presignedUrlTtlSeconds,
      });
      return { upload: { strategy: 'SINGLE', method: 'PUT', url: put.url, headers: put.headers, expiresAt: put.expiresAt.toISOString() } };
    }

    // A multipart upload (multipartUploadInitSchema): the store's multipart upload, its part plan, the first batch of
    // part URLs. No part rows: each appears once the store reports the part (issue 16, MEDIUM 4).
    const { uploadId } = await this.storage.createMultipartUpload(session.objectKey, { contentType: session.contentType });
    session.uploadId = uploadId;
    session.totalParts = plan.totalParts;
    session.partSize = plan.partSize;
    const first = Array.from({ length: Math.min(plan.totalParts, FIRST_PART_URLS) }, (_, i) => ({
      partNumber: i + 1,
      size: partLength(cmd.size, plan, i + 1),
    }));
    const urls = await Promise.all(
      first.map((p) =>
        this.storage.presignUploadPart(session.objectKey, uploadId, p.partNumber, {
          expiresInSeconds: this.policy.presignedUrlTtlSeconds,
          contentLength: p.size,
        }),
      ),
    ).catch(async (e: unknown) => {
      await this.storage.abortMultipartUpload(session.objectKey, uploadId).catch(() => undefined);
      throw e;
    });
    return {
      upload: {
        strategy: 'MULTIPART',
        uploadId,
        partSize: plan.partSize,
        totalParts: plan.totalParts,
        parts: first.map((p, i) => ({ partNumber: p.partNumber, size: p.size, url: urls[i].url })),
        expiresAt: new Date(Date.now() + this.policy.presignedUrlTtlSeconds * 1000).toISOString(),
      },
    };
  }

  /** Stores prepared uploads with `store`; when that fails, nothing was recorded, so nothing stays in the store either. */
  async storeOrAbandon(prepared: PreparedUpload[], store: () => Promise<unknown>): Promise<void> {
    try {
      await store();
    } catch (e) {
      await this.abandon(prepared);
      throw e;
    }
  }

  /** Aborts the store's multipart uploads of prepared uploads that will not be stored (best effort). */
  async abandon(prepared: PreparedUpload[]): Promise<void> {
    await Promise.all(
      prepared
        .filter((p) => p.session.uploadId !== null)
        .map((p) => this.storage.abortMultipartUpload(p.session.objectKey, p.session.uploadId!).catch(() => undefined)),
    );
  }

  /** The store round trips and parts (planned, not stored) creating this upload costs (for a command that passed checkPolicy). */
  workOf(cmd: GenerateFileUploadUrlCommand): { multipartUploads: number; parts: number } {
    const plan = this.partPlan(cmd);
    return { multipartUploads: plan ? 1 : 0, parts: plan?.totalParts ?? 0 };
  }

  /** Multipart above the threshold or when asked; a part size S3 cannot take is the client's 400. */
  private partPlan(cmd: GenerateFileUploadUrlCommand): PartPlan | null {
    const multipart = cmd.multipart ?? cmd.size > this.policy.multipartThreshold;
    return multipart ? planParts(cmd.size, cmd.partSize, this.policy.defaultPartSize) : null;
  }
}
