import { MikroORM } from '@mikro-orm/postgresql';
import { Controller, Get, HttpCode, Inject, Optional, ServiceUnavailableException } from '@nestjs/common';
import { OBJECT_STORAGE, ObjectStorage } from '@app/domain';
import { AmqpConnection } from '@app/messaging';

type Check = { status: 'up' | 'down'; error?: string };

async function check(fn: () => Promise<unknown> | unknown, timeoutMs = 2_000): Promise<Check> {
  try {
    await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref())]);
    return { status: 'up' };
  } catch (e) {
    return { status: 'down', error: e instanceof Error ? e.message : String(e) };
  }
}

/** Liveness (the process answers) and readiness (its dependencies answer) for Kubernetes probes. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly orm: MikroORM,
    private readonly amqp: AmqpConnection,
    @Optional() @Inject(OBJECT_STORAGE) private readonly storage?: ObjectStorage,
  ) {}

  @Get('live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready() {
    const checks: Record<string, Check> = {
      database: await check(() => this.orm.em.getConnection().execute('select 1')),
      broker: await check(() => {
        if (!this.amqp.isConnected()) throw new Error('not connected');
      }),
    };
    if (this.storage) checks.storage = await check(() => this.storage!.ping());
    const ok = Object.values(checks).every((c) => c.status === 'up');
    if (!ok) throw new ServiceUnavailableException({ status: 'error', checks });
    return { status: 'ok', checks };
  }
}
