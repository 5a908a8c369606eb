import { Controller, Inject, UseFilters } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { APP_CONFIG, StorageEventsConfig } from '@app/config';
import { MessagePattern } from '@app/contracts';
import { isDatabaseUnavailable } from '@app/database';
import { RecordedEvent, RecordWebhookEventUseCase, toRecordedEvent } from '@app/domain';
import { AmqpContext, PassThroughRpcExceptions, toMessageDisposition } from '@app/messaging';
import { WebhookMetrics } from '@app/webhooks';
import { MicroBatcher } from '../micro-batcher';
import { WebhookDispatcher } from './webhook-dispatcher';

/**
 * How long an event waits for others to be recorded with it. Nothing waits on a recording but the delivery it
 * creates (seconds of retries are normal for webhooks); a few ms turn a domain event per commit into a handful
 * per commit (5 events per uploaded file: 5.00 → about 1 commit per file at 100 files/s).
 */
const RECORD_LINGER_MS = 10;

/**
 * Domain events from the `webhooks.events` queue → one delivery row per interested subscription. Events that
 * arrive together are recorded in one statement; each message is acked after the commit that recorded it.
 * Nothing routes new events to this queue any more (the outbox relay records them when it retires their rows):
 * it drains what earlier versions left there, and dead-letters whatever is no domain event.
 */
@Controller()
@UseFilters(PassThroughRpcExceptions)
export class WebhookEventsConsumer {
  private readonly batches: MicroBatcher<RecordedEvent, number>;

  constructor(
    recordEvents: RecordWebhookEventUseCase,
    private readonly dispatcher: WebhookDispatcher,
    @Inject(APP_CONFIG) config: StorageEventsConfig,
  ) {
    this.batches = new MicroBatcher((events) => recordEvents.execute(events), {
      name: 'WebhookEvents',
      concurrency: 1,
      lingerMs: RECORD_LINGER_MS,
      // The consumer holds at most this many unacked: no more can join.
      maxItems: config.webhooks.prefetch,
      failsAll: isDatabaseUnavailable,
    });
  }

  @EventPattern(MessagePattern.WebhookEvent)
  async handle(@Payload() body: unknown, @Ctx() ctx: AmqpContext): Promise<number> {
    let created: number;
    try {
      // The body as published, byte for byte: it is what every attempt sends and signs.
      [created] = await this.batches.submit([toRecordedEvent(body, ctx.message.content.toString('utf8'))]);
    } catch (e) {
      throw toMessageDisposition(e);
    }
    WebhookMetrics.eventsRecorded.inc({ result: created > 0 ? 'matched' : 'unmatched' });
    if (created > 0) this.dispatcher.kick();
    return created;
  }
}
