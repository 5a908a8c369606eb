import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { JobType } from '@app/contracts';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { JobContext, JobHandler, SessionFacts } from './job-handler';
import { forEachChunk } from './stored-object';

/** CHECKSUM: SHA-256 and MD5 of the stored object, in one streamed pass (never the whole file in memory). */
@Injectable()
export class ChecksumJobHandler implements JobHandler {
  readonly type = JobType.CHECKSUM;

  constructor(@Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage) {}

  async run({ session, signal }: JobContext): Promise<Record<string, unknown>> {
    const sha256 = createHash('sha256');
    const md5 = createHash('md5');
    const size = await forEachChunk(this.storage, session.objectKey, signal, (chunk) => {
      sha256.update(chunk);
      md5.update(chunk);
    });
    const sha = sha256.digest();
    return { size, sha256: sha.toString('hex'), sha256Base64: sha.toString('base64'), md5: md5.digest('hex') };
  }

  sessionFacts(result: Record<string, unknown>): SessionFacts {
    return { sha256: String(result.sha256), md5: String(result.md5) };
  }
}
