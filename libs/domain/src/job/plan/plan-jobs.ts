import { JobType } from '@app/contracts';
import { DEFAULT_JOB_PRIORITY, DEFAULT_MAX_ATTEMPTS, JobSpec } from './job-spec';

export interface JobRequest {
  type: JobType;
  priority?: number;
  maxAttempts?: number;
  required?: boolean;
  config?: Record<string, unknown>;
}

export interface DefaultJobsRule {
  pattern: string;
  jobs: JobType[];
}

/** `image/*` matches `image/png`; `*\/*` matches everything; exact types match themselves. */
export function contentTypeMatches(pattern: string, contentType: string): boolean {
  const [pt, ps] = pattern.toLowerCase().split('/');
  const [ct, cs] = contentType.toLowerCase().split(';')[0].trim().split('/');
  return (pt === '*' || pt === ct) && (ps === '*' || ps === cs);
}

/** The most specific default rule for a content type: exact beats `type/*` beats `*\/*`. */
function defaultsFor(contentType: string, rules: DefaultJobsRule[]): JobType[] {
  const specificity = (p: string) => (p === '*/*' ? 0 : p.endsWith('/*') ? 1 : 2);
  const best = rules.filter((r) => contentTypeMatches(r.pattern, contentType)).sort((a, b) => specificity(b.pattern) - specificity(a.pattern))[0];
  return best?.jobs ?? [];
}

/**
 * Which jobs a new upload gets: the client's list, else the configured defaults for its content type.
 * VALIDATION always runs, first and required; other jobs are optional unless the client says required.
 * The one place that decides it.
 */
export function planJobs(contentType: string, requested: JobRequest[] | undefined, defaults: DefaultJobsRule[]): JobSpec[] {
  const wanted: JobRequest[] = requested && requested.length > 0 ? requested : defaultsFor(contentType, defaults).map((type) => ({ type }));
  const validation = wanted.find((j) => j.type === JobType.VALIDATION);
  const spec = (j: JobRequest, required: boolean): JobSpec => ({
    type: j.type,
    priority: j.priority ?? DEFAULT_JOB_PRIORITY,
    maxAttempts: j.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    required,
    config: j.config ?? {},
  });
  return [
    spec(validation ?? { type: JobType.VALIDATION }, true),
    ...wanted.filter((j) => j.type !== JobType.VALIDATION).map((j) => spec(j, j.required ?? false)),
  ];
}
