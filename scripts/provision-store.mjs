#!/usr/bin/env node
// Idempotently wire the S3 store (Ceph RGW) to RabbitMQ for one namespace:
//   1. RabbitMQ: the vhost of AMQP_URL (created with rabbitmqctl when it is not '/'
//      and missing) and the durable topic exchanges STORAGE_EVENTS_EXCHANGE and
//      DOMAIN_EVENTS_EXCHANGE in it (RGW does not declare exchanges itself);
//   2. S3: bucket S3_BUCKET with CORS (origins from CORS_ORIGINS, default '*');
//   3. RGW SNS topic STORAGE_EVENTS_TOPIC pushing to amqp://HOST:PORT[/VHOST]
//      (no credentials: RGW then logs in as guest/guest; credentials over plain
//      AMQP are refused unless RGW allows cleartext secrets), exchange
//      STORAGE_EVENTS_EXCHANGE, ack level none; RGW publishes with routing key =
//      topic name;
//   4. the bucket's notification configuration: s3:ObjectCreated:*, s3:ObjectRemoved:*;
//   5. a bucket lifecycle rule (ID abort-incomplete-multipart-uploads, prefix uploads/) aborting multipart
//      uploads left incomplete DaysAfterInitiation = ceil((UPLOAD_EXPIRY_SECONDS + MULTIPART_ABORT_MARGIN_SECONDS)
//      / 1 day) after they began: a backstop behind the reconciler, which aborts them at the session's expiry.
//      Other rules of the bucket are kept. A store that refuses the rule (MinIO: see the README) gets a warning.
// With STORAGE_EVENTS_PUSH_ENDPOINT=http(s)://... the topic pushes over HTTP to that URL instead
// (storage-events' POST /v1/storage-events?token=...; RGW cannot send a header, so the token rides in
// the query). Use such a topic on a bucket of its own: radosgw aborts on a multi-object delete in a
// bucket whose notification waits on an HTTP endpoint.
// Settings from the environment, then .env, then .env.example.
// Usage: node scripts/provision-store.mjs   (prints one line; exit 1 with a reason on failure)
import { execFileSync } from 'node:child_process';
import {
  CreateBucketCommand,
  GetBucketLifecycleConfigurationCommand,
  HeadBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketCorsCommand,
  PutBucketNotificationConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import amqp from 'amqplib';
import { amqpParts, loadProjectEnv, required, s3ClientConfig } from './lib/env.mjs';

const t0 = Date.now();
const env = loadProjectEnv();

async function main() {
  const bucket = required(env, 'S3_BUCKET');
  const amqpUrl = required(env, 'AMQP_URL');
  const storageExchange = required(env, 'STORAGE_EVENTS_EXCHANGE');
  const domainExchange = required(env, 'DOMAIN_EVENTS_EXCHANGE');
  const topicName = required(env, 'STORAGE_EVENTS_TOPIC');
  const origins = (env.CORS_ORIGINS || '*')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const a = amqpParts(amqpUrl);
  const done = [];

  // --- 1. RabbitMQ: vhost and exchanges (before the topic: RGW checks the exchange passively)
  let conn;
  try {
    conn = await amqp.connect(amqpUrl, { timeout: 5000 });
  } catch (err) {
    // a missing vhost shows as the broker closing the connection at open
    // ("Expected ConnectionOpenOk; got <ConnectionClose ...>"); a refused socket is something else
    const unreachable = /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|timeout/i.test(`${err?.code} ${err?.message}`);
    if (a.vhost === '/' || unreachable) {
      throw new Error(`cannot connect to RabbitMQ at ${a.host}:${a.port}: ${err?.message ?? err}`);
    }
    createVhost(a);
    done.push(`created vhost ${a.vhost}`);
    conn = await amqp.connect(amqpUrl, { timeout: 5000 });
  }
  try {
    const ch = await conn.createChannel();
    await ch.assertExchange(storageExchange, 'topic', { durable: true });
    await ch.assertExchange(domainExchange, 'topic', { durable: true });
    await ch.close();
  } finally {
    await conn.close().catch(() => {});
  }

  // --- 2. bucket and CORS
  const s3 = new S3Client(s3ClientConfig(env));
  let bucketState = 'exists';
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const status = err?.$metadata?.httpStatusCode;
    if (status !== 404 && err?.name !== 'NotFound' && err?.name !== 'NoSuchBucket') throw s3Error(err, 'HeadBucket');
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      bucketState = 'created';
    } catch (e) {
      if (e?.name !== 'BucketAlreadyOwnedByYou') throw s3Error(e, 'CreateBucket');
    }
  }
  await s3
    .send(
      new PutBucketCorsCommand({
        Bucket: bucket,
        CORSConfiguration: {
          CORSRules: [
            {
              AllowedOrigins: origins,
              AllowedMethods: ['GET', 'PUT', 'POST', 'HEAD', 'DELETE'],
              AllowedHeaders: ['*'],
              ExposeHeaders: ['ETag'],
              MaxAgeSeconds: 3600,
            },
          ],
        },
      }),
    )
    .catch((e) => {
      throw s3Error(e, 'PutBucketCors');
    });

  // --- 3. RGW topic (SNS-compatible API on the S3 endpoint); CreateTopic is an upsert
  if (a.user !== 'guest' || a.password !== 'guest') {
    console.error(
      `provision-store: warning: RGW pushes to RabbitMQ as guest/guest, not as ${a.user} from AMQP_URL; ` +
        'that user must exist and have permissions on the vhost',
    );
  }
  const vhostPath = a.vhost === '/' ? '' : `/${encodeURIComponent(a.vhost)}`;
  const httpPush = env.STORAGE_EVENTS_PUSH_ENDPOINT || '';
  if (httpPush && !/^https?:\/\//.test(httpPush)) throw new Error('STORAGE_EVENTS_PUSH_ENDPOINT must be an http:// or https:// URL');
  const pushEndpoint = httpPush || `${a.protocol}://${a.host}:${a.port}${vhostPath}`;
  const topicAttributes = httpPush
    ? { 'push-endpoint': httpPush, 'verify-ssl': 'true' }
    : { 'push-endpoint': pushEndpoint, 'amqp-exchange': storageExchange, 'amqp-ack-level': 'none' };
  const sns = new SNSClient({
    endpoint: s3ClientConfig(env).endpoint,
    region: env.S3_REGION || 'us-east-1',
    credentials: s3ClientConfig(env).credentials,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3000, requestTimeout: 15000 },
  });
  let topicArn;
  try {
    const res = await sns.send(
      new CreateTopicCommand({
        Name: topicName,
        Attributes: topicAttributes,
      }),
    );
    topicArn = res.TopicArn;
  } catch (e) {
    throw s3Error(e, 'CreateTopic (RGW SNS API)');
  }
  if (!topicArn) throw new Error('CreateTopic returned no TopicArn');

  // --- 4. bucket notification (replaces the bucket's whole notification configuration)
  await s3
    .send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          TopicConfigurations: [{ Id: topicName, TopicArn: topicArn, Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] }],
        },
      }),
    )
    .catch((e) => {
      throw s3Error(e, 'PutBucketNotificationConfiguration');
    });

  // --- 5. lifecycle rule: abort incomplete multipart uploads after the upload expiry plus a margin
  const lifecycle = await putAbortRule(s3, bucket);

  const secs = ((Date.now() - t0) / 1000).toFixed(2);
  console.log(
    `provision-store: ${done.length ? done.join(', ') + '; ' : ''}bucket ${bucket} (${bucketState}, CORS ${origins.join(',')}); ` +
      `exchanges ${storageExchange}, ${domainExchange} on vhost ${a.vhost}; ` +
      `topic ${topicName} -> ${httpPush ? pushEndpoint.replace(/([?&]token=)[^&]*/, '$1***') : `${pushEndpoint} exchange ${storageExchange}`} (${topicArn}); ` +
      `notification ObjectCreated:*, ObjectRemoved:*; ${lifecycle}; ${secs} s`,
  );
}

