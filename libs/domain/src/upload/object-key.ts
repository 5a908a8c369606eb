/**
 * Object keys are made by the server: `uploads/<session id>/<sanitized file name>`. The session id makes
 * every key unique and lets a storage event find its session even when a store mangles the name.
 */
export const UPLOADS_PREFIX = 'uploads/';
export const THUMBNAILS_PREFIX = 'thumbnails/';

const MAX_NAME_BYTES = 200;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const KEY_PATTERN = new RegExp(`^${UPLOADS_PREFIX}(${UUID})/`);

/**
 * A file name safe in a key, a URL and a Content-Disposition: letters and digits of any script, spaces,
 * `.`, `-`, `_`, `(`, `)`. Everything else (separators, `..`, `+`, `%`, controls) becomes `_`.
 */
export function sanitizeFilename(name: string): string {
  let safe = name
    .normalize('NFC')
    .replace(/\s+/g, ' ')
    .replace(/\.{2,}/g, '_')
    .replace(/[^\p{L}\p{M}\p{N} ._()-]/gu, '_')
    .replace(/_{2,}/g, '_')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  while (Buffer.byteLength(safe) > MAX_NAME_BYTES) safe = Array.from(safe).slice(0, -1).join('');
  return /^[\s._]*$/.test(safe) ? 'file' : safe;
}

export function buildObjectKey(sessionId: string, filename: string): string {
  return `${UPLOADS_PREFIX}${sessionId}/${sanitizeFilename(filename)}`;
}

/** The session id a key of ours carries, or null for foreign keys. */
export function sessionIdFromKey(key: string): string | null {
  return KEY_PATTERN.exec(key)?.[1] ?? null;
}
