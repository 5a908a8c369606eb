import { MikroORM } from '@mikro-orm/postgresql';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { OBJECT_STORAGE, ObjectStorage } from '@app/domain';
import { AmqpConnection } from '@app/messaging';

/** A dependency that does not answer within this time is down: a probe must never hang. */
const CHECK_TIMEOUT_MS = 2_000;

function withinDeadline<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** How long a channel may be reopening before readiness reports it. */
const CHANNEL_GRACE_MS = 5_000;

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Readiness checks of what every app depends on. Each answers `{ <key>: { status: 'up' | 'down', message? } }`
 * (terminus' shape); none throws, so one slow dependency never hides the state of the others.
 */
@Injectable()
export class DependencyHealthIndicators {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly orm: MikroORM,
    private readonly amqp: AmqpConnection,
    @Optional() @Inject(OBJECT_STORAGE) private readonly objectStorage?: ObjectStorage,
  ) {}

  /** Postgres answers a trivial query on the app's own pool. */
  async database(): Promise<HealthIndicatorResult<'database'>> {
    const check = this.indicators.check('database');
    try {
      await withinDeadline(this.orm.em.getConnection().execute('select 1'));
      return check.up();
    } catch (e) {
      return check.down({ message: reason(e) });
    }
  }

  /**
   * The broker connection is open, the topology is what this version declares, and every channel (the publisher,
   * each consumer) is open: a channel the broker closed is reopened by itself, and readiness says so meanwhile
   * (after a short grace, so that a reopening does not flap the probe).
   */
  broker(): HealthIndicatorResult<'broker'> {
    const check = this.indicators.check('broker');
    if (this.amqp.topologyError) return check.down({ message: this.amqp.topologyError.message });
    const channels = Object.fromEntries(this.amqp.health().map((c) => [c.name, c.lastError ? `${c.state} (last closed: ${c.lastError})` : c.state]));
    if (!this.amqp.isConnected()) return check.down({ message: 'not connected to RabbitMQ', channels });
    const stuck = this.amqp.health().filter((c) => c.state !== 'open' && Date.now() - c.since.getTime() > CHANNEL_GRACE_MS);
    if (stuck.length > 0) return check.down({ message: `channel(s) not open: ${stuck.map((c) => c.name).join(', ')}`, channels });
    return check.up({ channels });
  }

  /** The bucket answers HeadBucket with our credentials. */
  async storage(): Promise<HealthIndicatorResult<'storage'>> {
    const check = this.indicators.check('storage');
    if (!this.objectStorage) return check.down({ message: 'no object storage configured' });
    try {
      await withinDeadline(this.objectStorage.ping());
      return check.up();
    } catch (e) {
      return check.down({ message: reason(e) });
    }
  }
}
