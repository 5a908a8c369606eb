#!/usr/bin/env node
// End-to-end check of the store -> RabbitMQ wiring made by provision-store.mjs:
// binds a temporary queue to STORAGE_EVENTS_EXCHANGE (in AMQP_URL's vhost, '#'),
// PUTs a small object into S3_BUCKET with the AWS SDK, deletes it, and waits for
// both notifications. Prints each message (routing key, properties, body).
// Exit 0 when both arrived within CHECK_TIMEOUT_MS (10000), 1 otherwise.
// Note: a consumer queue bound to the same exchange (storage-events) gets these
// two events too, for a key it does not know.
// Settings from the environment, then .env, then .env.example.
// Usage: node scripts/check-store-events.mjs [--quiet]
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import amqp from 'amqplib';
import { loadProjectEnv, required, s3ClientConfig } from './lib/env.mjs';

const env = loadProjectEnv();
const quiet = process.argv.includes('--quiet');
const timeoutMs = Number(env.CHECK_TIMEOUT_MS || 10000);
const key = `_infra-check/${randomUUID()}/my file+ü (1) 100%.txt`;

async function main() {
  const bucket = required(env, 'S3_BUCKET');
  const exchange = required(env, 'STORAGE_EVENTS_EXCHANGE');
  const amqpUrl = required(env, 'AMQP_URL');
  const t0 = Date.now();

  const conn = await amqp.connect(amqpUrl, { timeout: 5000 });
  conn.on('error', () => {});
  try {
    const ch = await conn.createChannel();
    await ch.checkExchange(exchange);
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await ch.bindQueue(queue, exchange, '#');

    const seen = [];
    let resolveAll;
    const allArrived = new Promise((r) => (resolveAll = r));
    await ch.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const body = msg.content.toString('utf8');
        let rec;
        try {
          const parsed = JSON.parse(body);
          rec = parsed?.Records?.[0];
        } catch {
          return;
        }
        // RGW sends keys raw; MinIO and AWS URL-encode them ('+' for a space)
        const raw = String(rec?.s3?.object?.key ?? '');
        let decoded = raw;
        try {
          decoded = decodeURIComponent(raw.replace(/\+/g, ' '));
        } catch {}
        if (raw !== key && decoded !== key) return; // other traffic on the exchange
        seen.push({ routingKey: msg.fields.routingKey, eventName: String(rec.eventName), ms: Date.now() - t0 });
        if (!quiet) {
          console.log(`--- message ${seen.length}: exchange ${msg.fields.exchange}, routing key ${msg.fields.routingKey}`);
          console.log(`properties: ${JSON.stringify(msg.properties)}`);
          console.log(`body: ${body}`);
        }
        if (['ObjectCreated', 'ObjectRemoved'].every((w) => seen.some((s) => s.eventName.includes(w)))) resolveAll();
      },
      { noAck: true },
    );

    const s3 = new S3Client(s3ClientConfig(env));
    const content = Buffer.from('infra check\n');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: content, ContentType: 'text/plain', ContentLength: content.length }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));

    const ok = await Promise.race([allArrived.then(() => true), new Promise((r) => setTimeout(() => r(false), timeoutMs))]);
    const vhost = decodeURIComponent(new URL(amqpUrl).pathname.replace(/^\//, '')) || '/';
    const summary = seen.map((s) => `${s.eventName} (${s.ms} ms, routing key ${s.routingKey})`).join(', ') || 'nothing';
    if (ok) {
      console.log(`check-store-events: ok: bucket ${bucket} -> exchange ${exchange} on vhost ${vhost}: ${summary}`);
      return 0;
    }
    console.error(`check-store-events: FAILED: after ${timeoutMs} ms got ${summary} (wanted ObjectCreated and ObjectRemoved)`);
    return 1;
  } finally {
    await conn.close().catch(() => {});
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`check-store-events: FAILED: ${err?.Code ?? err?.name ?? 'Error'}: ${err?.message ?? err}`);
    process.exit(1);
  },
);
