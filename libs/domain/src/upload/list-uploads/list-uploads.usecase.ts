import { FilterQuery } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { after, decodeCursor, Page, toPage } from '../../pagination/cursor';
import { UploadSession } from '../upload-session.entity';
import { ListUploadsQuery } from './list-uploads.query';

/** The caller's sessions, newest first, filtered by status and group, keyset-paginated. */
@Injectable()
export class ListUploadsUseCase {
  constructor(private readonly em: EntityManager) {}

  async execute(actor: Actor, input: unknown): Promise<Page<UploadSession>> {
    const q = validateCommand(ListUploadsQuery, input);
    if (actor.userId === null && !actor.isAdmin) {
      throw new DomainError(DomainErrorCode.UNAUTHENTICATED, 'Listing uploads needs an authenticated caller');
    }
    const limit = q.limit ?? 20;
    const where: FilterQuery<UploadSession> = {
      ...(actor.isAdmin ? {} : { userId: actor.userId }),
      ...(q.status ? { status: q.status } : {}),
      ...(q.groupId ? { groupId: q.groupId } : {}),
      ...after(q.cursor ? decodeCursor(q.cursor) : null),
    };
    const rows = await this.em.find(UploadSession, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 });
    return toPage(rows, limit);
  }
}
