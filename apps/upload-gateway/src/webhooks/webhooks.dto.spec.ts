import 'reflect-metadata';
import { getMetadataStorage } from 'class-validator';
import { CreateWebhookSubscriptionCommand, UpdateWebhookSubscriptionCommand } from '@app/domain';
import { CreateWebhookBody, UpdateWebhookBody } from './webhooks.dto';

// @nestjs/swagger's metadata key of a class's documented properties (DECORATORS.API_MODEL_PROPERTIES_ARRAY).
const API_MODEL_PROPERTIES_ARRAY = 'swagger/apiModelPropertiesArray';
type Cls = new () => object;
const validated = (cls: Cls) => [...new Set(getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false).map((m) => m.propertyName))].sort();
const documented = (cls: Cls) => [...new Set(((Reflect.getMetadata(API_MODEL_PROPERTIES_ARRAY, cls.prototype) ?? []) as string[]).map((n) => n.replace(/^:/, '')))].sort();

describe('webhook request bodies in OpenAPI describe exactly what the domain commands accept', () => {
  it.each<[string, Cls, Cls]>([
    ['POST /v1/webhooks', CreateWebhookSubscriptionCommand, CreateWebhookBody],
    ['PATCH /v1/webhooks/:id', UpdateWebhookSubscriptionCommand, UpdateWebhookBody],
  ])('%s', (_, command, body) => {
    expect(documented(body)).toEqual(validated(command));
  });
});
