/** Declared types that name the same thing as the detected one. */
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/mp3': 'audio/mpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'application/x-zip-compressed': 'application/zip',
  'application/x-pdf': 'application/pdf',
  'image/x-png': 'image/png',
  'video/x-m4v': 'video/mp4',
};

/** Formats stored inside a zip container: the sniffer may see only the container. */
const ZIP_FAMILY = /^application\/(vnd\.openxmlformats-officedocument\.|vnd\.oasis\.opendocument\.|epub\+zip|java-archive|vnd\.android\.package-archive)/;

export function normalizeMime(type: string): string {
  const t = type.split(';')[0].trim().toLowerCase();
  return ALIASES[t] ?? t;
}

/**
 * Whether the real type (sniffed from the first bytes; undefined when the sniffer recognises nothing)
 * fits the declared content type. `detectable` lists the types the sniffer can recognise: declaring one
 * of those for content it does not recognise is a mismatch; text-like types it can't sniff pass.
 */
export function isDeclaredTypeCompatible(declared: string, detected: string | undefined, detectable: ReadonlySet<string>): { ok: boolean; reason?: string } {
  const want = normalizeMime(declared);
  if (want === 'application/octet-stream') return { ok: true };
  if (detected === undefined) {
    return detectable.has(want) ? { ok: false, reason: `content is not ${want} (no ${want} signature in its first bytes)` } : { ok: true };
  }
  const got = normalizeMime(detected);
  if (got === want) return { ok: true };
  if (got === 'application/zip' && ZIP_FAMILY.test(want)) return { ok: true };
  if (got === 'application/xml' && (want === 'text/xml' || want.endsWith('+xml'))) return { ok: true };
  return { ok: false, reason: `content is ${got}, declared ${want}` };
}
