import type { LookupFunction } from 'node:net';
import { addressRefusal, PRIVATE_TARGETS_HINT, TargetSettings } from './address-policy';
import { HostResolver } from './resolver';

/** A connection refused because its host resolved to an address webhooks may not reach. */
export class RefusedTarget extends Error {
  readonly code = 'EWEBHOOKTARGET';
  constructor(message: string) {
    super(message);
    this.name = 'RefusedTarget';
  }
}

/**
 * The `lookup` of every socket the webhook sender opens: resolves the host and refuses the connection if
 * any address is not allowed, so the address checked is the address connected to (a host that resolved to
 * a public address when the subscription was made and to a private one now is stopped here: DNS rebinding).
 * Answers in both shapes net.connect asks for (`all: true` with happy eyeballs, a single address otherwise).
 */
export function guardedLookup(settings: Pick<TargetSettings, 'allowPrivate'>, resolve: HostResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const refusal = addresses.map((a) => addressRefusal(a, settings)).find((r) => r !== null);
        if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' }), '', 4);
        if (refusal) return callback(new RefusedTarget(`refused at connect: ${hostname} resolves to ${refusal}; ${PRIVATE_TARGETS_HINT}`), '', 4);
        const family = (a: string) => (a.includes(':') ? 6 : 4);
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => family(a) === options.family) : addresses;
        if (wanted.length === 0) return callback(Object.assign(new Error(`${hostname} has no IPv${options.family} address`), { code: 'ENOTFOUND' }), '', 4);
        if (options.all)
          return (callback as unknown as (e: null, all: { address: string; family: number }[]) => void)(
            null,
            wanted.map((address) => ({ address, family: family(address) })),
          );
        callback(null, wanted[0], family(wanted[0]));
      },
      (e: Error) => callback(e as NodeJS.ErrnoException, '', 4),
    );
  };
}
