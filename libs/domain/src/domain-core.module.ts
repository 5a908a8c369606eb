import { DynamicModule, Global, Module } from '@nestjs/common';
import { GroupProgress } from './group/group-progress';
import { JobLedger } from './job/run-jobs/job-ledger';
import { SqlJobStore } from './job/run-jobs/sql-job-store';
import { JOB_STORE } from './ports/job-store.port';
import { SessionSettler } from './job/session-settler';
import { SessionEndings } from './upload/session-endings';
import { LifecycleWriter } from './lifecycle/lifecycle-writer';
import { Outbox } from './outbox/outbox';
import { MESSAGE_ADDRESSING, MessageAddressing } from './ports/message-addressing.port';
import { UnitOfWork } from './outbox/unit-of-work';

/**
 * The services every app shares: the status writer, the outbox, transactions, group progress, session settlement,
 * and the job ledger (the job path's transactions, also used by the reconciler).
 */
@Global()
@Module({})
export class DomainCoreModule {
  /** `addressing`: how the outbox's intents become broker addresses (libs/messaging's AmqpMessageAddressing). */
  static forRoot(addressing: MessageAddressing): DynamicModule {
    const providers = [LifecycleWriter, Outbox, UnitOfWork, GroupProgress, SessionEndings, SessionSettler, JobLedger];
    const jobStore = { provide: JOB_STORE, useClass: SqlJobStore };
    return {
      module: DomainCoreModule,
      providers: [{ provide: MESSAGE_ADDRESSING, useValue: addressing }, jobStore, ...providers],
      exports: [...providers, JOB_STORE, MESSAGE_ADDRESSING],
    };
  }
}
