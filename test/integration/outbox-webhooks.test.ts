import { MikroORM } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainEventType, FileStatus, SessionEventType } from '@app/contracts';
import { ormConfig, PgSqlDatabase } from '@app/database';
import { Outbox, WebhookScope, WebhookSubscription } from '@app/domain';
import { AmqpConnection, AmqpMessageAddressing, DEFAULT_OUTBOX_RELAY_SETTINGS, OutboxRelay } from '@app/messaging';
import { Metrics } from '@app/observability';
import { Capture } from '../support/broker';
import { waitFor } from '../support/poll';
import { testEnv } from '../support/test-env';

jest.setTimeout(60_000);

/**
 * Outgoing webhooks are recorded by the outbox relay, in the statement that deletes the rows it has published
 * (no broker message, consumer or statement of their own). The contract: a subscription gets every event
 * committed after its own creation (or enabling) committed, with the body exactly as published on RabbitMQ; an
 * event nobody subscribed to writes nothing. Real Postgres and RabbitMQ, the relay and the Outbox as the apps
 * wire them.
 */
describe('outbox relay records webhook deliveries (Postgres + RabbitMQ)', () => {
  const env = testEnv();
  let orm: MikroORM;
  let db: PgSqlDatabase;
  let amqp: AmqpConnection;
  let relay: OutboxRelay;
  let outbox: Outbox;
  let capture: Capture;
  const subscriptions: string[] = [];

  beforeAll(async () => {
    Logger.overrideLogger(false);
    orm = await MikroORM.init({ ...ormConfig(env.DATABASE_URL, { poolMax: 6 }), allowGlobalContext: true });
    db = new PgSqlDatabase(orm);
    amqp = new AmqpConnection({ urls: [env.AMQP_URL], storageEventsExchange: env.STORAGE_EVENTS_EXCHANGE, domainEventsExchange: env.DOMAIN_EVENTS_EXCHANGE });
    await amqp.waitForConnect();
    relay = new OutboxRelay(db, amqp, { ...DEFAULT_OUTBOX_RELAY_SETTINGS, deleteAfterMs: 10, domainEventsExchange: env.DOMAIN_EVENTS_EXCHANGE });
    outbox = new Outbox(new AmqpMessageAddressing(env.DOMAIN_EVENTS_EXCHANGE), relay);
    capture = await Capture.on(env.DOMAIN_EVENTS_EXCHANGE, 'session.*');
  });

  afterAll(async () => {
    await orm?.em.fork().nativeDelete(WebhookSubscription, { id: { $in: subscriptions } });
    await capture?.close();
    await relay?.onApplicationShutdown();
    await amqp?.onApplicationShutdown();
    await orm?.close(true);
  });

  async function aUser(): Promise<string> {
    const userId = `u-${randomUUID()}`;
    await orm.em.fork().execute('insert into app_user (id, created_at) values (?, now())', [userId]);
    return userId;
  }

  async function subscribe(userId: string, props: { events?: string[]; scope?: WebhookScope } = {}): Promise<string> {
    const s = new WebhookSubscription({ userId, url: 'http://127.0.0.1:9/hook', events: props.events ?? ['*'], secret: 'whsec_c2VjcmV0', scope: props.scope });
    await orm.em.fork().persistAndFlush(s);
    subscriptions.push(s.id);
    return s.id;
  }

  /** A session event of `userId` as the pipeline writes it: an outbox row in the writer's transaction. */
  function sessionEvent(userId: string, type: SessionEventType = DomainEventType.SessionCompleted) {
    const id = randomUUID();
    return outbox.sessionEvent(type, {
      id,
      groupId: null,
      userId,
      objectKey: `uploads/${id}/a "quoted" name ✓.txt`,
      bucket: env.S3_BUCKET,
      status: FileStatus.COMPLETED,
      filename: 'a "quoted" name ✓.txt',
      contentType: 'text/plain',
      size: 1,
      error: null,
      errorMessage: null,
    });
  }

  const deliveriesOf = (eventId: string) =>
    db.query<{ subscription_id: string; payload: string; status: string }>(
      'select subscription_id, payload, status from webhook_delivery where event_id = $1',
      [eventId],
    );
  const outboxRows = async (messageIds: string[]) =>
    Number((await db.query<{ n: string }>('select count(*) as n from outbox_message where message_id = any($1::uuid[])', [messageIds]))[0].n);
  /** Every given event published and its row retired (deleted, and recorded where wanted). */
  async function retired(messageIds: string[]): Promise<void> {
    await relay.flush();
    await waitFor(
      () => outboxRows(messageIds),
      (n) => n === 0,
      { what: 'the outbox rows retired' },
    );
  }

  it('records each published event for the subscriptions that want it, with the body exactly as published; nobody subscribed: nothing', async () => {
    const alice = await aUser();
    const nobody = await aUser();
    const aliceAll = await subscribe(alice);
    await subscribe(alice, { events: [DomainEventType.SessionUploaded] });
    const forAlice = sessionEvent(alice);
    const forNobody = sessionEvent(nobody);
    const recordedBefore = (await Metrics.webhookDeliveriesRecorded.get()).values[0]?.value ?? 0;
    await db.transaction((tx) => outbox.write(tx, [forAlice, forNobody]));
    await retired([forAlice.messageId, forNobody.messageId]);

    const recorded = await deliveriesOf(forAlice.messageId);
    // Alice's session.uploaded-only subscription does not want a session.completed.
    expect(recorded.map((d) => d.subscription_id)).toEqual([aliceAll]);
    expect(await deliveriesOf(forNobody.messageId)).toEqual([]);
    expect((await Metrics.webhookDeliveriesRecorded.get()).values[0].value - recordedBefore).toBe(1);
    // The body a receiver gets is the one RabbitMQ carried, byte for byte.
    await capture.fence();
    const published = capture.messages.find((m) => m.properties.messageId === forAlice.messageId);
    expect(published).toBeDefined();
    expect(recorded[0].payload).toBe(JSON.stringify(published!.body));
    expect(JSON.parse(recorded[0].payload)).toEqual(forAlice.payload);
  });

  /** The event's outbox row, held by no relay: as a writer that died after its commit, or a relay that died before its delete, leaves it. */
  const unheldRow = (event: { exchange: string; routingKey: string; messageId: string; payload: unknown }) =>
    db.query(
      `insert into outbox_message (exchange, routing_key, message_id, payload, priority, headers, created_at, claimed_until)
       values ($1, $2, $3, $4::jsonb, null, null, now(), null)`,
      [event.exchange, event.routingKey, event.messageId, JSON.stringify(event.payload)],
    );

  it('a subscription created while an event’s transaction is open gets the event, which commits after it', async () => {
    const bob = await aUser();
    const event = sessionEvent(bob);
    let subscription = '';
    await db.transaction(async (tx) => {
      await outbox.write(tx, [event]);
      // Committed while the event's transaction has written its row but not yet committed.
      subscription = await subscribe(bob);
    });
    await retired([event.messageId]);
    expect((await deliveriesOf(event.messageId)).map((d) => d.subscription_id)).toEqual([subscription]);
  });

  it('rows written without the relay holding them (MikroORM, a dead writer) are recorded by the poll that publishes them', async () => {
    const carol = await aUser();
    const subscription = await subscribe(carol);
    const event = sessionEvent(carol);
    // As a writer whose process died after its commit: the row waits, held by nobody, for a poll.
    await unheldRow(event);
    relay.kick();
    await retired([event.messageId]);
    expect((await deliveriesOf(event.messageId)).map((d) => [d.subscription_id, d.status])).toEqual([[subscription, 'PENDING']]);
  });

  it('an event published twice (a crash between confirm and delete) is one delivery', async () => {
    const dave = await aUser();
    const subscription = await subscribe(dave);
    const event = sessionEvent(dave);
    await db.transaction((tx) => outbox.write(tx, [event]));
    await retired([event.messageId]);
    // The same row again, as a relay that died before its delete would leave it.
    await unheldRow(event);
    relay.kick();
    await retired([event.messageId]);
    expect((await deliveriesOf(event.messageId)).map((d) => d.subscription_id)).toEqual([subscription]);
  });
});
