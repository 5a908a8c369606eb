import { EntityManager } from '@mikro-orm/postgresql';
import { GroupStatus } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../errors/domain-error';
import { Actor, canAccess } from '../identity/actor';
import { FINAL_GROUP_STATUSES } from '../lifecycle/transitions';
import { UploadGroup } from './upload-group.entity';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Loads a group the actor may see, or fails with GROUP_NOT_FOUND (also for other people's groups). */
export async function findAccessibleGroup(em: EntityManager, actor: Actor, id: string): Promise<UploadGroup> {
  const group = UUID.test(id) ? await em.findOne(UploadGroup, id) : null;
  if (!group || !canAccess(actor, group)) throw new DomainError(DomainErrorCode.GROUP_NOT_FOUND, `Group ${id} not found`);
  return group;
}

/**
 * Takes one slot of the group for a new session, race-free: a conditional `UPDATE … WHERE file_count <
 * total_files AND status is open`, so concurrent adds never exceed totalFiles. Call it in the transaction
 * that inserts the session (a rollback gives the slot back). Fails 404 for a group the actor may not see,
 * 409 for a full, expired, cancelled or finished one.
 */
export async function takeGroupSlot(em: EntityManager, actor: Actor, groupId: string): Promise<UploadGroup> {
  const group = await findAccessibleGroup(em, actor, groupId);
  const taken: unknown[] = await em.execute(
    `update upload_group set file_count = file_count + 1, updated_at = now()
      where id = ? and file_count < total_files and status in (?, ?) and expires_at > now()
      returning id`,
    [groupId, GroupStatus.PENDING, GroupStatus.IN_PROGRESS],
  );
  if (taken.length === 1) return group;
  const now = await em.findOneOrFail(UploadGroup, groupId, { refresh: true });
  if (FINAL_GROUP_STATUSES.includes(now.status)) {
    throw new DomainError(DomainErrorCode.GROUP_STATE_CONFLICT, `Group ${groupId} is ${now.status} and takes no more files`);
  }
  if (now.expiresAt.getTime() <= Date.now()) {
    throw new DomainError(DomainErrorCode.GROUP_STATE_CONFLICT, `Group ${groupId} expired at ${now.expiresAt.toISOString()} and takes no more files`);
  }
  throw new DomainError(DomainErrorCode.GROUP_STATE_CONFLICT, `Group ${groupId} already has its ${now.totalFiles} files (totalFiles)`);
}
