import { JobStatus, JobType } from '@app/contracts';
import { ProcessingJob } from '../../job/processing-job.entity';
import { thumbnailOf } from './get-download-url.usecase';

const job = (type: JobType, status: JobStatus, result: Record<string, unknown> | null, finishedAt = new Date()) =>
  Object.assign(new ProcessingJob({ sessionId: 's', type, priority: 5, required: false, maxAttempts: 3 }), { status, result, finishedAt });

describe('thumbnailOf', () => {
  const result = (key: string) => ({ key, size: 10, width: 256, height: 192, contentType: 'image/webp' });

  it('is the latest completed THUMBNAIL result', () => {
    const jobs = [
      job(JobType.THUMBNAIL, JobStatus.COMPLETED, result('thumbnails/s/128.webp'), new Date(1_000)),
      job(JobType.THUMBNAIL, JobStatus.COMPLETED, result('thumbnails/s/256.webp'), new Date(2_000)),
      job(JobType.THUMBNAIL, JobStatus.FAILED, null, new Date(3_000)),
    ];
    expect(thumbnailOf(jobs)?.key).toBe('thumbnails/s/256.webp');
  });

  it('is null without a completed THUMBNAIL job', () => {
    expect(thumbnailOf([job(JobType.THUMBNAIL, JobStatus.FAILED, null), job(JobType.METADATA, JobStatus.COMPLETED, result('x'))])).toBeNull();
  });
});
