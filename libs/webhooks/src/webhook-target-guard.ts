import type { WebhookTargetGuard } from '@app/domain';
import { addressRefusal, literalAddress, PRIVATE_TARGETS_HINT, TargetSettings } from './address-policy';
import { HostResolver, systemResolver } from './resolver';

/**
 * Checks a subscription URL when it is created or changed: https where required, and every address its
 * host resolves to must be allowed (one private address among public ones is enough to refuse). The
 * sender checks again when it connects (DNS may answer differently by then: rebinding).
 */
export class AddressWebhookTargetGuard implements WebhookTargetGuard {
  constructor(
    private readonly settings: TargetSettings,
    private readonly resolve: HostResolver = systemResolver,
  ) {}

  async check(value: string): Promise<string | null> {
    const url = new URL(value);
    if (this.settings.requireHttps && url.protocol !== 'https:') return 'url must use https (WEBHOOK_REQUIRE_HTTPS)';
    const literal = literalAddress(url.hostname);
    if (literal !== null) {
      const refusal = addressRefusal(literal, this.settings);
      return refusal === null ? null : `url points to ${refusal}; ${PRIVATE_TARGETS_HINT}`;
    }
    let addresses: string[];
    try {
      addresses = await this.resolve(url.hostname);
    } catch (e) {
      return `url's host ${url.hostname} does not resolve (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
    }
    if (addresses.length === 0) return `url's host ${url.hostname} does not resolve`;
    for (const address of addresses) {
      const refusal = addressRefusal(address, this.settings);
      if (refusal !== null) return `url's host ${url.hostname} resolves to ${refusal}; ${PRIVATE_TARGETS_HINT}`;
    }
    return null;
  }
}
