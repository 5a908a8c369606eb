import { raw } from '@mikro-orm/core';
import { DomainError } from '../errors/domain-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Keyset pagination over (createdAt desc, id desc): the cursor is the last item's position, opaque to clients. */
export interface Position {
  createdAt: Date;
  id: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.createdAt.toISOString(), p.id])).toString('base64url');
}

export function decodeCursor(cursor: string): Position {
  try {
    const [t, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(t);
    // Only instants a row can have: Postgres refuses years JavaScript accepts (e.g. -200000 or +275760).
    const year = createdAt.getUTCFullYear();
    if (typeof id !== 'string' || !UUID.test(id) || Number.isNaN(createdAt.getTime()) || year < 1970 || year > 9999) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw DomainError.invalid([{ field: 'cursor', message: 'must be a cursor returned by a previous page' }]);
  }
}

/**
 * The `where` that continues after a position, for MikroORM: a row comparison, which Postgres applies as an
 * index condition on (…, created_at, id). (`created_at < ? OR (created_at = ? AND id < ?)` is only a filter,
 * so page k would read k pages of rows.)
 */
export function after(p: Position | null): object {
  if (!p) return {};
  return { [raw((alias: string) => `(${alias}.created_at, ${alias}.id) < (?, ?)`, [p.createdAt, p.id])]: [] };
}

/** Fetch limit+1 rows, return limit and a cursor when there is more. */
export function toPage<T extends Position>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
