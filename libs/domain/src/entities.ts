import { UploadGroup } from './group/upload-group.entity';
import { ProcessingJob } from './job/processing-job.entity';
import { OutboxMessage } from './outbox/outbox-message.entity';
import { ProcessedStorageEvent } from './storage-event/processed-storage-event.entity';
import { FilePart } from './upload/file-part.entity';
import { UploadSession } from './upload/upload-session.entity';
import { User } from './user/user.entity';
import { WebhookDelivery } from './webhook/webhook-delivery.entity';
import { WebhookSubscription } from './webhook/webhook-subscription.entity';

/** Every persisted entity (for the ORM configuration). */
export const ENTITIES = [User, UploadGroup, UploadSession, FilePart, ProcessingJob, OutboxMessage, ProcessedStorageEvent, WebhookSubscription, WebhookDelivery];
