import { amqpPriorityOf, JOB_QUEUE_MAX_PRIORITY, JOB_RETRY_DELAYS_MS, jobDelayQueue, jobDelayRoutingKey, jobDelayStage, JobType } from '@app/contracts';
import { retryDelayMs } from './outcomes';

describe('jobDelayStage', () => {
  it('a wish equal to a stage waits in that stage', () => {
    for (const stage of JOB_RETRY_DELAYS_MS) expect(jobDelayStage(stage)).toBe(stage);
  });

  it.each([
    [0, 1_000],
    [-5, 1_000],
    [1, 1_000],
    [1_001, 2_000],
    [2_500, 4_000],
    [200_000, 256_000],
  ])('a wish of %d ms waits in the %d ms stage (the smallest at least as long)', (ms, stage) => {
    expect(jobDelayStage(ms)).toBe(stage);
  });

  it('a wish beyond the longest stage is capped at it', () => {
    expect(jobDelayStage(256_001)).toBe(256_000);
    expect(jobDelayStage(10 ** 9)).toBe(256_000);
  });
});

describe('retry timing: the delay queue of each attempt', () => {
  // attempts made → the stage its retry waits in: never shorter than the backoff, at most twice it, capped.
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [4, 8_000],
    [5, 16_000],
    [8, 128_000],
    [9, 256_000],
    [10, 256_000],
    [40, 256_000],
  ])('after attempt %d the retry waits %d ms', (attempts, stage) => {
    const wish = retryDelayMs(attempts);
    expect(jobDelayStage(wish)).toBe(stage);
    expect(stage).toBeGreaterThanOrEqual(Math.min(wish, 256_000));
    expect(stage).toBeLessThanOrEqual(2 * wish);
    expect(jobDelayQueue(stage)).toBe(`jobs.delay.${stage}ms`);
    expect(jobDelayRoutingKey(stage, JobType.THUMBNAIL)).toBe(`delay${stage}ms.THUMBNAIL`);
  });

  it('every stage a retry can reach is a declared delay queue', () => {
    const reached = new Set(Array.from({ length: 50 }, (_, i) => jobDelayStage(retryDelayMs(i + 1))));
    for (const stage of reached) expect(JOB_RETRY_DELAYS_MS).toContain(stage);
  });
});

describe('amqpPriorityOf', () => {
  it.each([
    [1, 10],
    [2, 9],
    [5, 6],
    [10, 1],
  ])('job priority %d (1 most urgent) is AMQP priority %d (higher first)', (job, amqp) => {
    expect(amqpPriorityOf(job)).toBe(amqp);
  });

  it.each([
    [0, 10],
    [-3, 10],
    [11, 1],
    [1_000, 1],
    [2.4, 9],
    [2.6, 8],
  ])('an out-of-range or fractional priority %d is clamped and rounded to AMQP %d', (job, amqp) => {
    expect(amqpPriorityOf(job)).toBe(amqp);
  });

  it('stays within the queues x-max-priority', () => {
    for (let p = -5; p <= 20; p += 0.5) {
      expect(amqpPriorityOf(p)).toBeGreaterThanOrEqual(1);
      expect(amqpPriorityOf(p)).toBeLessThanOrEqual(JOB_QUEUE_MAX_PRIORITY);
    }
  });
});