const ABORT_RULE_ID = 'abort-incomplete-multipart-uploads';

/** Whole days (at least 1) after which the store aborts an incomplete multipart upload: the upload expiry plus a margin. */
function abortAfterDays(uploadExpirySeconds, marginSeconds) {
  return Math.max(1, Math.ceil((uploadExpirySeconds + marginSeconds) / 86400));
}

/** Puts (or updates) the abort rule, keeping the bucket's other rules; returns what it did, for the summary line. */
async function putAbortRule(s3, bucket) {
  const days = abortAfterDays(Number(env.UPLOAD_EXPIRY_SECONDS || 86400), Number(env.MULTIPART_ABORT_MARGIN_SECONDS || 86400));
  let others = [];
  try {
    const current = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    others = (current.Rules ?? []).filter((r) => r.ID !== ABORT_RULE_ID);
  } catch (e) {
    if (e?.name !== 'NoSuchLifecycleConfiguration' && e?.$metadata?.httpStatusCode !== 404) throw s3Error(e, 'GetBucketLifecycleConfiguration');
  }
  const rule = { ID: ABORT_RULE_ID, Status: 'Enabled', Filter: { Prefix: 'uploads/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: days } };
  try {
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [...others, rule] } }));
    return `lifecycle: incomplete multipart uploads aborted after ${days} day(s)`;
  } catch (e) {
    // MinIO refuses AbortIncompleteMultipartUpload in a bucket lifecycle: it has its own sweep (MINIO_API_STALE_UPLOADS_EXPIRY).
    console.error(
      `provision-store: warning: the store refused the lifecycle rule aborting incomplete multipart uploads (${e?.name ?? e}); the reconciler still aborts them at expiry`,
    );
    return 'lifecycle: abort rule refused by the store';
  }
}

/** rabbitmqctl add_vhost + permissions for guest (RGW logs in as guest) and the AMQP_URL user. */
function createVhost(a) {
  if (!['127.0.0.1', 'localhost', '::1'].includes(a.host)) {
    throw new Error(`vhost ${a.vhost} does not exist on ${a.host} and rabbitmqctl only reaches a local broker: create it there`);
  }
  const ctl = (...args) => {
    try {
      return execFileSync('rabbitmqctl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
    } catch (err) {
      const out = `${err.stdout ?? ''}${err.stderr ?? ''}`;
      if (args[0] === 'add_vhost' && /already.exists/i.test(out)) return out;
      throw new Error(`rabbitmqctl ${args.join(' ')} failed: ${out.trim() || err.message}`);
    }
  };
  ctl('add_vhost', a.vhost);
  for (const user of new Set(['guest', a.user])) ctl('set_permissions', '-p', a.vhost, user, '.*', '.*', '.*');
}

function s3Error(err, op) {
  const code = err?.Code ?? err?.name ?? 'Error';
  const status = err?.$metadata?.httpStatusCode;
  const hint =
    err?.code === 'ECONNREFUSED' || /ECONNREFUSED|connect/i.test(String(err?.message)) ? ` (is the store running at ${env.S3_ENDPOINT}? npm run infra:up)` : '';
  return new Error(`${op} failed: ${code}${status ? ` HTTP ${status}` : ''}: ${err?.message ?? err}${hint}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`provision-store: ${err?.message ?? err}`);
    process.exit(1);
  },
);
