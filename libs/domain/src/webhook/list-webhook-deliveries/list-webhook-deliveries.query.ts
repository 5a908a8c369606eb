import { IsEnum, IsOptional } from 'class-validator';
import { PageQuery } from '../../pagination/page.query';
import { WebhookDeliveryStatus } from '../webhook-delivery-status';

/** Query of GET /v1/webhooks/:id/deliveries. */
export class ListWebhookDeliveriesQuery extends PageQuery {
  @IsOptional()
  @IsEnum(WebhookDeliveryStatus)
  status?: WebhookDeliveryStatus;
}
