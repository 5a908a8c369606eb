import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { DomainEventType, WEBHOOK_ALL_EVENTS } from '@app/contracts';
import { WebhookDeliveryStatus, WebhookScope } from '@app/domain';

/*
 * OpenAPI shapes of the webhooks API. Requests are validated by the domain's commands (libs/domain);
 * webhooks.dto.spec.ts fails when a command gains or loses a field these do not describe.
 */

const EVENTS = [WEBHOOK_ALL_EVENTS, ...Object.values(DomainEventType)];

export class CreateWebhookBody {
  @ApiProperty({
    maxLength: 2048,
    example: 'https://hooks.example.com/uploads',
    description: 'https in production (WEBHOOK_REQUIRE_HTTPS); refused with a 400 naming the reason when it is, or resolves to, a loopback, private, link-local or metadata address',
  })
  url!: string;
  @ApiProperty({ type: [String], enum: EVENTS, example: ['session.completed', 'group.completed'], description: 'routing keys of the domain events (see /docs/asyncapi.json), or ["*"]' })
  events!: string[];
  @ApiPropertyOptional({ maxLength: 500 }) description?: string;
  @ApiPropertyOptional({ enum: WebhookScope, enumName: 'WebhookScope', description: "own (default): your uploads' events; all: every user's (administrators only)" })
  scope?: WebhookScope;
}

export class UpdateWebhookBody {
  @ApiPropertyOptional({ maxLength: 2048, description: 'checked like at creation' }) url?: string;
  @ApiPropertyOptional({ type: [String], enum: EVENTS }) events?: string[];
  @ApiPropertyOptional({ description: 'false stops deliveries (waiting ones fail, replayable); true resumes, also after the platform disabled it' }) enabled?: boolean;
  @ApiPropertyOptional({ maxLength: 500, nullable: true, type: String }) description?: string | null;
}

export class WebhookView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ description: 'the owner' }) userId!: string;
  @ApiProperty({ enum: WebhookScope, enumName: 'WebhookScope' }) scope!: WebhookScope;
  @ApiProperty() url!: string;
  @ApiProperty({ type: [String] }) events!: string[];
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ nullable: true, enum: ['GONE', 'FAILING'], description: 'why the platform disabled it (null when its owner did, or it is enabled)' }) disabledReason!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) disabledAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'first failed attempt since the last success' }) failingSince!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'until then the previous secret signs too' }) previousSecretExpiresAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt!: string;
}

export class WebhookWithSecretView extends WebhookView {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', description: 'the signing secret: shown only now; keep it secret' }) secret!: string;
}

export class WebhookPageView {
  @ApiProperty({ type: [WebhookView] }) items!: WebhookView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class WebhookDeliveryView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) subscriptionId!: string;
  @ApiProperty({ format: 'uuid', description: 'the webhook-id header of every attempt: the event id' }) webhookId!: string;
  @ApiProperty({ example: 'session.completed' }) eventType!: string;
  @ApiProperty({ enum: WebhookDeliveryStatus, enumName: 'WebhookDeliveryStatus' }) status!: WebhookDeliveryStatus;
  @ApiProperty({ description: 'attempts made' }) attempts!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'PENDING: next attempt; SENDING: end of the current attempt\'s lease' }) nextAttemptAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastAttemptAt!: string | null;
  @ApiProperty({ nullable: true, type: Number, description: "the receiver's last HTTP status" }) lastStatusCode!: number | null;
  @ApiProperty({ nullable: true, type: Number }) lastLatencyMs!: number | null;
  @ApiProperty({ nullable: true, type: String, example: 'HTTP 500' }) lastError!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) deliveredAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt!: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'the event as sent (one delivery only)' }) event?: unknown;
}

export class WebhookDeliveryPageView {
  @ApiProperty({ type: [WebhookDeliveryView] }) items!: WebhookDeliveryView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
