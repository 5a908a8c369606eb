import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JobType } from '@app/contracts';
import { planJobs } from '../../domain/src/job/plan/plan-jobs';
import { jobProcessorConfig, parseDefaultJobs } from './config';
import { JobProcessorEnv, validateEnv } from './env';

const base = { DATABASE_URL: 'postgres://x@h/db', AMQP_URL: 'amqp://h', S3_ENDPOINT: 'http://h:1', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b', S3_BUCKET: 'bucket' };
const processor = (env: Record<string, string>) => jobProcessorConfig(validateEnv(JobProcessorEnv, { ...base, ...env }));

describe('jobProcessorConfig', () => {
  it.each([
    [{}, 20_000],
    [{ JOB_LEASE_SECONDS: '6' }, 2_000],
    [{ JOB_LEASE_SECONDS: '5', JOB_LEASE_RENEWAL_MS: '300' }, 300],
    // Renewing less often than half the lease would let a live job's lease lapse.
    [{ JOB_LEASE_SECONDS: '5', JOB_LEASE_RENEWAL_MS: '9000' }, 2_500],
  ])('%j renews the lease every %i ms', (env, ms) => expect(processor(env).leaseRenewalMs).toBe(ms));

  it('names a bad thumbnail size', () => {
    expect(() => processor({ THUMBNAIL_SIZE: '4' })).toThrow(/THUMBNAIL_SIZE/);
  });
});

describe('the DEFAULT_JOBS of .env.example', () => {
  const line = readFileSync(join(__dirname, '../../../.env.example'), 'utf8').split('\n').find((l) => l.startsWith('DEFAULT_JOBS='))!;
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
