import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

/** Where webhooks may go: public unicast addresses, plus private ones when WEBHOOK_ALLOW_PRIVATE_TARGETS is on. */
export interface TargetSettings {
  /** Loopback, private, unique-local, link-local and shared (CGNAT) addresses allowed (development and tests). */
  allowPrivate: boolean;
  /** Only https URLs (production default). */
  requireHttps: boolean;
}

/** Cloud metadata services (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS over IPv6: fd00:ec2::254). */
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254']);

/** Ranges (ipaddr.js names) that WEBHOOK_ALLOW_PRIVATE_TARGETS opens, with how they are named in a refusal. */
const PRIVATE_RANGES: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  uniqueLocal: 'a private (unique local) address',
  linkLocal: 'a link-local address',
  carrierGradeNat: 'a shared (carrier-grade NAT) address',
};

/**
 * Why an IP address may not receive webhooks, or null when it may. Only public unicast addresses pass;
 * IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry, and addresses that tunnel another
 * address (6to4, Teredo, NAT64) are refused outright, whatever they embed.
 */
export function addressRefusal(address: string, settings: Pick<TargetSettings, 'allowPrivate'>): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const ip = ipaddr.process(address);
  const shown = ip.toString();
  const range = ip.range();
  if (range === 'unicast') return null;
  if (METADATA.has(shown) && !settings.allowPrivate) return `${shown}, the cloud metadata address`;
  const named = PRIVATE_RANGES[range];
  if (named) return settings.allowPrivate ? null : `${shown}, ${named}`;
  return `${shown}, a reserved address (${range})`;
}

/** The host of a URL as an address when it is an IP literal (`[::1]` → `::1`), else null. */
export function literalAddress(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) ? bare : null;
}

export const PRIVATE_TARGETS_HINT = 'private targets are not allowed (WEBHOOK_ALLOW_PRIVATE_TARGETS)';
