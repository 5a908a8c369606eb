/** Standard Webhooks secrets and signatures. Implemented by libs/webhooks. */
export interface WebhookSigning {
  /** A fresh `whsec_<base64>` secret. */
  newSecret(): string;
  /** The `webhook-signature` header: `v1,<base64>` per secret, space-separated. */
  sign(secrets: readonly string[], id: string, timestamp: number, body: string): string;
}

export const WEBHOOK_SIGNING = Symbol('WebhookSigning');
