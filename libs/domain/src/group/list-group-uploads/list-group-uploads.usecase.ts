import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { decodeCursor, Page, toPage } from '../../pagination/cursor';
import { SessionSummary, UploadSessionQueries } from '../../upload/upload-session.queries';
import { findAccessibleGroup } from '../group-access';
import { ListGroupUploadsQuery } from './list-group-uploads.query';

/** The sessions of a group the caller may see (with the group's upload token for an anonymous group), keyset-paginated. */
@Injectable()
export class ListGroupUploadsUseCase {
  constructor(
    private readonly em: EntityManager,
    private readonly queries: UploadSessionQueries,
  ) {}

  async execute(actor: Actor, groupId: string, input: unknown): Promise<Page<SessionSummary>> {
    const q = validateCommand(ListGroupUploadsQuery, input);
    const group = await findAccessibleGroup(this.em, actor, groupId);
    const limit = q.limit ?? 100;
    const rows = await this.queries.page({ groupId: group.id, status: q.status, after: q.cursor ? decodeCursor(q.cursor) : null, limit });
    return toPage(rows, limit);
  }
}
