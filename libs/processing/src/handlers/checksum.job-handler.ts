import { Inject, Injectable } from '@nestjs/common';
import { JobType } from '@app/contracts';
import { ContentJobHandler, JobContext, JobFailure, OBJECT_STORAGE, ObjectDigest, ObjectNeeds, ObjectStorage, runAlone, SessionFacts } from '@app/domain';

/** CHECKSUM: SHA-256 and MD5 of the stored object, in one streamed pass (never the whole file in memory). */
@Injectable()
export class ChecksumJobHandler implements ContentJobHandler {
  readonly type = JobType.CHECKSUM;

  constructor(@Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage) {}

  run(ctx: JobContext): Promise<Record<string, unknown>> {
    return runAlone(this.storage, ctx, this);
  }

  needs(): ObjectNeeds {
    return { headBytes: 0, sha256: true, md5: true };
  }

  async analyze({ session }: JobContext, digest: ObjectDigest | null): Promise<Record<string, unknown>> {
    // Transient: the object is either being deleted (the session then goes DELETED and the job is cancelled at
    // its next claim) or not yet visible on an eventually consistent store; retries decide.
    if (!digest) throw new JobFailure(`object ${session.objectKey} is not in storage`, false);
    const sha = digest.sha256!;
    return { size: digest.size, sha256: sha.toString('hex'), sha256Base64: sha.toString('base64'), md5: digest.md5!.toString('hex') };
  }

  sessionFacts(result: Record<string, unknown>): SessionFacts {
    return { sha256: String(result.sha256), md5: String(result.md5) };
  }
}
