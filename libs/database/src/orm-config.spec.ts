import { ormConfig } from './orm-config';

/** The server settings each app's connections start with (the `options` startup parameter). */
const serverOptions = (opts: Parameters<typeof ormConfig>[1]) =>
  (ormConfig('postgres://x@h/db', opts).driverOptions as { connection: { options?: string } }).connection.options;

describe('ormConfig server settings', () => {
  it('leaves the server defaults alone unless asked (the gateway: list pages and reports may scan)', () => {
    expect(serverOptions({})).toBeUndefined();
  });

  it('plans the job path once per connection and never with a sequential scan an index could replace', () => {
    expect(serverOptions({ genericPlans: true, keyedOnly: true })).toBe('-c plan_cache_mode=force_generic_plan -c enable_seqscan=off');
  });

  it('discourages sequential scans alone for storage events', () => {
    expect(serverOptions({ keyedOnly: true })).toBe('-c enable_seqscan=off');
  });
});
