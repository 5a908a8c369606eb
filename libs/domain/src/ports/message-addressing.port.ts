import type { JobType } from '@app/contracts';

/**
 * What a message is for, as the domain says it. The domain never names an exchange, a routing key, an AMQP
 * priority or a header: the messaging library maps each intent to its address (MessageAddressing).
 */
export type MessageIntent =
  /** Run a job now, or after `delayMs`, at its job priority (1 = most urgent). */
  | { kind: 'run-job'; jobType: JobType; priority: number; delayMs?: number }
  /** A job that ran out of attempts, kept where operators inspect and replay dead jobs, with the reason. */
  | { kind: 'dead-job'; jobType: JobType; attempts: number; reason: string }
  /** A domain event, for every consumer of domain events. */
  | { kind: 'domain-event'; eventType: string };

/** Where and how a message goes, as the outbox stores it for the relay. */
export interface MessageAddress {
  exchange: string;
  routingKey: string;
  priority: number | null;
  headers: Record<string, string> | null;
}

/** Maps the domain's intents to the broker's addresses (libs/messaging's AmqpMessageAddressing). */
export interface MessageAddressing {
  addressOf(intent: MessageIntent): MessageAddress;
}

export const MESSAGE_ADDRESSING = Symbol('MessageAddressing');
