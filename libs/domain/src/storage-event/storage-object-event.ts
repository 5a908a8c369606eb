/** A storage notification, normalized from whichever store sent it (MinIO, AWS S3, Ceph RGW). */
export interface StorageObjectEvent {
  kind: 'created' | 'removed';
  /** The store's own name of the event, e.g. ObjectCreated:Put. */
  eventName: string;
  /** `api`: not a notification but what the gateway saw in the store itself (a lost notification's stand-in). */
  source: 'minio' | 'aws' | 'ceph' | 'api';
  bucket: string;
  /** Decoded object key. */
  key: string;
  size: number | null;
  etag: string | null;
  sequencer: string | null;
  eventId: string | null;
  eventTime: string | null;
}

/** What makes two deliveries the same event: a replay has the same identity and changes nothing. */
export function storageEventIdentity(e: StorageObjectEvent): string {
  return JSON.stringify([e.bucket, e.key, e.kind, e.etag ?? '', e.sequencer ?? e.eventId ?? e.eventTime ?? '']);
}
