import { JobType } from '@app/contracts';
import { JobHandler } from './job-handler';

/**
 * The handlers of the job types this process consumes. Built at start-up; fails fast when a consumed
 * type has no handler or two, so a misconfigured processor never starts taking messages.
 */
export class JobHandlerRegistry {
  private readonly byType = new Map<JobType, JobHandler>();

  constructor(handlers: JobHandler[], consumed: readonly JobType[]) {
    const problems: string[] = [];
    for (const h of handlers) {
      if (this.byType.has(h.type)) problems.push(`two handlers for ${h.type}`);
      this.byType.set(h.type, h);
    }
    for (const type of consumed) if (!this.byType.has(type)) problems.push(`no handler for ${type}`);
    if (problems.length > 0) throw new Error(`Job handlers misconfigured: ${problems.join('; ')}`);
  }

  get(type: JobType): JobHandler | undefined {
    return this.byType.get(type);
  }
}
