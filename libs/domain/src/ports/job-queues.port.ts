import { JobType } from '@app/contracts';

/** What the domain may ask of the job queues (implemented by libs/messaging). */
export interface JobQueues {
  /** Messages ready for delivery in the queue of a job type (not counting those a processor holds). */
  readyMessages(type: JobType): Promise<number>;
}

export const JOB_QUEUES = Symbol('JobQueues');
