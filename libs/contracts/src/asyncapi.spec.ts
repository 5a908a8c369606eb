import { Parser } from '@asyncapi/parser';
import { asyncApiDocument } from './asyncapi';
import { DOMAIN_EVENT_CATALOGUE } from './event-schemas';
import { DomainEventType } from './messages';
import { WebhookHeader } from './webhooks';

/**
 * The AsyncAPI document is generated from libs/contracts; the AsyncAPI project's own parser (with its
 * validation rules) must accept it, and it must name exactly the routing keys the code publishes: every
 * domain event is written to the outbox with its DomainEventType as routing key (Outbox, WebhookEvents).
 */
describe('AsyncAPI document', () => {
  const doc = asyncApiDocument({ domainEventsExchange: 'uploads.events', version: '1' });

  it('parses with the AsyncAPI parser without errors', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    const errors = diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('.')}: ${d.message}`);
    expect(errors).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toBe('3.0.0');
  }, 30_000);

  it('has one AMQP channel per published routing key, and no other', async () => {
    const { document } = await new Parser().parse(JSON.stringify(doc));
    const amqpAddresses = document!
      .channels()
      .all()
      .filter((c) => c.bindings().has('amqp'))
      .map((c) => c.address());
    expect(new Set(amqpAddresses)).toEqual(new Set(Object.values(DomainEventType)));
    expect(amqpAddresses).toHaveLength(Object.values(DomainEventType).length);
    for (const type of Object.values(DomainEventType)) {
      const channel = document!
        .channels()
        .all()
        .find((c) => c.address() === type)!;
      const [message] = channel.messages().all();
      const properties = message.payload()!.properties()!;
      expect(properties.type.const()).toBe(type);
      expect(Object.keys(properties.data.properties()!)).toEqual(Object.keys((doc as any).components.schemas[DOMAIN_EVENT_CATALOGUE[type].data].properties));
    }
  }, 30_000);

  it('describes the webhook deliveries: every event type, with the Standard Webhooks headers', async () => {
    const { document } = await new Parser().parse(JSON.stringify(doc));
    const webhooks = document!
      .channels()
      .all()
      .find((c) => c.id() === 'webhookDeliveries')!;
    expect(webhooks.messages().all()).toHaveLength(Object.values(DomainEventType).length);
    for (const m of webhooks.messages().all()) {
      expect(m.headers()!.required()).toEqual([WebhookHeader.id, WebhookHeader.timestamp, WebhookHeader.signature]);
    }
  }, 30_000);
});
