// Plain JavaScript: no compile hook in the measured process.
import { createServer } from 'node:http';
import { Server } from '@tus/server';
import { S3Store } from '@tus/s3-store';

/**
 * What a user would pick instead of pre-signed URLs: @tus/server with @tus/s3-store in front of the same
 * bucket (bytes go through this process). Run as a child process of the benchmark so its CPU and memory
 * show apart. Settings from the environment: TUS_PORT, TUS_PART_SIZE, S3_*.
 */
const env = process.env;
const tus = new Server({
  path: '/files',
  datastore: new S3Store({
    partSize: Number(env.TUS_PART_SIZE ?? 8 * 1024 * 1024),
    s3ClientConfig: {
      bucket: env.S3_BUCKET,
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION ?? 'us-east-1',
      credentials: { accessKeyId: env.S3_ACCESS_KEY, secretAccessKey: env.S3_SECRET_KEY },
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    },
  }),
});

createServer((req, res) => {
  if (req.url === '/health/ready') return void res.writeHead(200).end('ok');
  tus.handle(req, res).catch((e) => {
    console.error(e);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
}).listen(Number(env.TUS_PORT), '127.0.0.1');

process.on('SIGTERM', () => process.exit(0));
