import { FilterQuery } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { after, decodeCursor, Page, toPage } from '../../pagination/cursor';
import { GroupView, withBytes } from '../group-view';
import { UploadGroup } from '../upload-group.entity';
import { ListUploadGroupsQuery } from './list-upload-groups.query';

/** The caller's groups, newest first, filtered by status, keyset-paginated. */
@Injectable()
export class ListUploadGroupsUseCase {
  constructor(private readonly em: EntityManager) {}

  async execute(actor: Actor, input: unknown): Promise<Page<GroupView>> {
    const q = validateCommand(ListUploadGroupsQuery, input);
    if (actor.userId === null && !actor.isAdmin) {
      throw new DomainError(DomainErrorCode.UNAUTHENTICATED, 'Listing groups needs an authenticated caller');
    }
    const limit = q.limit ?? 20;
    const where: FilterQuery<UploadGroup> = {
      ...(actor.isAdmin ? {} : { userId: actor.userId }),
      ...(q.status ? { status: q.status } : {}),
      ...after(q.cursor ? decodeCursor(q.cursor) : null),
    };
    const page = toPage(await this.em.find(UploadGroup, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 }), limit);
    return { items: await withBytes(this.em, page.items), nextCursor: page.nextCursor };
  }
}
