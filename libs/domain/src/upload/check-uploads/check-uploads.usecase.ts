import { Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { UploadSessionQueries } from '../upload-session.queries';
import { CheckUploadsCommand } from './check-uploads.command';

export interface CheckedFileAnswer {
  checksumSha256: string;
  size: number;
  /** Whether the caller holds a COMPLETED upload of this content. */
  exists: boolean;
  /** That upload's session id (the newest one), or null. */
  duplicateOf: string | null;
}

/**
 * Which of the given files (SHA-256 and size) the caller already holds: a COMPLETED upload of their own, whose
 * declared checksum VALIDATION verified. Only the caller's own uploads count, admins included: an answer about
 * anyone else's would tell one user what files another holds. One statement for up to 1,000 files; no request
 * to the store (a COMPLETED session's object is there unless its removal is still in flight; a reuse copies
 * from it and falls back to a plain upload when it is not).
 */
@Injectable()
export class CheckUploadsUseCase {
  constructor(private readonly queries: UploadSessionQueries) {}

  async execute(actor: Actor, input: unknown): Promise<CheckedFileAnswer[]> {
    const cmd = validateCommand(CheckUploadsCommand, input);
    if (actor.userId === null) {
      throw new DomainError(
        DomainErrorCode.UNAUTHENTICATED,
        'Checking for stored files needs an authenticated caller: anonymous uploads have no owner to match',
      );
    }
    const held = await this.queries.held(actor.userId, cmd.files);
    return cmd.files.map((f, i) => ({ checksumSha256: f.checksumSha256, size: f.size, exists: held[i] !== null, duplicateOf: held[i] }));
  }
}
