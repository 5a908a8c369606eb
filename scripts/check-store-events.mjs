#!/usr/bin/env node
// End-to-end check of the store -> RabbitMQ wiring made by provision-store.mjs:
// binds a temporary queue to STORAGE_EVENTS_EXCHANGE (in AMQP_URL's vhost, '#'),
// PUTs a small object into S3_BUCKET with the AWS SDK, deletes it, and waits for
// both notifications. Prints each message (routing key, properties, body).
// Exit 0 when both arrived within CHECK_TIMEOUT_MS (10000), 1 otherwise.
// Settings from the environment, then .env, then .env.example.
// Usage: node scripts/check-store-events.mjs [--quiet]
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import amqp from 'amqplib';
import { loadProjectEnv, required, s3ClientConfig } from './lib/env.mjs';

const env = loadProjectEnv();
const quiet = process.argv.includes('--quiet');
const timeoutMs = Number(env.CHECK_TIMEOUT_MS || 10000);
const bucket = required(env, 'S3_BUCKET');
const exchange = required(env, 'STORAGE_EVENTS_EXCHANGE');
const key = `_infra-check/${randomUUID()}/my file+ü (1) 100%.txt`;
const t0 = Date.now();

const conn = await amqp.connect(required(env, 'AMQP_URL'), { timeout: 5000 });
const ch = await conn.createChannel();
await ch.checkExchange(exchange);
const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
await ch.bindQueue(queue, exchange, '#');

const seen = [];
let resolveWait;
const wanted = ['ObjectCreated', 'ObjectRemoved'];
const allArrived = new Promise((r) => (resolveWait = r));
await ch.consume(
  queue,
  (msg) => {
    if (!msg) return;
    const body = msg.content.toString('utf8');
    let parsed;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    const rec = parsed?.Records?.[0];
    const objKey = rec?.s3?.object?.key;
    // other traffic on the exchange (another upload in progress) is ignored
    if (objKey !== key && decodeURIComponent(String(objKey ?? '').replace(/\+/g, ' ')) !== key) return;
    seen.push({ routingKey: msg.fields.routingKey, eventName: rec.eventName ?? parsed.EventName, ms: Date.now() - t0 });
    if (!quiet) {
      console.log(`--- message ${seen.length}: exchange ${msg.fields.exchange}, routing key ${msg.fields.routingKey}`);
      console.log(`properties: ${JSON.stringify(msg.properties)}`);
      console.log(`body: ${body}`);
    }
    if (wanted.every((w) => seen.some((s) => String(s.eventName).includes(w)))) resolveWait();
  },
  { noAck: true },
);

const s3 = new S3Client(s3ClientConfig(env));
const content = Buffer.from('infra check\n');
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: content, ContentType: 'text/plain', ContentLength: content.length }));
await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));

const ok = await Promise.race([allArrived.then(() => true), new Promise((r) => setTimeout(() => r(false), timeoutMs))]);
await conn.close().catch(() => {});
const vhost = new URL(env.AMQP_URL).pathname.replace(/^\//, '') || '/';
const summary = seen.map((s) => `${s.eventName} (${s.ms} ms, routing key ${s.routingKey})`).join(', ') || 'nothing';
if (ok) {
  console.log(`check-store-events: ok: bucket ${bucket} -> exchange ${exchange} on vhost ${decodeURIComponent(vhost)}: ${summary}`);
  process.exit(0);
}
console.error(`check-store-events: FAILED: after ${timeoutMs} ms got ${summary} (wanted ObjectCreated and ObjectRemoved)`);
process.exit(1);
