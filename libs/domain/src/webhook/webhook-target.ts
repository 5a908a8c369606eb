import { ValidateBy, ValidationOptions } from 'class-validator';
import { DomainEventType, WEBHOOK_ALL_EVENTS } from '@app/contracts';
import { DomainError } from '../errors/domain-error';
import type { WebhookTargetGuard } from './ports/webhook-target-guard.port';

/** Longest subscription URL (`@MaxLength` on the commands). */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** What is wrong with a subscription URL's form (not its address), or null. */
export function webhookUrlProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (url.username || url.password) return 'must not carry credentials (the signature authenticates deliveries)';
  if (!url.hostname) return 'must name a host';
  return null;
}

/** class-validator rule: an absolute http(s) URL without credentials (its address is checked by the target guard). */
export function IsWebhookUrl(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    { name: 'isWebhookUrl', validator: { validate: (v) => webhookUrlProblem(v) === null, defaultMessage: (a) => `url ${webhookUrlProblem(a?.value)}` } },
    options,
  );
}

/** Event types a subscription may name: every routing key of the domain events exchange, or `*`. */
export const SUBSCRIBABLE_EVENTS: readonly string[] = [WEBHOOK_ALL_EVENTS, ...Object.values(DomainEventType)];

/** Refuses, as a 400 naming `url` and the reason, a URL the guard will not deliver to. */
export async function assertAcceptableTarget(guard: WebhookTargetGuard, url: string): Promise<void> {
  const reason = await guard.check(url);
  if (reason !== null) throw DomainError.invalid([{ field: 'url', message: reason }]);
}
