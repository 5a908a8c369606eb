import { EntityManager, MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { Injectable, NestMiddleware } from '@nestjs/common';
import type { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request's EntityManager, forked the first time the request asks for it. MikroORM's own middleware forks on
 * every request, and a fork is not free (each one writes process.env twice, in Configuration.set): 3.5% of the
 * gateway's CPU on GET /v1/uploads/:id, a route that never touches the ORM (the hot routes run on SqlDatabase).
 */
class ForkOnFirstUse extends Map<string, EntityManager> {
  private forking = false;

  constructor(private readonly root: EntityManager) {
    super();
  }

  override get(name: string): EntityManager | undefined {
    const known = super.get(name);
    // While forking, the new fork resolves its own context: none yet, so itself.
    if (known || name !== this.root.name || this.forking) return known;
    this.forking = true;
    try {
      // disableContextResolution: fork the root itself (resolving the context would land here again).
      const em = this.root.fork({ useContext: true, disableContextResolution: true });
      this.set(name, em);
      return em;
    } finally {
      this.forking = false;
    }
  }
}

/** MikroORM's request context (registerRequestContext), its fork made on first use. */
@Injectable()
export class RequestContextMiddleware implements NestMiddleware {
  private readonly storage = (RequestContext as unknown as { storage: AsyncLocalStorage<RequestContext> }).storage;

  constructor(private readonly orm: MikroORM) {
    // MikroORM keeps its request context in a private AsyncLocalStorage; fail at start if that ever changes.
    if (typeof this.storage?.run !== 'function')
      throw new Error('MikroORM RequestContext.storage is not an AsyncLocalStorage: update RequestContextMiddleware');
  }

  use(_req: unknown, _res: unknown, next: () => void): void {
    this.storage.run(new RequestContext(new ForkOnFirstUse(this.orm.em)), next);
  }
}
