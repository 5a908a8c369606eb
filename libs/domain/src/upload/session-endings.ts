import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { SessionEventType } from '@app/contracts';
import { GroupProgress } from '../group/group-progress';
import { Outbox } from '../outbox/outbox';
import { UploadSession } from './upload-session.entity';

/**
 * What follows a session reaching COMPLETED, FAILED or DELETED, whoever moved it (jobs, abort, delete,
 * expiry, cancel, the store): its domain event and its group's counters, in the caller's transaction.
 * Call it only after the final status write (a LifecycleWriter verb) returned true, so it runs once.
 */
@Injectable()
export class SessionEndings {
  constructor(
    private readonly outbox: Outbox,
    private readonly groups: GroupProgress,
  ) {}

  async ended(em: EntityManager, sessionId: string, event: SessionEventType): Promise<UploadSession> {
    const session = await em.findOneOrFail(UploadSession, sessionId, { refresh: true });
    this.outbox.sessionEvent(em, event, session);
    await this.groups.sessionFinished(em, session);
    return session;
  }
}
