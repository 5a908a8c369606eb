import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsEnum, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsWebhookUrl, MAX_WEBHOOK_URL_LENGTH, SUBSCRIBABLE_EVENTS } from '../webhook-target';
import { WebhookScope } from '../webhook-subscription.entity';

const EVENTS_MESSAGE = `each value in events must be one of: ${SUBSCRIBABLE_EVENTS.join(', ')}`;

/** Body of POST /v1/webhooks. */
export class CreateWebhookSubscriptionCommand {
  /**
   * https in production (WEBHOOK_REQUIRE_HTTPS); refused with a 400 naming the reason when it is, or resolves to, a loopback, private, link-local or metadata address
   * @example 'https://hooks.example.com/uploads'
   */
  @MaxLength(MAX_WEBHOOK_URL_LENGTH)
  @IsWebhookUrl()
  url!: string;

  /**
   * routing keys of the domain events (see /docs/asyncapi.json), or ["*"]
   * @example ["session.completed", "group.completed"]
   */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SUBSCRIBABLE_EVENTS.length)
  @ArrayUnique()
  @IsIn(SUBSCRIBABLE_EVENTS, { each: true, message: EVENTS_MESSAGE })
  events!: string[];

  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  /** own (default): your uploads' events; all: every user's (administrators only) */
  @IsOptional()
  @IsEnum(WebhookScope)
  scope?: WebhookScope;
}

export { EVENTS_MESSAGE };
