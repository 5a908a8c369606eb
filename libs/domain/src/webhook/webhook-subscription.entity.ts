import { ArrayType, Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import type { WebhookDisabledReason } from '@app/contracts';
import { User } from '../user/user.entity';

/**
 * Whose events a subscription receives: its owner's (`own`), or every user's (`all`, administrators only).
 * WARNING: persisted (check constraint); renaming a value needs a migration.
 */
export enum WebhookScope {
  OWN = 'own',
  ALL = 'all',
}

/**
 * An outgoing webhook: the events of its owner's uploads (or of everyone's, for an admin's `all` scope)
 * POSTed to `url`, signed with `secret` per Standard Webhooks. After a rotation the previous secret signs
 * too until `previousSecretExpiresAt`.
 */
@Entity({ tableName: 'webhook_subscription' })
@Index({ properties: ['userId', 'createdAt', 'id'] })
export class WebhookSubscription {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => User, { mapToPk: true, fieldName: 'user_id', deleteRule: 'cascade' })
  userId: string;

  @Enum({ items: () => WebhookScope })
  scope: WebhookScope = WebhookScope.OWN;

  @Property({ type: 'text' })
  url: string;

  /** Event types (routing keys of the domain events exchange), or `['*']` for all. */
  @Property({ type: ArrayType })
  events: string[];

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  @Property({ type: 'boolean' })
  enabled: boolean = true;

  /** Why the platform disabled it (GONE, FAILING); null when enabled or disabled by its owner. */
  @Property({ type: 'text', nullable: true })
  disabledReason: WebhookDisabledReason | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  disabledAt: Date | null = null;

  /** `whsec_<base64>`: shown once, at creation and at rotation. */
  @Property({ type: 'text', hidden: true })
  secret: string;

  @Property({ type: 'text', nullable: true, hidden: true })
  previousSecret: string | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  previousSecretExpiresAt: Date | null = null;

  /** First failed attempt since the last success; cleared by a success. Long enough ago, the subscription is disabled. */
  @Property({ type: 'timestamptz', nullable: true })
  failingSince: Date | null = null;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  constructor(props: { userId: string; url: string; events: string[]; secret: string; scope?: WebhookScope; description?: string | null }) {
    if (!props.userId) throw new Error('WebhookSubscription.userId is required');
    if (props.events.length === 0) throw new Error('WebhookSubscription.events must not be empty');
    if (!props.secret.startsWith('whsec_')) throw new Error('WebhookSubscription.secret must be a whsec_ secret');
    this.userId = props.userId;
    this.url = props.url;
    this.events = props.events;
    this.secret = props.secret;
    this.scope = props.scope ?? WebhookScope.OWN;
    this.description = props.description ?? null;
  }
}

/** The secrets that sign a delivery at `now`: the current one, and the previous one during its grace period. */
export function signingSecrets(s: Pick<WebhookSubscription, 'secret' | 'previousSecret' | 'previousSecretExpiresAt'>, now: Date): string[] {
  const previous = s.previousSecret && s.previousSecretExpiresAt && s.previousSecretExpiresAt > now ? [s.previousSecret] : [];
  return [s.secret, ...previous];
}
