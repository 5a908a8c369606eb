import { DOMAIN_EVENT_CATALOGUE, envelopeSchema, EVENT_DATA_SCHEMAS, JsonSchema } from './event-schemas';
import { DomainEventType } from './messages';
import { WebhookHeader } from './webhooks';

export interface AsyncApiOptions {
  /** The domain events exchange (DOMAIN_EVENTS_EXCHANGE). */
  domainEventsExchange: string;
  /** Version of the platform the document describes. */
  version: string;
}

const AMQP_BINDING = '0.3.0';
const HTTP_BINDING = '0.3.0';

const channelKey = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

/**
 * The event catalogue as an AsyncAPI 3.0 document, generated from libs/contracts (DomainEventType, the
 * catalogue, the data schemas and the webhook headers): each routing key of the domain events exchange is
 * a channel with its message, and the same messages are what webhook deliveries POST, with the Standard
 * Webhooks headers. Served by the gateway at /docs/asyncapi.json.
 */
export function asyncApiDocument(opts: AsyncApiOptions): Record<string, unknown> {
  const types = Object.values(DomainEventType);
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, JsonSchema> = {};
  const webhookMessages: Record<string, unknown> = {};

  for (const [name, schema] of Object.entries(EVENT_DATA_SCHEMAS)) schemas[name] = schema;
  schemas.WebhookHeaders = {
    type: 'object',
    description: 'Standard Webhooks headers of every delivery (https://www.standardwebhooks.com).',
    required: [WebhookHeader.id, WebhookHeader.timestamp, WebhookHeader.signature],
    properties: {
      [WebhookHeader.id]: { type: 'string', description: "the event's id (`id` of the body): the same on every retry and replay; use it to drop duplicates" },
      [WebhookHeader.timestamp]: {
        type: 'string',
        pattern: '^[0-9]+$',
        description: 'Unix seconds of this attempt; refuse deliveries more than a few minutes old',
      },
      [WebhookHeader.signature]: {
        type: 'string',
        pattern: '^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$',
        description:
          'space-separated `v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64-decoded part of the ' +
          "subscription secret (`whsec_<base64>`); during a secret rotation one signature per valid secret. Verify with the SDK's verifyWebhook or any Standard Webhooks library",
      },
      'content-type': { type: 'string', const: 'application/json' },
    },
  };

  for (const type of types) {
    const entry = DOMAIN_EVENT_CATALOGUE[type];
    const key = channelKey(entry.name);
    schemas[`${entry.name}Event`] = envelopeSchema(type, { $ref: `#/components/schemas/${entry.data}` });
    const common = { title: entry.name, summary: entry.summary, contentType: 'application/json', payload: { $ref: `#/components/schemas/${entry.name}Event` } };
    messages[entry.name] = {
      ...common,
      name: entry.name,
      correlationId: { description: 'the upload (session or group) the event belongs to', location: '$message.payload#/correlationId' },
      bindings: { amqp: { messageType: type, bindingVersion: AMQP_BINDING } },
    };
    messages[`${entry.name}Webhook`] = { ...common, name: `${entry.name}Webhook`, headers: { $ref: '#/components/schemas/WebhookHeaders' } };
    webhookMessages[`${entry.name}Webhook`] = { $ref: `#/components/messages/${entry.name}Webhook` };

    channels[key] = {
      address: type,
      title: type,
      description: `Routing key \`${type}\` on the topic exchange \`${opts.domainEventsExchange}\`. ${entry.summary} Messages are persistent, with AMQP message-id = \`id\`; delivery is at least once: deduplicate by \`id\`.`,
      servers: [{ $ref: '#/servers/rabbitmq' }],
      messages: { [entry.name]: { $ref: `#/components/messages/${entry.name}` } },
      bindings: {
        amqp: {
          is: 'routingKey',
          exchange: { name: opts.domainEventsExchange, type: 'topic', durable: true, autoDelete: false, vhost: '/' },
          bindingVersion: AMQP_BINDING,
        },
      },
    };
    operations[`publish${entry.name}`] = {
      action: 'send',
      title: `Publish ${type}`,
      summary: entry.summary,
      channel: { $ref: `#/channels/${key}` },
      messages: [{ $ref: `#/channels/${key}/messages/${entry.name}` }],
      bindings: { amqp: { deliveryMode: 2, bindingVersion: AMQP_BINDING } },
    };
  }

  channels.webhookDeliveries = {
    address: null,
    title: 'Webhook deliveries',
    description:
      'Each event a subscription asked for (POST /v1/webhooks `events`) is POSTed to its URL, the body being the envelope exactly as on RabbitMQ. ' +
      'A 2xx answer is a delivery; anything else (3xx included: redirects are not followed), or no answer within 10 s, is retried with exponential ' +
      'backoff and jitter for about a day (5 s, 5 min, 30 min, 2 h, 5 h, 10 h); 410 Gone disables the subscription. At least once: deduplicate by `webhook-id`.',
    servers: [{ $ref: '#/servers/webhookReceiver' }],
    messages: webhookMessages,
  };
  operations.deliverWebhook = {
    action: 'send',
    title: 'Deliver a webhook',
    summary: 'POST one event to a subscription URL, signed per Standard Webhooks.',
    channel: { $ref: '#/channels/webhookDeliveries' },
    messages: Object.keys(webhookMessages).map((name) => ({ $ref: `#/channels/webhookDeliveries/messages/${name}` })),
    bindings: { http: { method: 'POST', bindingVersion: HTTP_BINDING } },
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Upload platform events',
      version: opts.version,
      description:
        'Domain events of the upload platform, for RabbitMQ consumers (topic exchange `' +
        opts.domainEventsExchange +
        '`) and webhook receivers alike. Body: `{ id, type, occurredAt, version: 1, correlationId?, data }`.',
    },
    defaultContentType: 'application/json',
    servers: {
      rabbitmq: {
        host: 'rabbitmq:5672',
        protocol: 'amqp',
        protocolVersion: '0-9-1',
        description: "The platform's RabbitMQ (AMQP_URL); the vhost is the one the platform uses.",
      },
      webhookReceiver: {
        host: '{receiverHost}',
        protocol: 'https',
        description: 'Your endpoint, as registered with POST /v1/webhooks (https in production).',
        variables: { receiverHost: { description: 'host (and port) of the subscription URL', default: 'hooks.example.com' } },
      },
    },
    channels,
    operations,
    components: { schemas, messages },
  };
}
