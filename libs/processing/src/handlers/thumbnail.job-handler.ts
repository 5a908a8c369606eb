import { Inject, Injectable } from '@nestjs/common';
import { fromBuffer } from 'file-type';
import sharp from 'sharp';
import { JobType } from '@app/contracts';
import { JOB_HANDLER_SETTINGS, JobContext, JobFailure, JobHandler, JobHandlerSettings, OBJECT_STORAGE, ObjectStorage } from '@app/domain';
import { DECODABLE_IMAGE_TYPES, SNIFF_BYTES, thumbnailBox, thumbnailKey } from './image-formats';

/**
 * THUMBNAIL: a WebP that fits in a box (job config `size`, else the configured default), EXIF-rotated,
 * never enlarged, written under `thumbnails/<sessionId>/`. The object is streamed into the decoder, whose
 * memory is bounded by a pixel limit. Not an image, or an image that does not decode: permanent failure.
 * A failure of the store while reading or writing is transient and retried.
 */
@Injectable()
export class ThumbnailJobHandler implements JobHandler {
  readonly type = JobType.THUMBNAIL;

  constructor(
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    @Inject(JOB_HANDLER_SETTINGS) private readonly settings: JobHandlerSettings,
  ) {
    // A processor decodes each image once: libvips' operation cache would only hold memory.
    sharp.cache(false);
  }

  async run({ job, session, signal, checkpoint }: JobContext): Promise<Record<string, unknown>> {
    if (!(await this.storage.head(session.objectKey))) throw new JobFailure(`object ${session.objectKey} is not in storage`, false);
    const detected = await fromBuffer(await this.storage.readRange(session.objectKey, 0, SNIFF_BYTES - 1));
    if (!detected || !DECODABLE_IMAGE_TYPES.has(detected.mime)) {
      throw JobFailure.permanent(`not an image this service can read (content is ${detected?.mime ?? 'unrecognised'})`);
    }

    const box = thumbnailBox(job.config, this.settings.thumbnailSize);
    const resize = sharp({ limitInputPixels: this.settings.maxImagePixels, failOn: 'error' })
      .rotate()
      .resize(box, box, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 });
    const source = await this.storage.stream(session.objectKey);
    let sourceError: Error | null = null;
    // Ending the decoder's input makes it fail on what it has: toBuffer settles instead of waiting forever.
    source.once('error', (e: Error) => {
      sourceError = e;
      resize.end();
    });
    const stop = () => source.destroy(signal.reason instanceof Error ? signal.reason : new Error('job aborted'));
    signal.addEventListener('abort', stop, { once: true });
    let out: { data: Buffer; info: { width: number; height: number } };
    try {
      source.pipe(resize);
      out = await resize.toBuffer({ resolveWithObject: true });
    } catch (e) {
      signal.throwIfAborted();
      if (sourceError) throw new JobFailure(`reading the object failed: ${(sourceError as Error).message}`, false);
      throw JobFailure.permanent(`${detected.mime} could not be decoded: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      signal.removeEventListener('abort', stop);
      source.destroy();
    }
    signal.throwIfAborted();

    const key = thumbnailKey(session.id, box);
    // The one write of this job outside the database: not once its lease is gone (another processor owns it).
    checkpoint?.();
    await this.storage.put(key, out.data, { contentType: 'image/webp' });
    return { key, size: out.data.length, width: out.info.width, height: out.info.height, format: 'webp', contentType: 'image/webp', box };
  }
}
