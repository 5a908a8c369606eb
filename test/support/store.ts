import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { testEnv } from './test-env';

const statusOf = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/**
 * Whether `key` is stored in `bucket`. Only the store's 404 for the object (NotFound / NoSuchKey) means absent, and
 * only while the bucket itself answers: a HEAD has no body, so a missing bucket is a 404 too, and is asked apart.
 * Anything else (a wrong endpoint, bad credentials, a missing bucket, a 5xx) throws: a check that something is gone
 * must not pass because the store could not be asked.
 */
export async function objectExistsIn(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (e) {
    const name = (e as Error).name;
    if (statusOf(e) !== 404 || (name !== 'NotFound' && name !== 'NoSuchKey')) throw e;
  }
  // Throws NotFound (or a 403, ...) unless the bucket is there.
  await s3.send(new HeadBucketCommand({ Bucket: bucket })).catch((e: Error) => {
    throw new Error(`bucket ${bucket} cannot be asked (${statusOf(e) ?? 'no status'} ${e.name}): the object's absence says nothing`);
  });
  return false;
}

/** The test's own view of the store (as an operator would check it), with the namespace's credentials. */
export function storeClient(): { s3: S3Client; bucket: string } {
  const env = testEnv();
  const s3 = new S3Client({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    credentials: { accessKeyId: env.S3_ACCESS_KEY, secretAccessKey: env.S3_SECRET_KEY },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { s3, bucket: env.S3_BUCKET };
}

/** The test namespace's bucket, reached directly as an operator (or a test arranging the world) would. */
export class TestStore {
  readonly bucket: string;
  private readonly client: S3Client;

  constructor() {
    ({ s3: this.client, bucket: this.bucket } = storeClient());
  }

  async put(key: string, body: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, ContentLength: body.length }));
  }

  async get(key: string): Promise<{ body: Buffer; contentType: string | undefined } | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return { body: Buffer.from(await r.Body!.transformToByteArray()), contentType: r.ContentType };
    } catch (e) {
      if (statusOf(e) === 404 && (e as Error).name === 'NoSuchKey') return null;
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    return objectExistsIn(this.client, this.bucket, key);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  close(): void {
    this.client.destroy();
  }
}
