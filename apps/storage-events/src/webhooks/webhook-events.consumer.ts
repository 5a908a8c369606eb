import { CreateRequestContext, MikroORM } from '@mikro-orm/postgresql';
import { Controller, UseFilters } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { MessagePattern } from '@app/contracts';
import { RecordWebhookEventUseCase } from '@app/domain';
import { AmqpContext, PassThroughRpcExceptions, toMessageDisposition } from '@app/messaging';
import { WebhookMetrics } from '@app/webhooks';
import { WebhookDispatcher } from './webhook-dispatcher';

/** Domain events from the `webhooks.events` queue → one delivery row per interested subscription (acked after the insert). */
@Controller()
@UseFilters(PassThroughRpcExceptions)
export class WebhookEventsConsumer {
  constructor(
    // Used by @CreateRequestContext: every message gets its own EntityManager context.
    private readonly orm: MikroORM,
    private readonly recordEvent: RecordWebhookEventUseCase,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  @EventPattern(MessagePattern.WebhookEvent)
  @CreateRequestContext()
  async handle(@Payload() body: unknown, @Ctx() ctx: AmqpContext): Promise<number> {
    let created: number;
    try {
      // The body as published, byte for byte: it is what every attempt sends and signs.
      created = await this.recordEvent.execute(body, ctx.message.content.toString('utf8'));
    } catch (e) {
      throw toMessageDisposition(e);
    }
    WebhookMetrics.eventsRecorded.inc({ result: created > 0 ? 'matched' : 'unmatched' });
    if (created > 0) this.dispatcher.kick();
    return created;
  }
}
