import { Inject, Injectable } from '@nestjs/common';
import { DomainEventType, FileStatus } from '@app/contracts';
import { GroupProgress } from '../group/group-progress';
import { LifecycleWriter, StoredObjectFacts } from '../lifecycle/lifecycle-writer';
import { SESSION_COLUMNS, toSessionRecord } from '../lifecycle/records';
import { Outbox, OutboxRow } from '../outbox/outbox';
import { SQL_DATABASE, SqlDatabase, SqlTx } from '../ports/sql.port';
import { SessionEndings } from '../upload/session-endings';
import { OpenedRound, StorageEventRound, StorageEventStore } from './storage-event-store.port';

/** One round on Postgres: its statements go through `tx`; the messages it causes are written at the end, as one insert. */
class PgStorageEventRound implements StorageEventRound {
  readonly out: OutboxRow[] = [];

  constructor(
    private readonly tx: SqlTx,
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
    private readonly groups: GroupProgress,
    private readonly endings: SessionEndings,
  ) {}

  /** One statement: records the identities (first: only this round takes them), then locks the sessions in id order. */
  async open(identities: string[], objectKeys: string[], sessionIds: string[]): Promise<OpenedRound> {
    const [row] = await this.tx.query<{ fresh: string[]; sessions: Record<string, unknown>[] }>(
      `with fresh as (
         insert into processed_storage_event (identity, processed_at)
         select i, now() from unnest($1::text[]) as i order by i
         on conflict do nothing returning identity
       ), locked as (
         select ${SESSION_COLUMNS} from upload_session s where s.object_key = any($2::text[]) or s.id = any($3::uuid[]) order by s.id for update of s
       )
       select (select coalesce(json_agg(identity), '[]') from fresh) as fresh, (select coalesce(json_agg(l), '[]') from locked l) as sessions`,
      [identities, objectKeys, sessionIds],
    );
    return { fresh: new Set(row.fresh), sessions: row.sessions.map(toSessionRecord) };
  }

  async forget(identities: string[]): Promise<void> {
    if (identities.length > 0) await this.tx.query(`delete from processed_storage_event where identity = any($1::text[])`, [identities]);
  }

  async markUploaded(objects: StoredObjectFacts[]) {
    const { sessions, jobs } = await this.lifecycle.markObjectsUploaded(this.tx, objects);
    for (const job of jobs) this.out.push(this.outbox.runJob(job));
    for (const s of sessions) this.out.push(this.outbox.sessionEvent(DomainEventType.SessionUploaded, s));
    await this.groups.sessionsUploaded(this.tx, sessions);
    return { sessions, jobs };
  }

  async fail(failures: { id: string; error: string; errorMessage: string }[], from: FileStatus[]) {
    const failed = await this.lifecycle.failSessions(this.tx, failures, from);
    await this.endings.endedMany(this.tx, failed, DomainEventType.SessionFailed, this.out);
    return failed;
  }

  async markDeleted(ids: string[], from: FileStatus[]) {
    const deleted = await this.lifecycle.moveSessions(this.tx, ids, FileStatus.DELETED, from);
    await this.endings.endedMany(this.tx, deleted, DomainEventType.SessionDeleted, this.out);
    return deleted;
  }

  async markReplaced(replaced: { id: string; etag: string; errorMessage: string }[]) {
    const ended = await this.lifecycle.markReplaced(this.tx, replaced);
    await this.endings.endedMany(
      this.tx,
      ended.filter((e) => e.status === FileStatus.FAILED),
      DomainEventType.SessionFailed,
      this.out,
    );
    await this.endings.endedMany(
      this.tx,
      ended.filter((e) => e.status === FileStatus.DELETED),
      DomainEventType.SessionDeleted,
      this.out,
    );
    return ended;
  }
}

/** The intake's SQL: every statement of a round of storage notifications, or the shared writer it calls by intent. */
@Injectable()
export class StorageEventRepository implements StorageEventStore {
  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
    private readonly groups: GroupProgress,
    private readonly endings: SessionEndings,
  ) {}

  round<T>(work: (round: StorageEventRound) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      const round = new PgStorageEventRound(tx, this.lifecycle, this.outbox, this.groups, this.endings);
      const result = await work(round);
      await this.outbox.write(tx, round.out);
      return result;
    });
  }
}
