import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JobType } from '@app/contracts';
import { planJobs } from '../../domain/src/job/plan/plan-jobs';
import { imagePixelBudget, jobProcessorConfig, parseDefaultJobs } from './config';
import { JobProcessorEnv, validateEnv } from './env';

const base = {
  DATABASE_URL: 'postgres://x@h/db',
  AMQP_URL: 'amqp://h',
  S3_ENDPOINT: 'http://h:1',
  S3_ACCESS_KEY: 'a',
  S3_SECRET_KEY: 'b',
  S3_BUCKET: 'bucket',
};
const processor = (env: Record<string, string>) => jobProcessorConfig(validateEnv(JobProcessorEnv, { ...base, ...env }));

describe('jobProcessorConfig', () => {
  it.each([
    [{}, 20_000],
    [{ JOB_LEASE_SECONDS: '6' }, 2_000],
    [{ JOB_LEASE_SECONDS: '5', JOB_LEASE_RENEWAL_MS: '300' }, 300],
    // Renewing less often than half the lease would let a live job's lease lapse.
    [{ JOB_LEASE_SECONDS: '5', JOB_LEASE_RENEWAL_MS: '9000' }, 2_500],
  ])('%j renews the lease every %i ms', (env, ms) => expect(processor(env).leaseRenewalMs).toBe(ms));

  it.each([
    [{}, 10],
    [{ JOB_NICE: '0' }, 0],
    [{ JOB_NICE: '19' }, 19],
  ])('%j runs the processor at nice %i', (env, nice) => expect(processor(env).nice).toBe(nice));

  it.each(['-1', '20', 'low'])('refuses JOB_NICE=%s, naming it', (value) => {
    expect(() => processor({ JOB_NICE: value })).toThrow(/JOB_NICE/);
  });

  it('names a bad thumbnail size', () => {
    expect(() => processor({ THUMBNAIL_SIZE: '4' })).toThrow(/THUMBNAIL_SIZE/);
  });

  // Issue 16, MEDIUM 6: 100 M pixels × 4 decoders did not fit the 1 GiB pod; the limit now follows memory and concurrency.
  it.each([
    [{}, 16_777_216],
    [{ THUMBNAIL_CONCURRENCY: '1' }, 67_108_864],
    [{ JOB_MEMORY_BYTES: String(4 * 1024 ** 3), THUMBNAIL_CONCURRENCY: '2' }, 134_217_728],
    [{ IMAGE_MAX_PIXELS: '1000000' }, 1_000_000],
  ])('%j decodes images of at most %i pixels (memory × 0.5 / (concurrency × 8))', (env, pixels) => {
    expect(imagePixelBudget(1024 ** 3, 4)).toBe(16_777_216);
    expect(processor(env).maxImagePixels).toBe(pixels);
  });

  it('refuses an IMAGE_MAX_PIXELS its memory and concurrency cannot hold, naming both', () => {
    expect(() => processor({ IMAGE_MAX_PIXELS: '100000000' })).toThrow(
      /IMAGE_MAX_PIXELS: 100000000 exceeds what JOB_MEMORY_BYTES \(1073741824\) allows with THUMBNAIL_CONCURRENCY 4: at most 16777216/,
    );
  });
});

describe('the DEFAULT_JOBS of .env.example', () => {
  const line = readFileSync(join(__dirname, '../../../.env.example'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('DEFAULT_JOBS='))!;
  const rules = parseDefaultJobs(line.slice('DEFAULT_JOBS='.length));

  it.each([
    ['image/jpeg', [JobType.VALIDATION, JobType.CHECKSUM, JobType.METADATA, JobType.THUMBNAIL]],
    ['application/pdf', [JobType.VALIDATION, JobType.CHECKSUM, JobType.METADATA]],
    ['text/plain', [JobType.VALIDATION, JobType.CHECKSUM]],
  ])('%s gets %j, only VALIDATION required', (type, jobs) => {
    const plan = planJobs(type, undefined, rules);
    expect(plan.map((j) => j.type)).toEqual(jobs);
    expect(plan.filter((j) => j.required).map((j) => j.type)).toEqual([JobType.VALIDATION]);
  });
});
