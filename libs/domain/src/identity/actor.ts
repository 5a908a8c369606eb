import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Who is calling: an authenticated user (maybe admin), or an anonymous caller with an optional upload token. */
export interface Actor {
  userId: string | null;
  isAdmin: boolean;
  /** The X-Upload-Token an anonymous caller presented. */
  uploadToken: string | null;
}

export const ANONYMOUS: Actor = Object.freeze({ userId: null, isAdmin: false, uploadToken: null });

export interface OwnedResource {
  userId: string | null;
  uploadTokenHash: string | null;
}

export function hashUploadToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newUploadToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashUploadToken(token) };
}

/** Whether the actor may see and act on the resource. Anyone else gets a 404, never a 403. */
export function canAccess(actor: Actor, resource: OwnedResource): boolean {
  if (actor.isAdmin) return true;
  if (resource.userId !== null) return actor.userId === resource.userId;
  if (resource.uploadTokenHash === null || actor.uploadToken === null) return false;
  const presented = Buffer.from(hashUploadToken(actor.uploadToken), 'hex');
  const stored = Buffer.from(resource.uploadTokenHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
