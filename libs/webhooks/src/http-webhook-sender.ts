import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { Agent, request } from 'undici';
import type { WebhookAttemptResult, WebhookRequest, WebhookSender } from '@app/domain';
import { addressRefusal, literalAddress, PRIVATE_TARGETS_HINT, TargetSettings } from './address-policy';
import { guardedLookup } from './guarded-lookup';
import { HostResolver, systemResolver } from './resolver';

export interface SenderSettings extends TargetSettings {
  /** Whole attempt: connect, send, and the answer's status line and headers. */
  timeoutMs: number;
}

/** How much of an answer's body is read (and thrown away) so the connection can be reused. */
const MAX_BODY_BYTES = 64 * 1024;

function retryAfterSeconds(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function describe(e: unknown): string {
  const err = e as { message?: string; code?: string; cause?: { message?: string; code?: string } };
  const cause = err.cause?.message && err.cause.message !== err.message ? `: ${err.cause.message}` : '';
  return `${err.code ? `${err.code} ` : ''}${err.message ?? String(e)}${cause}`;
}

/**
 * POSTs webhooks with undici: one connection pool per origin, a total deadline per attempt, redirects never
 * followed (a 3xx is an answer like any other), and every connection's address checked when it is opened
 * (guardedLookup; IP-literal hosts, which skip name resolution, are checked here).
 */
export class HttpWebhookSender implements WebhookSender, OnApplicationShutdown {
  private readonly logger = new Logger('HttpWebhookSender');
  private readonly agent: Agent;

  constructor(
    private readonly settings: SenderSettings,
    resolve: HostResolver = systemResolver,
  ) {
    this.agent = new Agent({
      connect: { timeout: settings.timeoutMs, lookup: guardedLookup(settings, resolve) },
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  async send(req: WebhookRequest): Promise<WebhookAttemptResult> {
    const started = performance.now();
    const latencyMs = () => Math.round(performance.now() - started);
    const url = new URL(req.url);
    if (this.settings.requireHttps && url.protocol !== 'https:')
      return { kind: 'error', error: 'refused: url must use https (WEBHOOK_REQUIRE_HTTPS)', latencyMs: latencyMs() };
    const literal = literalAddress(url.hostname);
    const refusal = literal === null ? null : addressRefusal(literal, this.settings);
    if (refusal) return { kind: 'error', error: `refused at connect: url points to ${refusal}; ${PRIVATE_TARGETS_HINT}`, latencyMs: latencyMs() };

    const signal = AbortSignal.timeout(this.settings.timeoutMs);
    try {
      const res = await request(url, { method: 'POST', headers: req.headers, body: req.body, dispatcher: this.agent, signal });
      const retryAfter = retryAfterSeconds(res.headers['retry-after']);
      await res.body.dump({ limit: MAX_BODY_BYTES }).catch(() => undefined);
      return { kind: 'response', status: res.statusCode, latencyMs: latencyMs(), retryAfterSeconds: retryAfter };
    } catch (e) {
      if (signal.aborted) return { kind: 'error', error: `no answer within ${this.settings.timeoutMs} ms`, latencyMs: latencyMs() };
      return { kind: 'error', error: describe(e).slice(0, 1000), latencyMs: latencyMs() };
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.close().catch((e: Error) => this.logger.warn(`closing the webhook connection pool: ${e.message}`));
  }
}
