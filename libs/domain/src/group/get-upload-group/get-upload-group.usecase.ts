import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { Actor } from '../../identity/actor';
import { findAccessibleGroup } from '../group-access';
import { GroupView, withBytes } from '../group-view';

/** One group with its counters and byte figures. */
@Injectable()
export class GetUploadGroupUseCase {
  constructor(private readonly em: EntityManager) {}

  async execute(actor: Actor, id: string): Promise<GroupView> {
    const group = await findAccessibleGroup(this.em, actor, id);
    const [view] = await withBytes(this.em, [group]);
    return view;
  }
}
