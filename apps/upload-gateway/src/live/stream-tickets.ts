import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Actor, DomainError, DomainErrorCode } from '@app/domain';

/** What a live stream follows. */
export type StreamKind = 'session' | 'group';

const VERSION = 'v1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Claims {
  /** kind of resource */
  k: StreamKind;
  /** its id */
  i: string;
  /** the caller who minted it (a hash: counted against their stream limit, never an identity in the URL) */
  c: string;
  /** expiry, ms since the epoch */
  e: number;
}

/**
 * The caller a stream counts against: the user, else the upload token presented, else the client address.
 * Hashed, so the same caller gets the same key whether it opens with headers, a cookie or a ticket it minted.
 */
export function callerKeyOf(actor: Actor, ip: string | undefined): string {
  const who = actor.userId ? `user:${actor.userId}` : actor.uploadToken ? `token:${actor.uploadToken}` : `ip:${ip ?? 'unknown'}`;
  return createHash('sha256').update(who).digest('base64url').slice(0, 22);
}

/**
 * Short-lived, single-purpose stream tickets for browsers' EventSource, which cannot send headers: minted by
 * an authenticated call for one session or group (ownership is checked then), they open that stream only,
 * until they expire. Stateless (HMAC-SHA256), so a ticket minted on one replica opens a stream on any other
 * replica with the same key. Never the bearer token or upload token in a URL.
 */
export class StreamTickets {
  private readonly key: Buffer;

  /** `secret` null: a random key of this process (tickets then open streams on this replica only). */
  constructor(
    secret: string | null,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = secret === null ? randomBytes(32) : Buffer.from(secret, 'utf8');
  }

  mint(kind: StreamKind, id: string, caller: string): { ticket: string; expiresAt: Date } {
    const claims: Claims = { k: kind, i: id.toLowerCase(), c: caller, e: this.now() + this.ttlMs };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { ticket: `${VERSION}.${payload}.${this.sign(payload)}`, expiresAt: new Date(claims.e) };
  }

  /**
   * The caller key of a ticket that opens this stream. A forged, altered or malformed ticket is a 401, a ticket
   * for another session or group a 404 (as for someone else's resource), an expired one a 401 saying so.
   */
  verify(ticket: string, kind: StreamKind, id: string): { caller: string } {
    const claims = this.claimsOf(ticket);
    if (!claims) throw new DomainError(DomainErrorCode.UNAUTHENTICATED, 'ticket is not a valid stream ticket');
    if (claims.k !== kind || !UUID.test(id) || claims.i !== id.toLowerCase()) {
      throw kind === 'session'
        ? new DomainError(DomainErrorCode.SESSION_NOT_FOUND, `Upload ${id} not found`)
        : new DomainError(DomainErrorCode.GROUP_NOT_FOUND, `Group ${id} not found`);
    }
    if (claims.e <= this.now()) throw new DomainError(DomainErrorCode.UNAUTHENTICATED, 'stream ticket expired: mint a new one');
    return { caller: claims.c };
  }

  private claimsOf(ticket: string): Claims | null {
    if (typeof ticket !== 'string' || ticket.length > 1024) return null;
    const [version, payload, signature, ...rest] = ticket.split('.');
    if (version !== VERSION || !payload || !signature || rest.length > 0) return null;
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const c = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<Claims>;
      if ((c.k !== 'session' && c.k !== 'group') || typeof c.i !== 'string' || typeof c.c !== 'string' || typeof c.e !== 'number') return null;
      return c as Claims;
    } catch {
      return null;
    }
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(`${VERSION}.${payload}`).digest('base64url');
  }
}
