import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';

const REMEMBERED = 10_000;

/** Creates the User row on a subject's first call (idempotent; remembers recent subjects to skip the write). */
@Injectable()
export class UserDirectory {
  private readonly known = new Set<string>();

  constructor(private readonly em: EntityManager) {}

  async ensure(id: string): Promise<void> {
    if (this.known.has(id)) return;
    await this.em.execute('insert into app_user (id, created_at) values (?, now()) on conflict (id) do nothing', [id]);
    if (this.known.size >= REMEMBERED) this.known.clear();
    this.known.add(id);
  }
}
