import { BeforeApplicationShutdown, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AmqpConnectionManager, AmqpConnectionManagerClass } from 'amqp-connection-manager';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options, Replies } from 'amqplib';
import { declareTopology, TopologyMismatch, TopologySettings } from './topology';

export interface AmqpSettings extends TopologySettings {
  /** Every node of the broker (one URL for a single node): connections go to them in turn, the next one when a connection is lost. */
  urls: string[];
}

/** Strips credentials from a broker URL before it reaches a log. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** Heartbeats every 5 s (unless a URL names its own): a dead peer behind a silent network is noticed within about 10 s. */
const HEARTBEAT_SECONDS = 5;
/** Pause before the next connection attempt (to the next URL of the list). */
const RECONNECT_SECONDS = 1;
/** A node that does not answer at all (host gone, packets dropped) is given up after this, for the next URL. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Pauses before reopening a channel the broker closed (grows to the last one). */
const BACKOFF_MS = [250, 1_000, 2_000, 5_000];
/** A publish the broker has not confirmed within this time has failed (the row stays in the outbox). */
const CONFIRM_TIMEOUT_MS = 10_000;

export type ChannelState = 'opening' | 'open' | 'closed';
export type DrainStage = 'work' | 'publish';

export interface ChannelHealth {
  name: string;
  state: ChannelState;
  /** When it entered that state. */
  since: Date;
  /** Why the broker closed it last (e.g. a consumer acknowledgement timeout), if it did. */
  lastError?: string;
  consumers: number;
}

type Setup = (ch: ConfirmChannel, channel: ManagedChannel) => Promise<void>;

/**
 * A channel that stays open: opened on every (re)connection, and reopened when the broker closes it alone (a
 * consumer acknowledgement timeout, a precondition failure, any channel error) — amqp-connection-manager's own
 * ChannelWrapper only does so on a full reconnect, leaving a consumer silently stopped. `setup` runs on every opening (prefetch,
 * consumers). Its state is part of readiness.
 */
export class ManagedChannel {
  channel: ConfirmChannel | null = null;
  state: ChannelState = 'closed';
  since = new Date();
  lastError?: string;
  private readonly consumerTags = new Set<string>();
  private closedOnPurpose = false;
  private reopenAttempt = 0;

  constructor(
    readonly name: string,
    private readonly setup: Setup,
    private readonly owner: AmqpConnection,
  ) {}

  health(): ChannelHealth {
    return { name: this.name, state: this.state, since: this.since, lastError: this.lastError, consumers: this.consumerTags.size };
  }

  /** Consumes `queue` on this channel; the consumer is cancelled by tag at shutdown, and set up again on every opening. */
  async consume(ch: ConfirmChannel, queue: string, onMessage: (msg: ConsumeMessage) => void): Promise<void> {
    if (!this.owner.consuming) return;
    const { consumerTag } = await ch.consume(
      queue,
      (msg) => {
        if (msg) return onMessage(msg);
        // The broker cancelled the consumer (its queue was deleted, a node failed over): consume again on a new channel.
        this.owner.logger.warn(`consumer of ${queue} cancelled by the broker; reopening channel "${this.name}"`);
        this.consumerTags.clear();
        void ch.close().catch(() => undefined);
      },
      { noAck: false },
    );
    this.consumerTags.add(consumerTag);
  }

  /** Stops every consumer of this channel by its tag (deliveries already on the way still arrive). */
  async cancelConsumers(): Promise<void> {
    const ch = this.channel;
    const tags = [...this.consumerTags];
    this.consumerTags.clear();
    if (!ch) return;
    await Promise.all(tags.map((tag) => ch.cancel(tag).catch(() => undefined)));
  }

  async open(conn: ChannelModel): Promise<void> {
    if (this.closedOnPurpose || this.channel) return;
    this.setState('opening');
    let ch: ConfirmChannel;
    try {
      ch = await conn.createConfirmChannel();
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
      return this.scheduleReopen();
    }
    this.channel = ch;
    this.consumerTags.clear();
    ch.on('error', (err: Error) => {
      this.lastError = err.message;
      this.owner.logger.warn(`channel "${this.name}" closed by the broker: ${err.message}`);
    });
    ch.on('close', () => {
      if (this.channel === ch) this.channel = null;
      this.consumerTags.clear();
      this.setState('closed');
      this.scheduleReopen();
    });
    try {
      await this.setup(ch, this);
      this.reopenAttempt = 0;
      this.setState('open');
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
      this.owner.logger.warn(`setting up channel "${this.name}" failed: ${this.lastError}`);
      await ch.close().catch(() => undefined);
    }
  }

  /** Closes it for good: no reopening, and it leaves the connection's channels (readiness no longer lists it). */
  async close(): Promise<void> {
    this.closedOnPurpose = true;
    this.owner.forget(this);
    const ch = this.channel;
    this.channel = null;
    if (ch) await ch.close().catch(() => undefined);
    this.setState('closed');
  }

