import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainEventV1, GroupEventType, JobEventType, RunJobV1, SessionEventType } from '@app/contracts';
import { GroupRecord, JobRecord, SessionRecord, toDate } from '../lifecycle/records';
import { MESSAGE_ADDRESSING, MessageAddressing, MessageIntent } from '../ports/message-addressing.port';
import { OUTBOX_TRIGGER, OutboxTrigger } from '../ports/outbox-trigger.port';
import { isEntityManager, Tx } from '../ports/sql.port';
import { OutboxMessage } from './outbox-message.entity';

/** A message to publish, as the outbox stores it. */
export interface OutboxRow {
  exchange: string;
  routingKey: string;
  /** AMQP message-id; consumers deduplicate by it. */
  messageId: string;
  payload: unknown;
  priority: number | null;
  headers: Record<string, string> | null;
}

/** A row its transaction has committed: the relay may publish it. */
export interface CommittedOutboxRow extends OutboxRow {
  id: string;
  createdAt: Date;
}

/**
 * How long the writer of a row holds it for its own relay (which publishes it right after the commit) before
 * any relay may take it: long enough for a slow broker confirm, short enough that a writer's crash delays its
 * messages only briefly. A writer that cannot publish gives its rows back at once.
 */
export const OUTBOX_HOLD_MS = 10_000;

type JobRef = Pick<JobRecord, 'id' | 'sessionId' | 'type' | 'priority'>;
type JobEventSource = Pick<JobRecord, 'id' | 'type' | 'status' | 'attempts' | 'result' | 'error'>;
type SessionEventSource = Pick<
  SessionRecord,
  'id' | 'groupId' | 'userId' | 'objectKey' | 'bucket' | 'status' | 'filename' | 'contentType' | 'size' | 'error' | 'errorMessage'
>;

const INSERT_ROWS = `insert into outbox_message (exchange, routing_key, message_id, payload, priority, headers, created_at, claimed_until)
  select r.exchange, r.routing_key, r.message_id, r.payload, r.priority, r.headers, now(), now() + $7 * interval '1 millisecond'
    from unnest($1::text[], $2::text[], $3::uuid[], $4::jsonb[], $5::smallint[], $6::jsonb[]) as r(exchange, routing_key, message_id, payload, priority, headers)
  returning id, message_id, created_at`;

/**
 * The messages a state change causes, written in the caller's transaction: no event without the change, no
 * change without the event. Builders make the rows from what the message is for (a MessageIntent: run a job,
 * a dead job, a domain event); the MessageAddressing port (libs/messaging) turns the intent into the exchange,
 * routing key, priority and headers, so the domain never names the broker's topology. `write` stores them,
 * as one multi-row insert on the SQL paths (handed to the relay once the transaction commits) or as entities
 * in a MikroORM transaction (the relay is kicked by UnitOfWork and polls them).
 */
@Injectable()
export class Outbox {
  constructor(
    @Inject(MESSAGE_ADDRESSING) private readonly addressing: MessageAddressing,
    @Inject(OUTBOX_TRIGGER) private readonly trigger: OutboxTrigger,
  ) {}

  async write(tx: Tx, rows: OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (isEntityManager(tx)) {
      for (const r of rows) tx.persist(new OutboxMessage(r));
      return;
    }
    const inserted = await tx.query<{ id: string; message_id: string; created_at: Date }>(INSERT_ROWS, [
      rows.map((r) => r.exchange),
      rows.map((r) => r.routingKey),
      rows.map((r) => r.messageId),
      rows.map((r) => JSON.stringify(r.payload)),
      rows.map((r) => r.priority),
      rows.map((r) => (r.headers ? JSON.stringify(r.headers) : null)),
      OUTBOX_HOLD_MS,
    ]);
    const byMessageId = new Map(inserted.map((i) => [i.message_id, i]));
    const committed: CommittedOutboxRow[] = rows.map((r) => {
      const i = byMessageId.get(r.messageId)!;
      return { ...r, id: String(i.id), createdAt: toDate(i.created_at)! };
    });
    tx.afterCommit(() => this.trigger.committed(committed));
  }

  sessionEvent(type: SessionEventType, s: SessionEventSource): OutboxRow {
    return this.domainEvent({
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

  groupEvent(type: GroupEventType, g: GroupRecord, sessions: Pick<SessionRecord, 'id' | 'objectKey' | 'status'>[]): OutboxRow {
    return this.domainEvent({
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
        error: g.error,
        sessions: sessions.map((s) => ({ sessionId: s.id, objectKey: s.objectKey, status: s.status })),
      },
    });
  }

  jobEvent(type: JobEventType, job: JobEventSource, s: SessionEventSource): OutboxRow {
    return this.domainEvent({
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

  /** A job's message: run it now, or after `delayMs` through the delay queues. */
  runJob(job: JobRef, delayMs?: number): OutboxRow {
    return this.row({ kind: 'run-job', jobType: job.type, priority: job.priority, delayMs }, randomUUID(), this.runJobBody(job));
  }

  /**
   * A copy of a job's message for the jobs dead-letter queue, with the reason: the job ran out of attempts.
   * Operators inspect or replay from there (POST /v1/jobs/:id/retry re-queues it).
   */
  deadJob(job: JobRef & Pick<JobRecord, 'attempts'>, reason: string): OutboxRow {
    return this.row({ kind: 'dead-job', jobType: job.type, attempts: job.attempts, reason }, randomUUID(), this.runJobBody(job));
  }

  private runJobBody(job: JobRef): RunJobV1 {
    return { version: 1, jobId: job.id, sessionId: job.sessionId, type: job.type, correlationId: job.sessionId };
  }

  private domainEvent(event: DomainEventV1): OutboxRow {
    return this.row({ kind: 'domain-event', eventType: event.type }, event.id, event);
  }

  private row(intent: MessageIntent, messageId: string, payload: unknown): OutboxRow {
    return { ...this.addressing.addressOf(intent), messageId, payload };
  }
}
