import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { WebhookDeliveryStatus, WebhookScope } from '@app/domain';

/*
 * OpenAPI shapes of the webhooks API's responses. Request bodies are documented by the domain's commands that
 * validate them (the Swagger plugin in scripts/build-ts.mjs).
 */

export class WebhookView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ description: 'the owner' }) userId!: string;
  @ApiProperty({ enum: WebhookScope, enumName: 'WebhookScope' }) scope!: WebhookScope;
  @ApiProperty() url!: string;
  @ApiProperty({ type: [String] }) events!: string[];
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ nullable: true, enum: ['GONE', 'FAILING'], description: 'why the platform disabled it (null when its owner did, or it is enabled)' })
  disabledReason!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) disabledAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'first failed attempt since the last success' }) failingSince!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'until then the previous secret signs too' }) previousSecretExpiresAt!:
    string | null;
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
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: "PENDING: next attempt; SENDING: end of the current attempt's lease" })
  nextAttemptAt!: string | null;
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
