import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsBoolean, IsIn, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import { EVENTS_MESSAGE } from '../create-webhook-subscription/create-webhook-subscription.command';
import { IsWebhookUrl, MAX_WEBHOOK_URL_LENGTH, SUBSCRIBABLE_EVENTS } from '../webhook-target';

/** Body of PATCH /v1/webhooks/:id: the fields to change. */
export class UpdateWebhookSubscriptionCommand {
  /** checked like at creation */
  @IsOptional()
  @MaxLength(MAX_WEBHOOK_URL_LENGTH)
  @IsWebhookUrl()
  url?: string;

  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SUBSCRIBABLE_EVENTS.length)
  @ArrayUnique()
  @IsIn(SUBSCRIBABLE_EVENTS, { each: true, message: EVENTS_MESSAGE })
  events?: string[];

  /** false stops deliveries (waiting ones fail, replayable); true resumes, also after the platform disabled it */
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  /** null clears it. */
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @MaxLength(500)
  description?: string | null;
}
