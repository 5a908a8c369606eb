import { DynamicModule, Logger, Module } from '@nestjs/common';
import { GatewayConfig } from '@app/config';
import { GetUploadGroupUseCase, GetUploadUseCase, UploadSessionQueries } from '@app/domain';
import { AmqpConnection, LiveEventsFeed } from '@app/messaging';
import { LIVE_CONFIG, LiveController } from './live.controller';
import { registerLiveGauges } from './live.metrics';
import { LiveStreams } from './live-streams';
import { StreamHub } from './stream-hub';
import { StreamTickets } from './stream-tickets';

const LIVE_GAUGES = Symbol('LiveGauges');

/**
 * Live progress over server-sent events (issue 20): the stream routes, their tickets, the in-memory hub of
 * open streams and this replica's subscription to the domain events exchange (held only while streams are open).
 */
@Module({})
export class LiveModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: LiveModule,
      controllers: [LiveController],
      providers: [
        // Stateless reads; the snapshot is the same JSON as the GETs.
        GetUploadUseCase,
        UploadSessionQueries,
        GetUploadGroupUseCase,
        LiveStreams,
        { provide: LIVE_CONFIG, useValue: config.live },
        { provide: LiveEventsFeed, inject: [AmqpConnection], useFactory: (amqp: AmqpConnection) => new LiveEventsFeed(amqp, config.amqp.domainEventsExchange) },
        {
          provide: StreamHub,
          inject: [LiveEventsFeed],
          useFactory: (feed: LiveEventsFeed) =>
            new StreamHub(feed, {
              maxStreams: config.live.maxStreams,
              maxStreamsPerCaller: config.live.maxStreamsPerCaller,
              heartbeatMs: config.live.heartbeatMs,
              feedTimeoutMs: 5_000,
            }),
        },
        {
          provide: StreamTickets,
          useFactory: () => {
            if (config.live.ticketSecret === null) {
              new Logger('LiveModule').warn('neither SSE_TICKET_SECRET nor JWT_SECRET is set: stream tickets open streams on this replica only');
            }
            return new StreamTickets(config.live.ticketSecret, config.live.ticketTtlMs);
          },
        },
        {
          provide: LIVE_GAUGES,
          inject: [StreamHub, LiveEventsFeed],
          useFactory: (hub: StreamHub, feed: LiveEventsFeed) => registerLiveGauges({ openStreams: () => hub.counts(), subscribed: () => feed.active }),
        },
      ],
    };
  }
}
