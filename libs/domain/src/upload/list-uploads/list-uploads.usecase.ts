import { Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { decodeCursor, Page, toPage } from '../../pagination/cursor';
import { SessionSummary, UploadSessionQueries } from '../upload-session.queries';
import { ListUploadsQuery } from './list-uploads.query';

/** The caller's sessions, newest first, filtered by status and group, keyset-paginated. */
@Injectable()
export class ListUploadsUseCase {
  constructor(private readonly queries: UploadSessionQueries) {}

  async execute(actor: Actor, input: unknown): Promise<Page<SessionSummary>> {
    const q = validateCommand(ListUploadsQuery, input);
    if (actor.userId === null && !actor.isAdmin) {
      throw new DomainError(DomainErrorCode.UNAUTHENTICATED, 'Listing uploads needs an authenticated caller');
    }
    const limit = q.limit ?? 20;
    const rows = await this.queries.page({
      userId: actor.isAdmin ? undefined : actor.userId!,
      status: q.status,
      groupId: q.groupId,
      after: q.cursor ? decodeCursor(q.cursor) : null,
      limit,
    });
    return toPage(rows, limit);
  }
}
