import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { isTransientConflict } from '../errors/transient-conflict';
import { OUTBOX_TRIGGER, OutboxTrigger } from '../ports/outbox-trigger.port';

const CONFLICT_ATTEMPTS = 4;

/**
 * Runs work in one MikroORM transaction (the gateway's use cases); once it has committed, tells the outbox relay
 * to publish what it wrote. A deadlock or serialization failure runs the work again, a few times.
 */
@Injectable()
export class UnitOfWork {
  constructor(
    private readonly em: EntityManager,
    @Inject(OUTBOX_TRIGGER) private readonly trigger: OutboxTrigger,
  ) {}

  async run<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.em.transactional(work);
        this.trigger.kick();
        return result;
      } catch (e) {
        if (!isTransientConflict(e) || attempt >= CONFLICT_ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20 * attempt));
      }
    }
  }
}
