import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { PartStatus } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { Actor, canAccess } from '../../identity/actor';
import { ProcessingJob } from '../../job/processing-job.entity';
import { FilePart } from '../file-part.entity';
import { UploadSession } from '../upload-session.entity';

export interface UploadDetails {
  session: UploadSession;
  jobs: ProcessingJob[];
  parts: { total: number; uploaded: number; uploadedBytes: number };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Loads a session the actor may see, or fails with SESSION_NOT_FOUND (also for other people's sessions). */
export async function findAccessibleSession(em: EntityManager, actor: Actor, id: string): Promise<UploadSession> {
  const session = UUID.test(id) ? await em.findOne(UploadSession, id) : null;
  if (!session || !canAccess(actor, session)) throw new DomainError(DomainErrorCode.SESSION_NOT_FOUND, `Upload ${id} not found`);
  return session;
}

/** One session with its parts summary and its jobs. */
@Injectable()
export class GetUploadUseCase {
  constructor(private readonly em: EntityManager) {}

  async execute(actor: Actor, id: string): Promise<UploadDetails> {
    const session = await findAccessibleSession(this.em, actor, id);
    const [jobs, parts] = await Promise.all([
      this.em.find(ProcessingJob, { sessionId: id }, { orderBy: { createdAt: 'asc', priority: 'asc' } }),
      this.em.find(FilePart, { sessionId: id }, { fields: ['status', 'size'] }),
    ]);
    const uploaded = parts.filter((p) => p.status === PartStatus.UPLOADED);
    return {
      session,
      jobs,
      parts: { total: session.totalParts, uploaded: uploaded.length, uploadedBytes: uploaded.reduce((n, p) => n + p.size, 0) },
    };
  }
}
