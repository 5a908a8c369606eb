import { THUMBNAILS_PREFIX } from '@app/domain';

/** Types the image handlers decode (sniffed types, as file-type names them). */
export const DECODABLE_IMAGE_TYPES: ReadonlySet<string> = new Set([
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/tiff',
  'image/avif',
  'image/heif',
]);

/** Bytes the sniffer needs to recognise every format it knows. */
export const SNIFF_BYTES = 4100;

/** Bytes read for image metadata: the header, EXIF (≤ 64 KiB per segment) and ICC profile sit well inside. */
export const IMAGE_HEADER_BYTES = 1024 * 1024;

/** The box a thumbnail fits in: the job's `config.size` when it is a sane integer, else the default. */
export function thumbnailBox(config: Record<string, unknown>, fallback: number): number {
  const size = config.size;
  return typeof size === 'number' && Number.isInteger(size) && size >= 16 && size <= 2048 ? size : fallback;
}

/** Where a session's thumbnail lives: under the thumbnails prefix (DELETE /v1/uploads/:id removes it with the file). */
export function thumbnailKey(sessionId: string, box: number): string {
  return `${THUMBNAILS_PREFIX}${sessionId}/${box}.webp`;
}
