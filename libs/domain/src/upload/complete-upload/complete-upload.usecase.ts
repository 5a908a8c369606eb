import { Inject, Injectable } from '@nestjs/common';
import { FileStatus } from '@app/contracts';
import { DomainError, DomainErrorCode, FieldProblem } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { OBJECT_STORAGE, ObjectStorage, StoredPart } from '../../ports/object-storage.port';
import { isExpired, partRange, uploadExpired } from '../multipart/multipart-parts';
import type { SessionRef } from '../session-ref';
import { UPLOAD_POLICY, UploadPolicy } from '../upload-policy';
import { unsizedCeiling } from '../upload-rules';
import type { UploadSession } from '../upload-session.entity';
import { CompleteUploadCommand } from './complete-upload.command';
import { UPLOAD_COMPLETIONS, UploadCompletions } from './upload-completions.port';

const unquote = (etag: string) => etag.replace(/^"+|"+$/g, '');

/**
 * `multipartUploadCompleteSchema`: completes a multipart upload in the store from the parts the store holds
 * (a part list from the client is checked against them, never trusted), or, for a single PUT, confirms the
 * object is there. Either way the session then moves exactly as the store's notification would move it
 * (same use case), so a lost notification does not strand it. Idempotent: a second call, or one after the
 * notification, returns the session as it is. Past the session's `expiresAt` a multipart upload is not completed
 * (410 UPLOAD_EXPIRED) unless the store already holds its object.
 */
@Injectable()
export class CompleteUploadUseCase {
  constructor(
    @Inject(UPLOAD_COMPLETIONS) private readonly completions: UploadCompletions,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    @Inject(UPLOAD_POLICY) private readonly policy: UploadPolicy,
  ) {}

  async execute(actor: Actor, ref: SessionRef, input: unknown): Promise<UploadSession> {
    const cmd = validateCommand(CompleteUploadCommand, input);
    const session = await this.completions.find(actor, ref);
    switch (session.status) {
      case FileStatus.UPLOADED:
      case FileStatus.PROCESSING:
      case FileStatus.COMPLETED:
        return session;
      case FileStatus.FAILED:
      case FileStatus.DELETED:
        throw new DomainError(
          DomainErrorCode.SESSION_STATE_CONFLICT,
          `Upload ${session.id} is ${session.status}${session.error ? ` (${session.error})` : ''} and cannot be completed`,
        );
      case FileStatus.PENDING_UPLOAD:
      case FileStatus.UPLOADING:
        break;
    }
    if (session.uploadId === null) {
      if (cmd.parts !== undefined) throw DomainError.invalid([{ field: 'parts', message: 'a single-PUT upload has no parts' }]);
      const stored = await this.storage.head(session.objectKey);
      if (!stored && isExpired(session)) throw uploadExpired(session);
      if (!stored) throw new DomainError(DomainErrorCode.OBJECT_NOT_IN_STORAGE, `Upload ${session.id}: the store holds no object yet; PUT it first`);
      return this.completions.objectSeen(session, stored);
    }
    if (isExpired(session)) {
      // Not completed after its expiry (the reconciler aborts it); one the store already assembled is taken.
      const object = await this.storage.head(session.objectKey);
      if (object) return this.completions.objectSeen(session, object);
      throw uploadExpired(session);
    }

    const stored = await this.storage.listParts(session.objectKey, session.uploadId);
    if (stored === null) {
      // Completed by an earlier call whose session change has not happened yet, or aborted in the store.
      const object = await this.storage.head(session.objectKey);
      if (object) return this.completions.objectSeen(session, object);
      throw new DomainError(DomainErrorCode.SESSION_STATE_CONFLICT, `Upload ${session.id}: the store knows no multipart upload ${session.uploadId}`);
    }
    await this.completions.reconcileParts(session, stored);
    const chosen = this.choose(session, stored, cmd);
    const total = chosen.reduce((n, p) => n + p.size, 0);
    if (session.size !== null && total !== session.size) {
      throw new DomainError(DomainErrorCode.SESSION_STATE_CONFLICT, `Upload ${session.id}: the parts hold ${total} bytes, ${session.size} were declared`, [
        { field: 'parts', message: `hold ${total} bytes; ${session.size} were declared` },
      ]);
    }
    // A size nobody declared was reserved at its ceiling (MAX_FILE_SIZE, or the whole quota when that is smaller).
    const most = session.size === null ? unsizedCeiling(this.policy, session.userId) : this.policy.maxFileSize;
    if (total > most) {
      throw new DomainError(DomainErrorCode.FILE_TOO_LARGE, `Upload ${session.id}: ${total} bytes; at most ${most} are allowed`, [
        { field: 'parts', message: `hold ${total} bytes; at most ${most} are allowed` },
      ]);
    }
    if (session.size === null || session.totalParts === 0) {
      // The client chose its parts (Uppy): the size and part count are known from now on, before the store's
      // notification, and the quota it reserved settles to that size.
      await this.completions.recordPartPlan(session.id, total, chosen.length);
    }
    const object =
      (await this.storage.completeMultipartUpload(
        session.objectKey,
        session.uploadId,
        chosen.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
      )) ??
      // A concurrent call completed it first.
      (await this.storage.head(session.objectKey));
    if (!object) throw new DomainError(DomainErrorCode.SESSION_STATE_CONFLICT, `Upload ${session.id}: the store knows no multipart upload ${session.uploadId}`);
    return this.completions.objectSeen(session, object);
  }

  /** The parts to complete with: all of 1..totalParts where the plan is ours, the client's list where it chose. */
  private choose(session: UploadSession, stored: StoredPart[], cmd: CompleteUploadCommand): StoredPart[] {
    const held = new Map(stored.map((p) => [p.partNumber, p]));
    const problems: FieldProblem[] = [];
    (cmd.parts ?? []).forEach((p, i) => {
      const s = held.get(p.partNumber);
      if (p.partNumber > partRange(session)) problems.push({ field: `parts[${i}].partNumber`, message: `must be within 1..${partRange(session)}` });
      else if (!s) problems.push({ field: `parts[${i}].partNumber`, message: `part ${p.partNumber} is not in storage` });
      else if (unquote(p.etag) !== s.etag) problems.push({ field: `parts[${i}].etag`, message: `does not match the stored part ${p.partNumber}` });
    });
    if (problems.length > 0) throw DomainError.invalid(problems);

    if (session.totalParts > 0) {
      const missing = Array.from({ length: session.totalParts }, (_, i) => i + 1).filter((n) => !held.has(n));
      if (missing.length > 0) {
        throw new DomainError(DomainErrorCode.SESSION_STATE_CONFLICT, `Upload ${session.id}: parts ${missing.join(', ')} are not in storage yet`, [
          { field: 'parts', message: `missing in storage: ${missing.join(', ')}` },
        ]);
      }
      return Array.from({ length: session.totalParts }, (_, i) => held.get(i + 1)!);
    }
    if (!cmd.parts || cmd.parts.length === 0) throw DomainError.invalid([{ field: 'parts', message: 'must list the parts to complete with' }]);
    const numbers = [...new Set(cmd.parts.map((p) => p.partNumber))].sort((a, b) => a - b);
    return numbers.map((n) => held.get(n)!);
  }
}
