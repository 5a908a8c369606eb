import { storageEventsConfig } from './config';
import { StorageEventsEnv, validateEnv } from './env';

const base = { DATABASE_URL: 'postgres://x@h/db', S3_ENDPOINT: 'http://h:1', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b', S3_BUCKET: 'bucket' };
const load = (env: Record<string, string>) => storageEventsConfig(validateEnv(StorageEventsEnv, { ...base, ...env }));

describe('broker URLs (a single node or every node of a cluster)', () => {
  it('one AMQP_URL is a list of one', () => {
    expect(load({ AMQP_URL: 'amqp://u:p@rabbit:5672/v' }).amqp.urls).toEqual(['amqp://u:p@rabbit:5672/v']);
  });

  it('AMQP_URL or AMQP_URLS may name every node, comma separated; AMQP_URLS wins', () => {
    expect(load({ AMQP_URL: 'amqp://a:5672, amqp://b:5672,amqps://c:5671' }).amqp.urls).toEqual(['amqp://a:5672', 'amqp://b:5672', 'amqps://c:5671']);
    expect(load({ AMQP_URL: 'amqp://single', AMQP_URLS: 'amqp://n1,amqp://n2,amqp://n3' }).amqp.urls).toEqual(['amqp://n1', 'amqp://n2', 'amqp://n3']);
    expect(load({ AMQP_URLS: 'amqp://n1,amqp://n2' }).amqp.urls).toEqual(['amqp://n1', 'amqp://n2']);
  });

  it.each([
    [{}, /AMQP_URL: AMQP_URL must be an amqp:\/\/ URL/],
    [{ AMQP_URL: 'http://rabbit' }, /AMQP_URL: AMQP_URL must be an amqp:\/\/ URL/],
    [{ AMQP_URL: 'amqp://a,,amqp://b' }, /AMQP_URL: AMQP_URL must be/],
    [{ AMQP_URLS: 'amqp://a,rabbit:5672' }, /AMQP_URLS: AMQP_URLS must be a comma-separated list of amqp:\/\/ URLs/],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => load(env as Record<string, string>)).toThrow(message);
  });
});
