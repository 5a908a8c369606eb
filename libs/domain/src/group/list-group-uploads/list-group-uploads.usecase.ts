import { FilterQuery } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { after, decodeCursor, Page, toPage } from '../../pagination/cursor';
import { UploadSession } from '../../upload/upload-session.entity';
import { findAccessibleGroup } from '../group-access';
import { ListGroupUploadsQuery } from './list-group-uploads.query';

/** The sessions of a group the caller may see (with the group's upload token for an anonymous group), keyset-paginated. */
@Injectable()
export class ListGroupUploadsUseCase {
  constructor(private readonly em: EntityManager) {}

  async execute(actor: Actor, groupId: string, input: unknown): Promise<Page<UploadSession>> {
    const q = validateCommand(ListGroupUploadsQuery, input);
    const group = await findAccessibleGroup(this.em, actor, groupId);
    const limit = q.limit ?? 100;
    const where: FilterQuery<UploadSession> = {
      groupId: group.id,
      ...(q.status ? { status: q.status } : {}),
      ...after(q.cursor ? decodeCursor(q.cursor) : null),
    };
    return toPage(await this.em.find(UploadSession, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 }), limit);
  }
}
