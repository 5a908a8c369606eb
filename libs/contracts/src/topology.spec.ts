import { JobType } from './statuses';
import { JOB_DEFAULT_BAND, JOB_PRIORITY_BANDS, jobDelayRoutingKey, jobQueuesOf, jobRoutingKey } from './topology';

describe('job routing and the quorum mode priority bands', () => {
  it('routing keys carry the job priority (clamped to 1..10), or none for older producers', () => {
    expect(jobRoutingKey(JobType.VALIDATION, 1)).toBe('run.VALIDATION.1');
    expect(jobRoutingKey(JobType.CHECKSUM, 42)).toBe('run.CHECKSUM.10');
    expect(jobRoutingKey(JobType.CHECKSUM)).toBe('run.CHECKSUM');
    expect(jobDelayRoutingKey(4000, JobType.THUMBNAIL, 3)).toBe('delay4000ms.THUMBNAIL.3');
  });

  it('every priority 1..10 is in exactly one band, bands in order from the most urgent', () => {
    const all = JOB_PRIORITY_BANDS.flatMap((b) => b.priorities);
    expect(all).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(JOB_PRIORITY_BANDS.map((b) => b.name)).toContain(JOB_DEFAULT_BAND);
  });

  it('a job type has one queue in classic mode, one per band (highest first) in quorum mode', () => {
    expect(jobQueuesOf(JobType.VALIDATION, 'classic')).toEqual(['jobs.validation']);
    expect(jobQueuesOf(JobType.VALIDATION, 'quorum')).toEqual(['jobs.validation.high', 'jobs.validation.normal', 'jobs.validation.low']);
  });
});
