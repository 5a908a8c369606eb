import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { ObjectStorage } from '../../ports/object-storage.port';
import { SqlDatabase } from '../../ports/sql.port';
import { PurgeFailedObjectsUseCase } from './purge-failed-objects.usecase';

const due = [
  { id: 'a', object_key: 'uploads/a/x.txt', upload_id: null },
  { id: 'b', object_key: 'uploads/b/y.bin', upload_id: 'mpu-b' },
  { id: 'c', object_key: 'uploads/c/z.txt', upload_id: null },
];

/** The store as the use case sees it: what it was asked to remove; one key it cannot delete (the store is failing for it). */
function fakeStore(failingKey: string | null) {
  const calls: string[] = [];
  const storage = {
    bucket: 'uploads',
    abortMultipartUpload: async (key: string, uploadId: string) => void calls.push(`abort ${key} ${uploadId}`),
    delete: async (key: string) => {
      if (key === failingKey) throw new Error('503 Slow Down');
      calls.push(`delete ${key}`);
    },
    deletePrefix: async (prefix: string) => void calls.push(`deletePrefix ${prefix}`),
  } as unknown as ObjectStorage;
  return { storage, calls };
}

function build(failingKey: string | null) {
  const recorded: string[][] = [];
  const db = { query: async () => due, transaction: async <T>(work: (tx: unknown) => Promise<T>) => work({}) } as unknown as SqlDatabase;
  const lifecycle = { markFailedObjectsDeleted: async (_tx: unknown, ids: string[]) => (recorded.push([...ids].sort()), ids) } as unknown as LifecycleWriter;
  const store = fakeStore(failingKey);
  return { useCase: new PurgeFailedObjectsUseCase(db, lifecycle, store.storage), recorded, calls: store.calls };
}

describe('PurgeFailedObjectsUseCase', () => {
  it("removes each failed session's object, thumbnails and open multipart upload, then records them in one statement", async () => {
    const { useCase, recorded, calls } = build(null);
    expect(await useCase.execute({ batchSize: 10, failedObjectRetentionMs: 0 })).toEqual({ failedObjectsDeleted: 3 });
    expect(recorded).toEqual([['a', 'b', 'c']]);
    expect(calls.sort()).toEqual(
      [
        'abort uploads/b/y.bin mpu-b',
        'delete uploads/a/x.txt',
        'delete uploads/b/y.bin',
        'delete uploads/c/z.txt',
        'deletePrefix thumbnails/a/',
        'deletePrefix thumbnails/b/',
        'deletePrefix thumbnails/c/',
      ].sort(),
    );
  });

  it('a session whose deletion fails is not recorded (next pass retries it); the others are', async () => {
    const { useCase, recorded } = build('uploads/b/y.bin');
    expect(await useCase.execute({ batchSize: 10, failedObjectRetentionMs: 0 })).toEqual({ failedObjectsDeleted: 2 });
    expect(recorded).toEqual([['a', 'c']]);
  });
});