  private scheduleReopen(): void {
    if (this.closedOnPurpose) return;
    const conn = this.owner.currentConnection();
    // A lost connection reopens every channel once it is back.
    if (!conn) return;
    const delay = BACKOFF_MS[Math.min(this.reopenAttempt++, BACKOFF_MS.length - 1)];
    setTimeout(() => {
      if (this.owner.currentConnection() === conn && !this.channel) void this.open(conn);
    }, delay).unref();
  }

  private setState(state: ChannelState): void {
    if (this.state !== state) this.since = new Date();
    this.state = state;
  }
}

/**
 * One broker connection per process, kept by amqp-connection-manager: it connects to the URLs in turn (a cluster's
 * nodes), with heartbeats, and after a lost connection goes on with the next URL, so a process whose node died
 * carries on through another one, without a restart. On every connection the topology is declared once (not by
 * every channel: a changed queue argument then stops the app with one clear error instead of failing every
 * channel), then every managed channel opens (its consumers resume). Publishes wait for publisher confirms.
 */
export class AmqpConnection implements BeforeApplicationShutdown, OnApplicationShutdown {
  readonly logger = new Logger('AmqpConnection');
  private readonly manager: AmqpConnectionManager;
  /** The connection whose topology is declared and whose channels are open (null while reconnecting). */
  private conn: ChannelModel | null = null;
  private readonly channels = new Set<ManagedChannel>();
  private readonly publisher: ManagedChannel;
  /** For checkQueue (queue depths): a missing queue closes it, it is reopened. */
  private readonly admin: ManagedChannel;
  private closing = false;
  private readonly drainHooks: { stage: DrainStage; hook: () => Promise<void> }[] = [];
  private firstConnection: Promise<void>;
  private resolveFirst!: () => void;
  private rejectFirst!: (e: Error) => void;
  /** While false, no consumer starts (shutdown), and deliveries still arriving are handed back. */
  consuming = true;
  /** The topology could not be declared as this version expects: what differs, and how to migrate. */
  topologyError: TopologyMismatch | null = null;
  /** The node (URL, redacted) of the current connection. */
  connectedTo: string | null = null;

