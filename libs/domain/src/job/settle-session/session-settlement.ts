import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DomainEventType, FileStatus } from '@app/contracts';
import { GroupProgress } from '../../group/group-progress';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { Outbox } from '../../outbox/outbox';
import { UploadSession } from '../../upload/upload-session.entity';
import { decideSessionOutcome } from '../plan/outcomes';
import { ProcessingJob } from '../processing-job.entity';

/**
 * What follows a session's jobs once one of them reached an outcome: COMPLETED, FAILED, or nothing yet.
 * Call it in the transaction that recorded the outcome, with the session row locked, so that concurrent
 * settlers of one session see each other's outcome and the session event is written once.
 */
@Injectable()
export class SessionSettlement {
  constructor(
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
    private readonly groups: GroupProgress,
  ) {}

  async settle(em: EntityManager, session: UploadSession): Promise<void> {
    const jobs = await em.find(ProcessingJob, { sessionId: session.id }, { refresh: true });
    const decision = decideSessionOutcome(jobs);
    if (decision.kind === 'wait') return;
    const moved =
      decision.kind === 'complete'
        ? await this.lifecycle.markCompleted(em, session.id)
        : await this.lifecycle.markFailed(em, session.id, `${decision.failedJobType}_FAILED`, decision.error);
    if (!moved) return;
    await em.refresh(session);
    this.outbox.sessionEvent(em, decision.kind === 'complete' ? DomainEventType.SessionCompleted : DomainEventType.SessionFailed, session);
    await this.groups.sessionFinished(em, session, decision.kind === 'complete' ? FileStatus.COMPLETED : FileStatus.FAILED);
  }
}
