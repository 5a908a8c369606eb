/** A storage notification, normalized from whichever store sent it (MinIO, AWS S3, Ceph RGW). */
export interface StorageObjectEvent {
  kind: 'created' | 'removed';
  /** The store's own name of the event, e.g. ObjectCreated:Put. */
  eventName: string;
  /**
   * Who told us: a store's notification, or a stand-in for a lost one: `api` when the gateway saw the object
   * in the store itself, `reconciler` when synthesized from a HEAD of the object by the reconciler.
   */
  source: 'minio' | 'aws' | 'ceph' | 'api' | 'reconciler';
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
