import { MikroORM } from '@mikro-orm/postgresql';
import { PgSqlDatabase } from '@app/database';
import { AmqpMessageAddressing } from '@app/messaging';
import { GroupProgress, JobLedger, LifecycleWriter, Outbox, SessionEndings, SessionSettler, SqlJobStore } from '@app/domain';
import { testEnv } from './test-env';

/** A relay that publishes nothing: the rows stay in outbox_message for the test to read. */
export const QUIET_RELAY = { kick: (): void => undefined, committed: (): void => undefined };

/** The domain's shared writers on a test ORM, wired as DomainCoreModule wires them (for integration tests). */
export function domainServices(orm: MikroORM) {
  const db = new PgSqlDatabase(orm);
  const lifecycle = new LifecycleWriter(db);
  const outbox = new Outbox(new AmqpMessageAddressing(testEnv().DOMAIN_EVENTS_EXCHANGE), QUIET_RELAY);
  const progress = new GroupProgress(lifecycle, outbox, db);
  const endings = new SessionEndings(outbox, progress, db);
  const jobStore = new SqlJobStore(db, lifecycle, outbox, endings);
  const settler = new SessionSettler(outbox, jobStore);
  const ledger = new JobLedger(jobStore, outbox, settler);
  return { db, lifecycle, outbox, progress, endings, jobStore, settler, ledger };
}
