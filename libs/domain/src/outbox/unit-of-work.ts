import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { OUTBOX_TRIGGER, OutboxTrigger } from '../ports/outbox-trigger.port';

/** Runs work in one transaction; once it has committed, tells the outbox relay to publish what it wrote. */
@Injectable()
export class UnitOfWork {
  constructor(
    private readonly em: EntityManager,
    @Inject(OUTBOX_TRIGGER) private readonly trigger: OutboxTrigger,
  ) {}

  async run<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    const result = await this.em.transactional(work);
    this.trigger.kick();
    return result;
  }
}
