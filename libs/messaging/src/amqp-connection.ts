import { Logger, OnApplicationShutdown } from '@nestjs/common';
import amqp, { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, Options } from 'amqplib';
import { declareTopology, ExchangeNames } from './topology';

export interface AmqpSettings extends ExchangeNames {
  url: string;
}

/** Strips credentials from a broker URL before it reaches a log. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * One broker connection per process, reconnecting by itself (amqp-connection-manager). Channels re-run
 * their setup (topology, consumers) on every reconnect; publishes wait for publisher confirms.
 */
export class AmqpConnection implements OnApplicationShutdown {
  private readonly logger = new Logger('AmqpConnection');
  readonly manager: AmqpConnectionManager;
  private readonly publisher: ChannelWrapper;

  constructor(readonly settings: AmqpSettings) {
    this.manager = amqp.connect([settings.url], { heartbeatIntervalInSeconds: 10, reconnectTimeInSeconds: 1 });
    this.manager.on('connect', () => this.logger.log(`connected to ${redactUrl(settings.url)}`));
    this.manager.on('disconnect', ({ err }) => this.logger.warn(`disconnected from broker: ${err?.message ?? 'closed'}`));
    this.publisher = this.channel('publisher', async () => undefined);
  }

  /** A confirm channel whose setup declares the topology first, then runs `setup`. */
  channel(name: string, setup: (ch: ConfirmChannel) => Promise<void>): ChannelWrapper {
    const wrapper = this.manager.createChannel({
      name,
      json: false,
      publishTimeout: 10_000,
      setup: async (ch: ConfirmChannel) => {
        await declareTopology(ch, this.settings);
        await setup(ch);
      },
    });
    // A failed setup (channel closed while it ran, a declaration refused) is emitted as 'error': unheard, it
    // would kill the process. The wrapper sets the channel up again on the next (re)connect.
    wrapper.on('error', (err: Error) => this.logger.warn(`channel "${name}": ${err.message}`));
    return wrapper;
  }

  /** Resolves once the broker has confirmed the message. */
  async publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish): Promise<void> {
    await this.publisher.publish(exchange, routingKey, body, { persistent: true, contentType: 'application/json', ...options });
  }

  isConnected(): boolean {
    return this.manager.isConnected();
  }

  async waitForConnect(timeoutMs = 15_000): Promise<void> {
    await Promise.race([
      this.publisher.waitForConnect(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no broker connection to ${redactUrl(this.settings.url)} after ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.publisher.close().catch(() => undefined);
    await this.manager.close().catch(() => undefined);
  }
}
