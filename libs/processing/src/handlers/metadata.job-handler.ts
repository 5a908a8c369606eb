import { Inject, Injectable } from '@nestjs/common';
import { fromBuffer } from 'file-type';
import sharp from 'sharp';
import { JobType } from '@app/contracts';
import {
  ContentJobHandler,
  JOB_HANDLER_SETTINGS,
  JobContext,
  JobFailure,
  JobHandlerSettings,
  OBJECT_STORAGE,
  ObjectDigest,
  ObjectNeeds,
  ObjectStorage,
  runAlone,
} from '@app/domain';
import { DECODABLE_IMAGE_TYPES, IMAGE_HEADER_BYTES, SNIFF_BYTES } from './image-formats';

/**
 * METADATA: detected MIME type and extension, size; for images width, height, format and EXIF orientation,
 * read from the header only (the first MiB), so a huge image costs no more than a small one.
 * PDFs get no page count: no small, maintained library reads it without loading the whole document.
 */
@Injectable()
export class MetadataJobHandler implements ContentJobHandler {
  readonly type = JobType.METADATA;

  constructor(
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    @Inject(JOB_HANDLER_SETTINGS) private readonly settings: JobHandlerSettings,
  ) {}

  run(ctx: JobContext): Promise<Record<string, unknown>> {
    return runAlone(this.storage, ctx, this);
  }

  needs(): ObjectNeeds {
    return { headBytes: IMAGE_HEADER_BYTES, sha256: false, md5: false };
  }

  async analyze({ session, signal }: JobContext, digest: ObjectDigest | null): Promise<Record<string, unknown>> {
    if (!digest) throw new JobFailure(`object ${session.objectKey} is not in storage`, false);
    signal.throwIfAborted();
    const head = digest.head.subarray(0, IMAGE_HEADER_BYTES);
    const detected = await fromBuffer(head.subarray(0, SNIFF_BYTES));
    const result: Record<string, unknown> = { size: digest.size, mimeType: detected?.mime ?? null, extension: detected?.ext ?? null };
    if (!detected || !DECODABLE_IMAGE_TYPES.has(detected.mime)) return result;
    try {
      const m = await sharp(head, { limitInputPixels: this.settings.maxImagePixels }).metadata();
      return { ...result, image: { width: m.width ?? null, height: m.height ?? null, format: m.format ?? null, orientation: m.orientation ?? null } };
    } catch (e) {
      throw JobFailure.permanent(`unreadable ${detected.mime} header: ${e instanceof Error ? e.message : String(e)}`, result);
    }
  }
}
