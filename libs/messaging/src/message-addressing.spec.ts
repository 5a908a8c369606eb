import { JobType, Topology } from '@app/contracts';
import { AmqpMessageAddressing } from './message-addressing';

describe('AmqpMessageAddressing: the outbox intents as broker addresses', () => {
  const addressing = new AmqpMessageAddressing('uploads.events');

  it('a job to run now goes to the jobs exchange under run.<TYPE>.<priority>, its priority inverted for AMQP (1 → 10)', () => {
    expect(addressing.addressOf({ kind: 'run-job', jobType: JobType.CHECKSUM, priority: 1 })).toEqual({
      exchange: Topology.jobsExchange,
      routingKey: 'run.CHECKSUM.1',
      priority: 10,
      headers: null,
    });
    expect(addressing.addressOf({ kind: 'run-job', jobType: JobType.VALIDATION, priority: 10, delayMs: 0 })).toMatchObject({
      exchange: Topology.jobsExchange,
      routingKey: 'run.VALIDATION.10',
      priority: 1,
    });
  });

  it('a delayed job waits in the smallest delay stage at least as long as asked, keeping its type and priority', () => {
    expect(addressing.addressOf({ kind: 'run-job', jobType: JobType.THUMBNAIL, priority: 5, delayMs: 1_500 })).toEqual({
      exchange: Topology.jobsDelayExchange,
      routingKey: 'delay2000ms.THUMBNAIL.5',
      priority: 6,
      headers: null,
    });
  });

  it('a dead job goes to the jobs dead-letter queue with its reason (cut to 1,000 characters), queue and attempts', () => {
    const address = addressing.addressOf({ kind: 'dead-job', jobType: JobType.METADATA, attempts: 3, reason: 'x'.repeat(1_500) });
    expect(address).toEqual({
      exchange: Topology.deadLetterExchange,
      routingKey: Topology.jobsDeadQueue,
      priority: null,
      headers: { 'x-dead-letter-reason': 'x'.repeat(1_000), 'x-original-queue': 'jobs.metadata', 'x-attempts': '3' },
    });
  });

  it('a domain event goes to the configured domain events exchange under its type', () => {
    expect(addressing.addressOf({ kind: 'domain-event', eventType: 'session.completed' })).toEqual({
      exchange: 'uploads.events',
      routingKey: 'session.completed',
      priority: null,
      headers: null,
    });
  });
});
