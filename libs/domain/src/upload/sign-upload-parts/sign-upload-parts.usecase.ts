import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { assertTakingParts, plannedPartLength, signableParts } from '../multipart/multipart-parts';
import { resolveSession, SessionRef } from '../session-ref';
import { UPLOAD_POLICY, UploadPolicy } from '../upload-policy';
import { SignUploadPartsCommand } from './sign-upload-parts.command';

export interface SignedParts {
  uploadId: string;
  /** `size` is the exact length the URL signs; absent when the client chooses its part size (Uppy). */
  parts: { partNumber: number; url: string; size?: number }[];
  expiresAt: Date;
}

/**
 * Fresh pre-signed UploadPart URLs for any parts of a multipart session still taking parts (resume after a
 * reload, expired URLs). Where the part size was negotiated, each URL signs the part's exact length (computed from
 * the session's part plan, no row read), so the store refuses a part of another size. Signing creates no part rows
 * (they appear once the store reports the part); rows that already exist and wait (sessions created before part
 * rows were lazy) become UPLOADING.
 */
@Injectable()
export class SignUploadPartsUseCase {
  constructor(
    private readonly em: EntityManager,
    private readonly lifecycle: LifecycleWriter,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    @Inject(UPLOAD_POLICY) private readonly policy: UploadPolicy,
  ) {}

  async execute(actor: Actor, ref: SessionRef, input: unknown): Promise<SignedParts> {
    const cmd = validateCommand(SignUploadPartsCommand, input);
    const session = await resolveSession(this.em, actor, ref);
    assertTakingParts(session);
    const last = signableParts(session, this.policy);
    const outside = cmd.partNumbers.filter((n) => n > last);
    if (outside.length > 0) throw DomainError.invalid([{ field: 'partNumbers', message: `must be within 1..${last}; got ${outside.join(', ')}` }]);

    const ttl = this.policy.presignedUrlTtlSeconds;
    const parts = await Promise.all(
      cmd.partNumbers.map(async (partNumber) => {
        const size = plannedPartLength(session, partNumber);
        const signed = await this.storage.presignUploadPart(session.objectKey, session.uploadId, partNumber, { expiresInSeconds: ttl, contentLength: size });
        return { partNumber, url: signed.url, ...(size !== undefined ? { size } : {}) };
      }),
    );
    await this.lifecycle.markPartsUploading(this.em, session.id, cmd.partNumbers);
    return { uploadId: session.uploadId, parts, expiresAt: new Date(Date.now() + ttl * 1000) };
  }
}
