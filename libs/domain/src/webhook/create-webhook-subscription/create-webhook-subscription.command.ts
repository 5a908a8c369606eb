import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsEnum, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsWebhookUrl, SUBSCRIBABLE_EVENTS } from '../webhook-target';
import { WebhookScope } from '../webhook-subscription.entity';

const EVENTS_MESSAGE = `each value in events must be one of: ${SUBSCRIBABLE_EVENTS.join(', ')}`;

/** Body of POST /v1/webhooks. */
export class CreateWebhookSubscriptionCommand {
  /** Where deliveries are POSTed: https in production; never a loopback, private, link-local or metadata address. */
  @IsWebhookUrl()
  url!: string;

  /** Event types (routing keys), or `["*"]` for all. */
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(SUBSCRIBABLE_EVENTS.length) @ArrayUnique() @IsIn(SUBSCRIBABLE_EVENTS, { each: true, message: EVENTS_MESSAGE })
  events!: string[];

  @IsOptional() @IsString() @MaxLength(500)
  description?: string;

  /** `own` (default): events of the caller's uploads; `all`: every user's (administrators only). */
  @IsOptional() @IsEnum(WebhookScope)
  scope?: WebhookScope;
}

export { EVENTS_MESSAGE };
