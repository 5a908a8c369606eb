import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DomainEventType, FileStatus } from '@app/contracts';
import { LifecycleWriter } from '../lifecycle/lifecycle-writer';
import { Outbox } from '../outbox/outbox';
import { UploadSession } from '../upload/upload-session.entity';
import { decideSessionOutcome } from './plan/outcomes';
import { ProcessingJob } from './processing-job.entity';
import { SessionEndings } from '../upload/session-endings';

/**
 * What follows a session's jobs: COMPLETED, FAILED, or nothing yet. Call inside the transaction that made a
 * job final, with the session row locked. Only PROCESSING (or UPLOADED) sessions move: a settled session
 * never goes backwards, so a job added or retried by hand on a COMPLETED session records its own outcome
 * and events without touching the session.
 */
@Injectable()
export class SessionSettler {
  constructor(
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
    private readonly endings: SessionEndings,
  ) {}

  async settle(em: EntityManager, session: UploadSession): Promise<void> {
    const jobs = await em.find(ProcessingJob, { sessionId: session.id }, { refresh: true });
    const decision = decideSessionOutcome(jobs);
    if (decision.kind === 'wait') return;
    // Every job final before any ran (all cancelled by hand): the session passes through PROCESSING.
    if (decision.kind === 'complete' && session.status === FileStatus.UPLOADED && (await this.lifecycle.markProcessing(em, session.id))) {
      await em.refresh(session);
      this.outbox.sessionEvent(em, DomainEventType.SessionProcessing, session);
    }
    const moved =
      decision.kind === 'complete'
        ? await this.lifecycle.markCompleted(em, session.id)
        : await this.lifecycle.markFailed(em, session.id, `${decision.failedJobType}_FAILED`, decision.error);
    if (!moved) return;
    await this.endings.ended(em, session.id, decision.kind === 'complete' ? DomainEventType.SessionCompleted : DomainEventType.SessionFailed);
  }
}
