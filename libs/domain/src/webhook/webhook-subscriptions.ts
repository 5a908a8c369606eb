import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { WebhookDisabledReason } from '@app/contracts';

export interface DisabledSubscription {
  id: string;
  userId: string;
  url: string;
  failingSince: Date | null;
  disabledAt: Date;
}

/** The SQL that keeps a subscription's health: failing since when, and disabling it. */
@Injectable()
export class WebhookSubscriptions {
  /**
   * Locks the subscription for the rest of the transaction (recording an attempt, disabling): attempts of
   * one subscription are recorded one after the other, so none can schedule a retry under a subscription
   * another has just disabled. null when it was deleted.
   */
  async lock(em: EntityManager, id: string): Promise<{ enabled: boolean } | null> {
    const [row] = await em.execute<{ enabled: boolean }[]>('select enabled from webhook_subscription where id = ? for no key update', [id]);
    return row ?? null;
  }

  /** A success: the subscription is no longer failing. */
  async markHealthy(em: EntityManager, id: string): Promise<void> {
    await em.execute('update webhook_subscription set failing_since = null where id = ? and failing_since is not null', [id]);
  }

  /** A failure: failing since the first failure after the last success. */
  async markFailing(em: EntityManager, id: string): Promise<void> {
    await em.execute('update webhook_subscription set failing_since = now() where id = ? and failing_since is null', [id]);
  }

  /** Disables an enabled subscription; null when it was already disabled (someone else decided first). */
  async disable(em: EntityManager, id: string, reason: WebhookDisabledReason): Promise<DisabledSubscription | null> {
    const rows = await em.execute<{ id: string; user_id: string; url: string; failing_since: Date | null; disabled_at: Date }[]>(
      `update webhook_subscription set enabled = false, disabled_reason = ?, disabled_at = now(), updated_at = now()
        where id = ? and enabled
       returning id, user_id, url, failing_since, disabled_at`,
      [reason, id],
    );
    const r = rows[0];
    return r
      ? { id: r.id, userId: r.user_id, url: r.url, failingSince: r.failing_since ? new Date(r.failing_since) : null, disabledAt: new Date(r.disabled_at) }
      : null;
  }
}