  constructor(readonly settings: AmqpSettings) {
    if (settings.urls.length === 0) throw new Error('AmqpConnection needs at least one broker URL');
    this.firstConnection = new Promise((resolve, reject) => {
      this.resolveFirst = resolve;
      this.rejectFirst = reject;
    });
    this.firstConnection.catch(() => undefined);
    this.publisher = this.channel('publisher', async () => undefined);
    this.admin = this.channel('admin', async () => undefined);
    this.manager = new AmqpConnectionManagerClass(settings.urls, {
      heartbeatIntervalInSeconds: HEARTBEAT_SECONDS,
      reconnectTimeInSeconds: RECONNECT_SECONDS,
      // noDelay: amqplib leaves Nagle's algorithm on, so a small frame (a publish, an ack) written while an earlier
      // one is unacknowledged waits for the broker's delayed TCP ACK (40 ms on Linux): every hop of an event paid it.
      connectionOptions: { timeout: CONNECT_TIMEOUT_MS, noDelay: true },
    });
    this.manager.on(
      'connect',
      ({ connection, url }) => void this.onConnect(connection as unknown as ChannelModel, typeof url === 'string' ? url : '(options)'),
    );
    this.manager.on('disconnect', ({ err }) => {
      if (this.conn === null) return;
      this.conn = null;
      const from = this.connectedTo;
      this.connectedTo = null;
      if (!this.closing) this.logger.warn(`disconnected from broker ${from}: ${err?.message ?? 'closed'}; trying the next node`);
    });
    this.manager.on('connectFailed', ({ err, url }) => {
      if (!this.closing) this.logger.warn(`cannot connect to ${typeof url === 'string' ? redactUrl(url) : 'broker'}: ${err.message}`);
    });
    this.manager.on('blocked', ({ reason }) => this.logger.warn(`broker blocked publishing: ${reason}`));
    // Retries go on in the background until the first connection (and after every loss); only a refused login rejects here.
    this.manager.connect().catch((e: unknown) => this.logger.error(`broker refused the connection: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** The current connection, once its topology is declared (null while reconnecting). */
  currentConnection(): ChannelModel | null {
    return this.conn !== null && (this.manager.connection as unknown) === this.conn ? this.conn : null;
  }

  /** A confirm channel kept open; `setup` runs on every opening (after the topology is declared). */
  channel(name: string, setup: Setup): ManagedChannel {
    const managed = new ManagedChannel(name, setup, this);
    this.channels.add(managed);
    const conn = this.currentConnection();
    if (conn) void managed.open(conn);
    return managed;
  }

  /** A channel closed for good (ManagedChannel.close) is no longer opened on reconnects nor listed in health. */
  forget(channel: ManagedChannel): void {
    this.channels.delete(channel);
  }

  /** Resolves once the broker has confirmed the message; rejects at once when there is no channel to publish on. */
  publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish): Promise<void> {
    const ch = this.publisher.channel;
    if (!ch) return Promise.reject(new Error('not connected to the broker'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no publisher confirm within ${CONFIRM_TIMEOUT_MS} ms`)), CONFIRM_TIMEOUT_MS);
      try {
        ch.publish(exchange, routingKey, body, { persistent: true, contentType: 'application/json', ...options }, (err) => {
          clearTimeout(timer);
          if (err) reject(err instanceof Error ? err : new Error(String(err)));
          else resolve();
        });
      } catch (e) {
        clearTimeout(timer);
        reject(e);
      }
    });
  }

  /** A queue's message count (ready) and consumers, on a channel of its own (a missing queue closes it: reopened). */
  async checkQueue(queue: string): Promise<Replies.AssertQueue> {
    const ch = this.admin.channel;
    if (!ch) throw new Error('not connected to the broker');
    return ch.checkQueue(queue);
  }

  isConnected(): boolean {
    return this.currentConnection() !== null && this.publisher.state === 'open';
  }

  /** Every channel's state, for readiness. */
  health(): ChannelHealth[] {
    return [...this.channels].map((c) => c.health());
  }

  /**
   * Resolves at the first connection with the topology declared; rejects if the broker holds a topology this
   * version cannot use (TopologyMismatch): apps stop at start then, naming the queue and the argument.
   */
  ready(): Promise<void> {
    return this.firstConnection;
  }

  /** Resolves once connected and the topology declared; rejects on a topology mismatch or after `timeoutMs`. */
  async waitForConnect(timeoutMs = 15_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.firstConnection,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no broker connection to ${this.settings.urls.map(redactUrl).join(', ')} after ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /**
   * Work to finish before the connection closes, once consumption has stopped and the messages in flight are
   * handled: first every `work` hook (e.g. jobs still running without a message of their own), then every
   * `publish` hook (the outbox relay's last publishes, which the work may have written).
   */
  onDrain(hook: () => Promise<void>, stage: DrainStage = 'publish'): void {
    this.drainHooks.push({ stage, hook });
  }

  async drain(): Promise<void> {
    for (const stage of ['work', 'publish'] as const) {
      await Promise.all(
        this.drainHooks
          .filter((h) => h.stage === stage)
          .map((h) => h.hook().catch((e: unknown) => this.logger.warn(`draining before shutdown: ${e instanceof Error ? e.message : String(e)}`))),
      );
    }
  }

  /** Stops every consumer by its tag: after the signal, no message starts (those on the way are handed back). */
  async stopConsuming(): Promise<void> {
    this.consuming = false;
    await Promise.all([...this.channels].map((c) => c.cancelConsumers()));
  }

  /** SIGTERM: consumption stops first, before anything else shuts down. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stopConsuming();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    for (const c of [...this.channels]) await c.close();
    this.conn = null;
    await this.manager.close().catch(() => undefined);
  }

  /** A new connection (to whichever node answered): the topology first, then every channel. */
  private async onConnect(conn: ChannelModel, url: string): Promise<void> {
    try {
      await this.declareTopology(conn);
    } catch (e) {
      if ((this.manager.connection as unknown) !== conn || this.closing) return;
      if (e instanceof TopologyMismatch) {
        this.topologyError = e;
        this.logger.error(e.message);
        this.rejectFirst(e);
        // Nothing will change by itself: look again later (an operator may have migrated meanwhile).
        setTimeout(() => this.reconnectIfCurrent(conn), 30_000).unref();
      } else {
        // E.g. a queue whose replicas have no leader yet: try again (on the next node).
        this.logger.warn(`declaring the topology on ${redactUrl(url)} failed: ${e instanceof Error ? e.message : String(e)}`);
        setTimeout(() => this.reconnectIfCurrent(conn), RECONNECT_SECONDS * 1000).unref();
      }
      return;
    }
    if ((this.manager.connection as unknown) !== conn || this.closing) return;
    this.topologyError = null;
    this.conn = conn;
    this.connectedTo = redactUrl(url);
    this.logger.log(`connected to ${this.connectedTo}`);
    await Promise.all([...this.channels].map((c) => c.open(conn)));
    this.resolveFirst();
  }

  private reconnectIfCurrent(conn: ChannelModel): void {
    if (this.closing || (this.manager.connection as unknown) !== conn) return;
    this.manager.reconnect();
  }

  /** Once per connection, on a channel of its own. */
  private async declareTopology(conn: ChannelModel): Promise<void> {
    const ch = await conn.createChannel();
    let closedWith: Error | null = null;
    ch.on('error', (err: Error) => (closedWith = err));
    try {
      await declareTopology(ch, this.settings);
    } catch (e) {
      throw TopologyMismatch.from(closedWith ?? e) ?? e;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }
}

/**
 * Stops the process (exit 78, as a bad setting does) when the broker's topology differs from what this version
 * declares at its first connection: one clear error naming the queue and the argument, and no half-working app.
 */
export function exitOnTopologyMismatch(amqp: AmqpConnection): void {
  amqp.ready().catch((e: unknown) => {
    if (!(e instanceof TopologyMismatch)) return;
    console.error(e.message);
    process.exit(78);
  });
}
