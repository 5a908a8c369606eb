import { createHmac, randomBytes } from 'node:crypto';
import type { WebhookSigning } from '@app/domain';

const PREFIX = 'whsec_';
/** Standard Webhooks asks for 24 to 64 random bytes. */
const SECRET_BYTES = 32;

/** Standard Webhooks symmetric signatures: `v1,` + base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`, keyed with the decoded secret. */
export class StandardWebhooksSigning implements WebhookSigning {
  newSecret(): string {
    return PREFIX + randomBytes(SECRET_BYTES).toString('base64');
  }

  sign(secrets: readonly string[], id: string, timestamp: number, body: string): string {
    return secrets
      .map((secret) => {
        if (!secret.startsWith(PREFIX)) throw new Error('webhook secrets must be whsec_ secrets');
        const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
        return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
      })
      .join(' ');
  }
}
