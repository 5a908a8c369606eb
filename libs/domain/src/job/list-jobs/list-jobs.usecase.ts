import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { Actor } from '../../identity/actor';
import { findAccessibleSession } from '../../upload/get-upload/get-upload.usecase';
import { ProcessingJob } from '../processing-job.entity';

/** The jobs of one session the actor may see, oldest first. */
@Injectable()
export class ListJobsUseCase {
  constructor(private readonly em: EntityManager) {}

  async execute(actor: Actor, sessionId: string): Promise<ProcessingJob[]> {
    const session = await findAccessibleSession(this.em, actor, sessionId);
    return this.em.find(ProcessingJob, { sessionId: session.id }, { orderBy: { createdAt: 'asc', priority: 'asc' } });
  }
}
