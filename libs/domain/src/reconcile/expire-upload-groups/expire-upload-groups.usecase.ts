import { Inject, Injectable, Logger } from '@nestjs/common';
import { DomainEventType, FileStatus, GroupStatus } from '@app/contracts';
import { GroupProgress } from '../../group/group-progress';
import { GROUP_EXPIRED_ERROR, LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { SessionRecord } from '../../lifecycle/records';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { SQL_DATABASE, SqlDatabase } from '../../ports/sql.port';
import { SessionEndings } from '../../upload/session-endings';

export interface ExpireUploadGroupsSettings {
  /** Groups looked at per pass. */
  batchSize: number;
}

export interface ExpireUploadGroupsFigures {
  groupsExpired: number;
}

/** Sessions still waiting for their bytes: a group's expiry ends them as their own expiry would. */
const WAITING: FileStatus[] = [FileStatus.PENDING_UPLOAD, FileStatus.UPLOADING];
const OPEN: GroupStatus[] = [GroupStatus.PENDING, GroupStatus.IN_PROGRESS];

/**
 * Ends the groups still waiting for files at their `expiresAt` (fewer than totalFiles added, or a file still
 * waiting for its bytes): in one short transaction per group, the group goes FAILED with error EXPIRED, its
 * waiting sessions FAILED with error EXPIRED (each with its session.failed, counted as failed by the group),
 * and one group.failed is written. Then, after the commit, what those sessions left in the store is removed
 * (multipart uploads aborted, objects deleted). Files whose bytes had arrived are left to finish: their
 * processing ends them. A group whose every file arrived is not expired: its processing ends it.
 *
 * FAILED rather than CANCELLED: CANCELLED is what a caller asks for (POST /v1/groups/:id/cancel); an expiry
 * is the group not reaching its goal, which downstream services already handle as group.failed.
 */
@Injectable()
export class ExpireUploadGroupsUseCase {
  private readonly logger = new Logger(ExpireUploadGroupsUseCase.name);

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly lifecycle: LifecycleWriter,
    private readonly endings: SessionEndings,
    private readonly groups: GroupProgress,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
  ) {}

  async execute(settings: ExpireUploadGroupsSettings): Promise<ExpireUploadGroupsFigures> {
    const due = await this.db.query<{ id: string }>(
      `select g.id from upload_group g
        where g.status = any($1::text[]) and g.expires_at <= now()
          and (g.file_count < g.total_files or exists (select 1 from upload_session s where s.group_id = g.id and s.status = any($2::text[])))
        order by g.expires_at limit $3`,
      [OPEN, WAITING, settings.batchSize],
    );
    const figures: ExpireUploadGroupsFigures = { groupsExpired: 0 };
    for (const { id } of due) {
      try {
        const stopped = await this.expire(id);
        if (stopped === null) continue;
        figures.groupsExpired++;
        this.logger.log({ msg: 'upload group expired', groupId: id, sessionsExpired: stopped.length });
        await this.clearStorage(stopped);
      } catch (e) {
        // One group's trouble (a deadlock given up, the store away) never stops the others; the next pass retries.
        this.logger.warn({ msg: 'could not expire an upload group', groupId: id, err: e instanceof Error ? e.message : String(e) });
      }
    }
    return figures;
  }

  /** null when the group was no longer open or no longer past its expiry (another path got there first). */
  private async expire(groupId: string): Promise<SessionRecord[] | null> {
    return this.db.transaction(async (tx) => {
      const sql = this.db.of(tx);
      // Lock order: the group's sessions (by id) before the group row, as every path that finishes a session.
      await sql.query(`select id from upload_session where group_id = $1 order by id for update`, [groupId]);
      const group = await this.lifecycle.markGroupExpired(tx, groupId);
      if (!group) return null;
      // Read after the group row is ours: a session added just before (its slot taken) is seen too; none comes after.
      const waiting = await sql.query<{ id: string }>(`select id from upload_session where group_id = $1 and status = any($2::text[]) order by id`, [
        groupId,
        WAITING,
      ]);
      const expired = await this.lifecycle.failSessions(
        tx,
        waiting.map((s) => ({ id: s.id, error: GROUP_EXPIRED_ERROR, errorMessage: 'its upload group expired before every file arrived' })),
        WAITING,
      );
      // The group is FAILED already: counting these files moves no status and writes no second group event.
      await this.endings.endedMany(tx, expired, DomainEventType.SessionFailed);
      await this.groups.publishFinal(tx, groupId, DomainEventType.GroupFailed);
      return expired;
    });
  }

  /** After the commit: a failure here leaves garbage for the purge of failed objects, never a wrong state. */
  private async clearStorage(sessions: SessionRecord[]): Promise<void> {
    for (const s of sessions) {
      if (s.uploadId) await this.storage.abortMultipartUpload(s.objectKey, s.uploadId);
      // An object that landed just before the commit must not stay (a later one is removed by storage-events).
      await this.storage.delete(s.objectKey);
    }
  }
}
