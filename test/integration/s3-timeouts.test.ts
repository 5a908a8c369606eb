import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { S3ObjectStorage } from '@app/storage';

jest.setTimeout(30_000);

/**
 * A store that accepts connections and never answers (a hung RGW): every call fails after the request timeout
 * (each of the SDK's attempts), instead of freezing its caller (the reconciler's HEADs, a consumer's reads).
 */
describe('S3ObjectStorage against a store that never answers', () => {
  let server: Server;
  let storage: S3ObjectStorage;
  let requests = 0;

  beforeAll(async () => {
    server = createServer(() => void requests++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    storage = new S3ObjectStorage({
      endpoint,
      publicEndpoint: endpoint,
      region: 'us-east-1',
      accessKeyId: 'k',
      secretAccessKey: 's',
      bucket: 'hung',
      forcePathStyle: true,
      requestTimeoutMs: 300,
      connectTimeoutMs: 300,
    });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it.each([
    ['HEAD', () => storage.head('a/b.txt')],
    ['GET (the read path)', () => storage.read('a/b.txt')],
    ['DELETE', () => storage.delete('a/b.txt')],
  ])('%s fails within its timeouts', async (_, call) => {
    const before = requests;
    const started = Date.now();
    await expect(call()).rejects.toThrow(/timeout|no answer|ETIMEDOUT/i);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(requests).toBeGreaterThan(before);
  });
});
