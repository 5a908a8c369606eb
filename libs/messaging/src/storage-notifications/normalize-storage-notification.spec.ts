import { decodeEventKey, MalformedNotification, normalizeStorageNotification } from './normalize-storage-notification';

const RAW_KEY = 'uploads/0b6f2b8e-6a43-4c1e-9a51-3f0f3b2d7c11/my file+ü (1).png';
// What MinIO and AWS put in a record: URL-encoded, '+' for a space.
const ENCODED_KEY = 'uploads/0b6f2b8e-6a43-4c1e-9a51-3f0f3b2d7c11/my+file%2B%C3%BC+%281%29.png';

function record(source: string, eventName: string, key: string, extra: Record<string, unknown> = {}) {
  return {
    eventVersion: '2.2',
    eventSource: source,
    awsRegion: 'us-east-1',
    eventTime: '2026-11-28T01:00:00.000Z',
    eventName,
    s3: {
      s3SchemaVersion: '1.0',
      bucket: { name: 'uploads' },
      object: { key, size: 1234, eTag: '"d41d8cd98f00b204e9800998ecf8427e"', sequencer: '17A0B1C2D3E4F5' },
    },
    ...extra,
  };
}

// Shapes as each store sends them (MinIO's AMQP target adds EventName and Key at the top).
const minio = (eventName: string, key = ENCODED_KEY) => ({
  EventName: `s3:${eventName}`,
  Key: `uploads/${key}`,
  Records: [record('minio:s3', `s3:${eventName}`, key)],
});
const aws = (eventName: string, key = ENCODED_KEY) => ({ Records: [record('aws:s3', eventName, key)] });
const ceph = (eventName: string, key = RAW_KEY) => ({ Records: [record('ceph:s3', eventName, key, { eventId: '1732755600.123.d41d8cd9' })] });

describe('decodeEventKey', () => {
  it('decodes MinIO and AWS keys (URL encoding, + for space) and leaves Ceph keys raw', () => {
    expect(decodeEventKey(ENCODED_KEY, 'minio')).toBe(RAW_KEY);
    expect(decodeEventKey(ENCODED_KEY, 'aws')).toBe(RAW_KEY);
    expect(decodeEventKey(RAW_KEY, 'ceph')).toBe(RAW_KEY);
  });
  it('refuses broken URL encoding', () => {
    expect(() => decodeEventKey('bad%E0%A4%A', 'aws')).toThrow(MalformedNotification);
  });
});

describe('normalizeStorageNotification', () => {
  it.each([
    ['MinIO', minio('ObjectCreated:Put'), 'minio'],
    ['AWS', aws('ObjectCreated:Put'), 'aws'],
    ['Ceph', ceph('ObjectCreated:Put'), 'ceph'],
  ])('%s creation → one created event with the decoded key', (_, body, source) => {
    const { events, ignored } = normalizeStorageNotification(body);
    expect(ignored).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'created',
        source,
        bucket: 'uploads',
        key: RAW_KEY,
        size: 1234,
        etag: 'd41d8cd98f00b204e9800998ecf8427e',
        sequencer: '17A0B1C2D3E4F5',
      }),
    ]);
  });

  it.each([
    ['ObjectCreated:Post', 'created'],
    ['ObjectCreated:Copy', 'created'],
    ['ObjectCreated:CompleteMultipartUpload', 'created'],
    ['ObjectRemoved:Delete', 'removed'],
    ['ObjectRemoved:DeleteMarkerCreated', 'removed'],
  ])('Ceph %s → %s', (eventName, kind) => {
    const [event] = normalizeStorageNotification(ceph(eventName)).events;
    expect(event.kind).toBe(kind);
    expect(event.eventName).toBe(eventName);
    if (kind === 'removed') expect(event.size).toBeNull();
  });

  it('MinIO removal keeps the s3: prefix out of the event name', () => {
    const [event] = normalizeStorageNotification(minio('ObjectRemoved:Delete')).events;
    expect(event).toMatchObject({ kind: 'removed', eventName: 'ObjectRemoved:Delete', key: RAW_KEY });
  });

  it('ignores event names it does not act on', () => {
    expect(normalizeStorageNotification(minio('ObjectAccessed:Get'))).toEqual({ events: [], recordIndices: [], ignored: ['s3:ObjectAccessed:Get'] });
    expect(normalizeStorageNotification(aws('ObjectRestore:Completed'))).toEqual({ events: [], recordIndices: [], ignored: ['ObjectRestore:Completed'] });
  });

  it('handles several records in one body, each event knowing its record', () => {
    const body = { Records: [...ceph('ObjectCreated:Put').Records, ...ceph('ObjectAccessed:Get').Records, ...ceph('ObjectRemoved:Delete').Records] };
    const normalized = normalizeStorageNotification(body);
    expect(normalized.events.map((e) => e.kind)).toEqual(['created', 'removed']);
    expect(normalized.recordIndices).toEqual([0, 2]);
  });

  it.each([
    ['null', null],
    ['a string', 'hello'],
    ['an array', [1, 2]],
    ['no Records', { foo: 1 }],
    ['Records not an array', { Records: 'x' }],
    ['a record that is not an object', { Records: [42] }],
    ['no eventName', { Records: [{ s3: {} }] }],
    ['no s3 section', { Records: [{ eventName: 'ObjectCreated:Put' }] }],
    ['no key', { Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: {} } }] }],
    ['a negative size', { Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: 'k', size: -1 } } }] }],
    ['a MinIO envelope without records', { EventName: 's3:ObjectCreated:Put', Key: 'b/k', Records: [] }],
  ])('refuses %s as malformed', (_, body) => {
    expect(() => normalizeStorageNotification(body)).toThrow(MalformedNotification);
  });
});
