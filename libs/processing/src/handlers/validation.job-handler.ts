import { Inject, Injectable } from '@nestjs/common';
import { fromBuffer, mimeTypes } from 'file-type';
import { JobType } from '@app/contracts';
import { ContentJobHandler, JobContext, JobFailure, OBJECT_STORAGE, ObjectDigest, ObjectNeeds, ObjectStorage, runAlone } from '@app/domain';
import { isDeclaredTypeCompatible } from './content-type-compat';
import { SNIFF_BYTES } from './image-formats';

/**
 * VALIDATION: the stored object is what the client declared: its size, its real type (magic numbers
 * in its first bytes) against the declared content type, and, when declared, its SHA-256 (streamed).
 */
@Injectable()
export class ValidationJobHandler implements ContentJobHandler {
  readonly type = JobType.VALIDATION;

  constructor(@Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage) {}

  run(ctx: JobContext): Promise<Record<string, unknown>> {
    return runAlone(this.storage, ctx, this);
  }

  needs({ session }: JobContext): ObjectNeeds {
    return { headBytes: SNIFF_BYTES, sha256: session.checksumSha256 !== null, md5: false };
  }

  async analyze({ session }: JobContext, digest: ObjectDigest | null): Promise<Record<string, unknown>> {
    if (!digest) throw JobFailure.permanent(`object ${session.objectKey} is not in storage`);
    if (digest.size !== session.size) throw JobFailure.permanent(`size mismatch: stored ${digest.size} bytes, declared ${session.size}`);
    const detected = await fromBuffer(digest.head.subarray(0, SNIFF_BYTES));
    const compat = isDeclaredTypeCompatible(session.contentType, detected?.mime, mimeTypes as ReadonlySet<string>);
    const result: Record<string, unknown> = {
      size: digest.size,
      declaredType: session.contentType,
      detectedType: detected?.mime ?? null,
      detectedExtension: detected?.ext ?? null,
    };
    if (!compat.ok) throw JobFailure.permanent(`type mismatch: ${compat.reason}`, result);
    if (session.checksumSha256 !== null && digest.sha256) {
      const actual = digest.sha256.toString('base64');
      result.sha256 = actual;
      if (actual !== session.checksumSha256) throw JobFailure.permanent(`checksum mismatch: SHA-256 is ${actual}, declared ${session.checksumSha256}`, result);
    }
    return result;
  }
}
