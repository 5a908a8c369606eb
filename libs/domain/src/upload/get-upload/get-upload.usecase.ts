import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { Actor, canAccess } from '../../identity/actor';
import { UploadSession } from '../upload-session.entity';
import { SessionDetails, UploadSessionQueries } from '../upload-session.queries';

/** One session with its parts summary and its jobs. */
export type UploadDetails = SessionDetails;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const notFound = (id: string) => new DomainError(DomainErrorCode.SESSION_NOT_FOUND, `Upload ${id} not found`);

/** Loads a session the actor may see, or fails with SESSION_NOT_FOUND (also for other people's sessions). */
export async function findAccessibleSession(em: EntityManager, actor: Actor, id: string): Promise<UploadSession> {
  const session = UUID.test(id) ? await em.findOne(UploadSession, id) : null;
  if (!session || !canAccess(actor, session)) throw notFound(id);
  return session;
}

/** One session with its parts summary and its jobs (GET /v1/uploads/:id, the route clients poll): one statement. */
@Injectable()
export class GetUploadUseCase {
  constructor(private readonly queries: UploadSessionQueries) {}

  async execute(actor: Actor, id: string): Promise<UploadDetails> {
    const details = UUID.test(id) ? await this.queries.details(id) : null;
    if (!details || !canAccess(actor, details.session)) throw notFound(id);
    return details;
  }

  /** Fails exactly as `execute` does when the actor may not see the session, reading nothing but its owner. */
  async assertAccess(actor: Actor, id: string): Promise<void> {
    const owner = UUID.test(id) ? await this.queries.owner(id) : null;
    if (!owner || !canAccess(actor, owner)) throw notFound(id);
  }
}
