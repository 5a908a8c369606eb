import { storageEventIdentity, StorageObjectEvent } from '../../storage-event/storage-object-event';
import { UploadSession } from '../../upload/upload-session.entity';
import { reconciledEvent } from './reconcile-uploads.usecase';

const session = new UploadSession({
  id: '2b7a3c1e-1111-4222-8333-444455556666',
  bucket: 'uploads',
  objectKey: 'uploads/2b7a3c1e-1111-4222-8333-444455556666/a.txt',
  filename: 'a.txt',
  contentType: 'text/plain',
  size: 3,
  expiresAt: new Date(),
  jobPlan: [],
});
const stored = { size: 3, etag: '"abc"', contentType: 'text/plain' };

describe('reconciledEvent', () => {
  it('is the creation the store would have announced, with what HEAD says', () => {
    expect(reconciledEvent(session, stored)).toMatchObject({
      kind: 'created',
      bucket: 'uploads',
      key: session.objectKey,
      size: 3,
      etag: '"abc"',
      source: 'reconciler',
    });
  });

  it.each<[string, Partial<StorageObjectEvent>]>([
    ['a Ceph event with a sequencer', { source: 'ceph', sequencer: '17A0B2', eventId: '17A0B2.1.2' }],
    ['an AWS event with only an event time', { source: 'aws', sequencer: null, eventId: null, eventTime: '2026-11-28T01:00:00Z' }],
    ['an event with no ordering field at all', { source: 'minio', sequencer: null, eventId: null, eventTime: null }],
  ])('never has the identity of the real notification (%s): a late one is still applied, as a no-op', (_, real) => {
    const synthesized = reconciledEvent(session, stored);
    expect(storageEventIdentity({ ...synthesized, eventName: 'ObjectCreated:Put', ...real })).not.toBe(storageEventIdentity(synthesized));
  });

  it('has one identity per session: two reconcilers apply it once', () => {
    expect(storageEventIdentity(reconciledEvent(session, stored))).toBe(storageEventIdentity(reconciledEvent(session, stored)));
  });
});
