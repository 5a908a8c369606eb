import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { fromBuffer, mimeTypes } from 'file-type';
import { JobType } from '@app/contracts';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { isDeclaredTypeCompatible } from './content-type-compat';
import { JobContext, JobFailure, JobHandler } from './job-handler';

/** Bytes the sniffer needs to recognise every format it knows. */
const SNIFF_BYTES = 4100;

/**
 * VALIDATION: the stored object is what the client declared: its size, its real type (magic numbers
 * in its first bytes) against the declared content type, and, when declared, its SHA-256 (streamed).
 */
@Injectable()
export class ValidationJobHandler implements JobHandler {
  readonly type = JobType.VALIDATION;

  constructor(@Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage) {}

  async run({ session, signal }: JobContext): Promise<Record<string, unknown>> {
    const stored = await this.storage.head(session.objectKey);
    if (!stored) throw JobFailure.permanent(`object ${session.objectKey} is not in storage`);
    if (stored.size !== session.size) throw JobFailure.permanent(`size mismatch: stored ${stored.size} bytes, declared ${session.size}`);

    const head = await this.storage.readRange(session.objectKey, 0, SNIFF_BYTES - 1);
    const detected = await fromBuffer(head);
    const compat = isDeclaredTypeCompatible(session.contentType, detected?.mime, mimeTypes as ReadonlySet<string>);
    const result: Record<string, unknown> = { size: stored.size, declaredType: session.contentType, detectedType: detected?.mime ?? null, detectedExtension: detected?.ext ?? null };
    if (!compat.ok) throw JobFailure.permanent(`type mismatch: ${compat.reason}`, result);

    if (session.checksumSha256) {
      const hash = createHash('sha256');
      const body = await this.storage.stream(session.objectKey);
      try {
        for await (const chunk of body) {
          signal.throwIfAborted();
          hash.update(chunk as Buffer);
        }
      } finally {
        body.destroy();
      }
      const actual = hash.digest('base64');
      result.sha256 = actual;
      if (actual !== session.checksumSha256) throw JobFailure.permanent(`checksum mismatch: SHA-256 is ${actual}, declared ${session.checksumSha256}`, result);
    }
    return result;
  }
}
