import { lookup } from 'node:dns/promises';

/** Every address a host name resolves to (the system resolver: /etc/hosts, then DNS). */
export type HostResolver = (hostname: string) => Promise<string[]>;

export const systemResolver: HostResolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
