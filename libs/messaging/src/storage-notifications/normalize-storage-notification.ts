import type { StorageObjectEvent } from '@app/domain';

/** A notification body we cannot read at all. */
export class MalformedNotification extends Error {
  constructor(reason: string) {
    super(`malformed storage notification: ${reason}`);
    this.name = 'MalformedNotification';
  }
}

export interface NormalizedNotification {
  events: StorageObjectEvent[];
  /** For each event, the index of its record in the body's `Records`. */
  recordIndices: number[];
  /** Event names of records we do not act on (e.g. ObjectAccessed:Get). */
  ignored: string[];
}

type Source = StorageObjectEvent['source'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sourceOf(record: Record<string, unknown>, body: Record<string, unknown>): Source {
  const s = typeof record.eventSource === 'string' ? record.eventSource.toLowerCase() : '';
  if (s.startsWith('ceph')) return 'ceph';
  if (s.startsWith('minio') || 'EventName' in body) return 'minio';
  return 'aws';
}

/**
 * MinIO and AWS URL-encode keys in records, with `+` for a space; Ceph RGW sends them raw.
 * So decoding depends on who sent the event.
 */
export function decodeEventKey(key: string, source: Source): string {
  if (source === 'ceph') return key;
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    throw new MalformedNotification(`object key is not valid URL encoding: ${key.slice(0, 200)}`);
  }
}

function kindOf(eventName: string): StorageObjectEvent['kind'] | null {
  const name = eventName.replace(/^s3:/, '');
  if (name.startsWith('ObjectCreated:')) return 'created';
  if (name.startsWith('ObjectRemoved:')) return 'removed';
  return null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/**
 * Turns a storage notification body, in MinIO's shape (`EventName`, `Key`, `Records`) or AWS S3's and
 * Ceph RGW's (`Records` only), into our events. Throws MalformedNotification for bodies that are not
 * notifications at all; unknown event names are reported as ignored, not as errors.
 */
export function normalizeStorageNotification(body: unknown): NormalizedNotification {
  if (!isObject(body)) throw new MalformedNotification('body is not an object');
  if (!Array.isArray(body.Records)) throw new MalformedNotification('no Records array');
  if (body.Records.length === 0 && typeof body.EventName === 'string') {
    throw new MalformedNotification(`MinIO event ${body.EventName} without records`);
  }
  const result: NormalizedNotification = { events: [], recordIndices: [], ignored: [] };
  body.Records.forEach((record: unknown, i: number) => {
    if (!isObject(record)) throw new MalformedNotification(`Records[${i}] is not an object`);
    const eventName = str(record.eventName);
    if (!eventName) throw new MalformedNotification(`Records[${i}].eventName is missing`);
    const kind = kindOf(eventName);
    if (!kind) {
      result.ignored.push(eventName);
      return;
    }
    const s3 = record.s3;
    if (!isObject(s3) || !isObject(s3.bucket) || !isObject(s3.object)) throw new MalformedNotification(`Records[${i}].s3 is incomplete`);
    const bucket = str(s3.bucket.name);
    const rawKey = str(s3.object.key);
    if (!bucket || !rawKey) throw new MalformedNotification(`Records[${i}] has no bucket name or object key`);
    const size = s3.object.size;
    if (size !== undefined && size !== null && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) {
      throw new MalformedNotification(`Records[${i}].s3.object.size is not a byte count`);
    }
    const source = sourceOf(record, body);
    result.recordIndices.push(i);
    result.events.push({
      kind,
      eventName: eventName.replace(/^s3:/, ''),
      source,
      bucket,
      key: decodeEventKey(rawKey, source),
      size: kind === 'created' && typeof size === 'number' ? size : null,
      etag: str(s3.object.eTag)?.replace(/^"|"$/g, '') ?? null,
      sequencer: str(s3.object.sequencer),
      eventId: str(record.eventId) ?? (isObject(record.responseElements) ? str(record.responseElements['x-amz-request-id']) : null),
      eventTime: str(record.eventTime),
    });
  });
  return result;
}
