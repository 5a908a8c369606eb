import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  amqpPriorityOf,
  DomainEventV1,
  GroupEventType,
  jobDelayRoutingKey,
  jobDelayStage,
  JobEventType,
  jobQueue,
  jobRoutingKey,
  RunJobV1,
  SessionEventType,
  Topology,
} from '@app/contracts';
import { UploadGroup } from '../group/upload-group.entity';
import { ProcessingJob } from '../job/processing-job.entity';
import { UploadSession } from '../upload/upload-session.entity';
import { OutboxMessage } from './outbox-message.entity';

export interface OutboxSettings {
  domainEventsExchange: string;
}
export const OUTBOX_SETTINGS = Symbol('OutboxSettings');

/**
 * Writes the messages a state change causes into the outbox, inside the caller's transaction:
 * no event without the change, no change without the event.
 */
@Injectable()
export class Outbox {
  constructor(@Inject(OUTBOX_SETTINGS) private readonly settings: OutboxSettings) {}

  sessionEvent(em: EntityManager, type: SessionEventType, s: UploadSession): void {
    this.domainEvent(em, {
      id: randomUUID(),
      type,
      occurredAt: new Date().toISOString(),
      version: 1,
      correlationId: s.id,
      data: {
        sessionId: s.id,
        groupId: s.groupId,
        userId: s.userId,
        objectKey: s.objectKey,
        bucket: s.bucket,
        status: s.status,
        filename: s.filename,
        contentType: s.contentType,
        size: s.size,
        error: s.error,
        errorMessage: s.errorMessage,
      },
    });
  }

  groupEvent(em: EntityManager, type: GroupEventType, g: UploadGroup, sessions: UploadSession[]): void {
    this.domainEvent(em, {
      id: randomUUID(),
      type,
      occurredAt: new Date().toISOString(),
      version: 1,
      correlationId: g.id,
      data: {
        groupId: g.id,
        userId: g.userId,
        status: g.status,
        totalFiles: g.totalFiles,
        completedFiles: g.completedFiles,
        failedFiles: g.failedFiles,
        sessions: sessions.map((s) => ({ sessionId: s.id, objectKey: s.objectKey, status: s.status })),
      },
    });
  }

  jobEvent(em: EntityManager, type: JobEventType, job: ProcessingJob, s: UploadSession): void {
    this.domainEvent(em, {
      id: randomUUID(),
      type,
      occurredAt: new Date().toISOString(),
      version: 1,
      correlationId: s.id,
      data: {
        jobId: job.id,
        sessionId: s.id,
        groupId: s.groupId,
        userId: s.userId,
        objectKey: s.objectKey,
        type: job.type,
        status: job.status,
        attempts: job.attempts,
        result: job.result,
        error: job.error,
      },
    });
  }

  /** Queue a job to run now, or after `delayMs` through the delay queues. */
  runJob(em: EntityManager, job: ProcessingJob, delayMs?: number): void {
    const body: RunJobV1 = { version: 1, jobId: job.id, sessionId: job.sessionId, type: job.type, correlationId: job.sessionId };
    const delayed = delayMs !== undefined && delayMs > 0;
    em.persist(
      new OutboxMessage({
        exchange: delayed ? Topology.jobsDelayExchange : Topology.jobsExchange,
        routingKey: delayed ? jobDelayRoutingKey(jobDelayStage(delayMs), job.type) : jobRoutingKey(job.type),
        messageId: randomUUID(),
        payload: body,
        priority: amqpPriorityOf(job.priority),
      }),
    );
  }

  /**
   * A copy of a job's message for the jobs dead-letter queue, with the reason: the job ran out of attempts.
   * Operators inspect or replay from there (POST /v1/jobs/:id/retry re-queues it).
   */
  deadJob(em: EntityManager, job: ProcessingJob, reason: string): void {
    const body: RunJobV1 = { version: 1, jobId: job.id, sessionId: job.sessionId, type: job.type, correlationId: job.sessionId };
    em.persist(
      new OutboxMessage({
        exchange: Topology.deadLetterExchange,
        routingKey: Topology.jobsDeadQueue,
        messageId: randomUUID(),
        payload: body,
        headers: { 'x-dead-letter-reason': reason.slice(0, 1000), 'x-original-queue': jobQueue(job.type), 'x-attempts': String(job.attempts) },
      }),
    );
  }

  private domainEvent(em: EntityManager, event: DomainEventV1): void {
    em.persist(new OutboxMessage({ exchange: this.settings.domainEventsExchange, routingKey: event.type, messageId: event.id, payload: event }));
  }
}
