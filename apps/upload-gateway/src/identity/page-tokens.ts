import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const RANDOM_CHARS = 43; // 32 bytes, base64url
const MAC_CHARS = 43;

/**
 * Upload tokens this gateway issued itself, for pages that upload with Uppy's S3 plugin (the /demo page's cookie).
 * A token is 32 random bytes and an HMAC of them under a key of the gateway's, so a token a client or a sibling
 * subdomain chose is recognised as not ours and cannot bind Uppy sessions (issue 16: no session fixation).
 * The key is derived from the stream-ticket key (itself SSE_TICKET_SECRET, or derived from JWT_SECRET), so every
 * replica recognises every other's tokens; with neither set, a random key per process.
 */
export class PageTokens {
  private readonly key: Buffer;

  constructor(secret: string | null) {
    this.key = createHmac('sha256', secret ?? randomBytes(32))
      .update('upload-platform page upload tokens v1')
      .digest();
  }

  issue(): string {
    const random = randomBytes(32).toString('base64url');
    return `${random}${this.mac(random)}`;
  }

  isIssued(token: string | null): boolean {
    if (token === null || token.length !== RANDOM_CHARS + MAC_CHARS) return false;
    const given = Buffer.from(token.slice(RANDOM_CHARS), 'utf8');
    const expected = Buffer.from(this.mac(token.slice(0, RANDOM_CHARS)), 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(random: string): string {
    return createHmac('sha256', this.key).update(random).digest('base64url');
  }
}
