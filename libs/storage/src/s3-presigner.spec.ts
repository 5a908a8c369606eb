import { GetObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createS3Client, S3Settings } from './s3-object-storage';
import { S3Presigner } from './s3-presigner';

const settings = (over: Partial<S3Settings> = {}): S3Settings => ({
  endpoint: 'http://127.0.0.1:7480',
  publicEndpoint: 'http://127.0.0.1:7480',
  region: 'us-east-1',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  bucket: 'uploads-spec',
  forcePathStyle: true,
  ...over,
});

const KEYS = [
  'uploads/1b4e28ba-2fa1-11d2-883f-0016d3cca427/bench.bin',
  'uploads/1b4e28ba-2fa1-11d2-883f-0016d3cca427/my file (1) ü 100.png',
  "uploads/1b4e28ba-2fa1-11d2-883f-0016d3cca427/it's a*b!c~d_e-f.txt",
  'uploads/1b4e28ba-2fa1-11d2-883f-0016d3cca427/日本語のファイル.pdf',
];
const at = new Date('2026-12-01T10:20:30Z');

/** The presigner's URLs are the AWS SDK's getSignedUrl URLs, byte for byte, for every request we hand out. */
describe('S3Presigner', () => {
  describe.each([
    ['path style, plain http endpoint', settings()],
    [
      'virtual-hosted style, https endpoint with a port',
      settings({ endpoint: 'https://s3.example.test:9443', publicEndpoint: 'https://s3.example.test:9443', forcePathStyle: false }),
    ],
    ['path style, public endpoint with a path', settings({ publicEndpoint: 'https://files.example.test/store', region: 'eu-west-3' })],
  ])('%s', (_, s) => {
    const sdk = createS3Client(s, s.publicEndpoint);
    const ours = new S3Presigner(s);
    afterAll(() => sdk.destroy());

    it.each(KEYS)('PUT with signed content type and length: %s', async (key) => {
      const expected = await getSignedUrl(sdk, new PutObjectCommand({ Bucket: s.bucket, Key: key, ContentType: 'image/png', ContentLength: 4096 }), {
        expiresIn: 900,
        signableHeaders: new Set(['content-type']),
        signingDate: at,
      });
      const url = await ours.presign('PutObject', key, {
        expiresInSeconds: 900,
        headers: { 'content-type': 'image/png', 'content-length': '4096' },
        signingDate: at,
      });
      expect(url).toBe(expected);
      expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    });

    it.each(KEYS)('GET with a content disposition: %s', async (key) => {
      const disposition = `attachment; filename*=UTF-8''${encodeURIComponent(key.split('/').pop()!)}`;
      const expected = await getSignedUrl(sdk, new GetObjectCommand({ Bucket: s.bucket, Key: key, ResponseContentDisposition: disposition }), {
        expiresIn: 600,
        signingDate: at,
      });
      expect(await ours.presign('GetObject', key, { expiresInSeconds: 600, query: { 'response-content-disposition': disposition }, signingDate: at })).toBe(
        expected,
      );
    });

    it('UploadPart, with and without a signed length', async () => {
      const key = KEYS[1];
      for (const length of [8 * 1024 * 1024, undefined]) {
        const expected = await getSignedUrl(
          sdk,
          new UploadPartCommand({ Bucket: s.bucket, Key: key, UploadId: '2~abc/def+ghi=', PartNumber: 17, ContentLength: length }),
          {
            expiresIn: 3600,
            signingDate: at,
          },
        );
        const url = await ours.presign('UploadPart', key, {
          expiresInSeconds: 3600,
          query: { partNumber: '17', uploadId: '2~abc/def+ghi=' },
          headers: length === undefined ? {} : { 'content-length': String(length) },
          signingDate: at,
        });
        expect(url).toBe(expected);
      }
    });
  });
});
