import { applyDecorators, Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import {
  Actor,
  CreateWebhookSubscriptionCommand,
  CreateWebhookSubscriptionUseCase,
  DeleteWebhookSubscriptionUseCase,
  GetWebhookSubscriptionUseCase,
  ListWebhookDeliveriesUseCase,
  ListWebhookSubscriptionsUseCase,
  RetryWebhookDeliveryUseCase,
  RotateWebhookSecretUseCase,
  UpdateWebhookSubscriptionCommand,
  UpdateWebhookSubscriptionUseCase,
  WebhookDeliveryStatus,
} from '@app/domain';
import { ApiErrors } from '../errors/api-errors.decorator';
import { CurrentActor } from '../identity/auth.guard';
import { presentDelivery, presentWebhook, presentWebhookWithSecret } from './webhook.presenter';
import { WebhookDeliveryPageView, WebhookDeliveryView, WebhookPageView, WebhookView, WebhookWithSecretView } from './webhooks.dto';

const WebhookId = () => ApiParam({ name: 'id', format: 'uuid', description: 'webhook subscription id' });
const Page = () =>
  applyDecorators(
    ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' }),
    ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100 } }),
  );

/**
 * Outgoing webhooks: domain events (see /docs/asyncapi.json) POSTed to a subscriber's URL, signed per
 * Standard Webhooks, retried for about a day, replayable. A subscription belongs to its owner (someone
 * else's is a 404); an admin sees every subscription and may subscribe to every user's events.
 */
@ApiTags('webhooks')
@ApiBearerAuth()
@ApiErrors(401, 503)
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(
    private readonly createSubscription: CreateWebhookSubscriptionUseCase,
    private readonly listSubscriptions: ListWebhookSubscriptionsUseCase,
    private readonly getSubscription: GetWebhookSubscriptionUseCase,
    private readonly updateSubscription: UpdateWebhookSubscriptionUseCase,
    private readonly deleteSubscription: DeleteWebhookSubscriptionUseCase,
    private readonly rotateSecret: RotateWebhookSecretUseCase,
    private readonly listDeliveries: ListWebhookDeliveriesUseCase,
    private readonly retryDelivery: RetryWebhookDeliveryUseCase,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ operationId: 'createWebhook', summary: 'Subscribe a URL to domain events; the signing secret is shown once' })
  @ApiBody({ type: CreateWebhookSubscriptionCommand })
  @ApiCreatedResponse({ type: WebhookWithSecretView })
  @ApiErrors(400)
  async create(@CurrentActor() actor: Actor, @Body() body: unknown) {
    return presentWebhookWithSecret(await this.createSubscription.execute(actor, body));
  }

  @Get()
  @ApiOperation({ operationId: 'listWebhooks', summary: "The caller's subscriptions (an admin's: everyone's)" })
  @Page()
  @ApiOkResponse({ type: WebhookPageView })
  @ApiErrors(400)
  async list(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>) {
    const page = await this.listSubscriptions.execute(actor, query);
    return { items: page.items.map(presentWebhook), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getWebhook', summary: 'One subscription' })
  @WebhookId()
  @ApiOkResponse({ type: WebhookView })
  @ApiErrors(404)
  async get(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentWebhook(await this.getSubscription.execute(actor, id));
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateWebhook', summary: 'Change the URL, the events, the description, or enable / disable' })
  @WebhookId()
  @ApiBody({ type: UpdateWebhookSubscriptionCommand })
  @ApiOkResponse({ type: WebhookView })
  @ApiErrors(400, 404)
  async update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: unknown) {
    return presentWebhook(await this.updateSubscription.execute(actor, id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteWebhook', summary: 'Delete the subscription and its deliveries' })
  @WebhookId()
  @ApiNoContentResponse({ description: 'deleted' })
  @ApiErrors(404)
  async remove(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<void> {
    await this.deleteSubscription.execute(actor, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'rotateWebhookSecret',
    summary: 'A new signing secret (shown once); the previous one keeps signing beside it for WEBHOOK_SECRET_ROTATION_GRACE_SECONDS',
  })
  @WebhookId()
  @ApiOkResponse({ type: WebhookWithSecretView })
  @ApiErrors(404)
  async rotate(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentWebhookWithSecret(await this.rotateSecret.execute(actor, id));
  }

  @Get(':id/deliveries')
  @ApiOperation({ operationId: 'listWebhookDeliveries', summary: 'Deliveries of the subscription, newest first' })
  @WebhookId()
  @Page()
  @ApiQuery({ name: 'status', required: false, enum: WebhookDeliveryStatus, enumName: 'WebhookDeliveryStatus' })
  @ApiOkResponse({ type: WebhookDeliveryPageView })
  @ApiErrors(400, 404)
  async deliveries(@CurrentActor() actor: Actor, @Param('id') id: string, @Query() query: Record<string, unknown>) {
    const page = await this.listDeliveries.execute(actor, id, query);
    return { items: page.items.map((d) => presentDelivery(d)), nextCursor: page.nextCursor };
  }

  @Get(':id/deliveries/:deliveryId')
  @ApiOperation({ operationId: 'getWebhookDelivery', summary: 'One delivery, with the event it sends' })
  @WebhookId()
  @ApiParam({ name: 'deliveryId', format: 'uuid' })
  @ApiOkResponse({ type: WebhookDeliveryView })
  @ApiErrors(404)
  async delivery(@CurrentActor() actor: Actor, @Param('id') id: string, @Param('deliveryId') deliveryId: string) {
    return presentDelivery(await this.listDeliveries.one(actor, id, deliveryId), true);
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(202)
  @ApiOperation({ operationId: 'retryWebhookDelivery', summary: 'Replay a delivery now: same body, same webhook-id, a fresh retry schedule' })
  @WebhookId()
  @ApiParam({ name: 'deliveryId', format: 'uuid' })
  @ApiAcceptedResponse({ type: WebhookDeliveryView, description: 'due now; the delivering app sends it within WEBHOOK_POLL_INTERVAL_MS' })
  @ApiErrors(404, 409)
  async retry(@CurrentActor() actor: Actor, @Param('id') id: string, @Param('deliveryId') deliveryId: string) {
    return presentDelivery(await this.retryDelivery.execute(actor, id, deliveryId));
  }
}
