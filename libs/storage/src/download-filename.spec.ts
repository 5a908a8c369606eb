import { downloadFilename, S3ObjectStorage } from './s3-object-storage';

const storage = new S3ObjectStorage({
  endpoint: 'http://127.0.0.1:9',
  publicEndpoint: 'https://files.example',
  region: 'us-east-1',
  accessKeyId: 'a',
  secretAccessKey: 'b',
  bucket: 'uploads',
  forcePathStyle: true,
});

/** Issue 16 (low): names with bidi overrides or zero-width characters reached Content-Disposition as they were. */
describe('download file names', () => {
  it.each([
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['a\u2066b\u2069c\u200Fd\u200Ee\u061Cf', 'abcdef'],
    ['pay\u200Bpal\u200C\u200D\u2060.pdf', 'paypal.pdf'],
    ['\uFEFFreport.pdf', 'report.pdf'],
    ['\u202E\u200B', 'download'],
    ['ünïcödé 東京 (1).png', 'ünïcödé 東京 (1).png'],
  ])('%j → %j', (name, safe) => expect(downloadFilename(name)).toBe(safe));

  it('the pre-signed GET asks for the cleaned name only', async () => {
    const { url } = await storage.presignGet('uploads/x/file', { expiresInSeconds: 60, filename: 'invoice\u202Efdp.exe' });
    const disposition = new URL(url).searchParams.get('response-content-disposition')!;
    expect(disposition).toBe(`attachment; filename*=UTF-8''invoicefdp.exe`);
    expect(disposition).not.toMatch(/\p{Cf}|%E2%80%AE/u);
  });
});
