import { amqpPriorityOf, jobDelayRoutingKey, jobDelayStage, jobQueue, jobRoutingKey, Topology } from '@app/contracts';
import type { MessageAddress, MessageAddressing, MessageIntent } from '@app/domain';

/** How long a dead-letter reason may be in a header (it is also in the job's row, whole). */
const MAX_REASON_LENGTH = 1000;

/**
 * The broker's side of the outbox: each intent the domain records becomes an exchange, a routing key, an AMQP
 * priority and headers of our topology (libs/contracts/src/topology.ts).
 */
export class AmqpMessageAddressing implements MessageAddressing {
  constructor(private readonly domainEventsExchange: string) {}

  addressOf(intent: MessageIntent): MessageAddress {
    switch (intent.kind) {
      case 'run-job': {
        const delayed = intent.delayMs !== undefined && intent.delayMs > 0;
        return {
          exchange: delayed ? Topology.jobsDelayExchange : Topology.jobsExchange,
          routingKey: delayed
            ? jobDelayRoutingKey(jobDelayStage(intent.delayMs!), intent.jobType, intent.priority)
            : jobRoutingKey(intent.jobType, intent.priority),
          priority: amqpPriorityOf(intent.priority),
          headers: null,
        };
      }
      case 'dead-job':
        return {
          exchange: Topology.deadLetterExchange,
          routingKey: Topology.jobsDeadQueue,
          priority: null,
          headers: {
            'x-dead-letter-reason': intent.reason.slice(0, MAX_REASON_LENGTH),
            'x-original-queue': jobQueue(intent.jobType),
            'x-attempts': String(intent.attempts),
          },
        };
      case 'domain-event':
        return { exchange: this.domainEventsExchange, routingKey: intent.eventType, priority: null, headers: null };
    }
  }
}
