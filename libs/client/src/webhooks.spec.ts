import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook, WebhookVerificationError } from './webhooks';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const body = JSON.stringify({
  id: 'b1f0c7e2-0d0e-4d8c-9a53-3f7c2f0f5e11',
  type: 'session.completed',
  occurredAt: '2026-12-01T00:00:00.000Z',
  version: 1,
  data: { filename: 'ü €.png' },
});
const id = 'b1f0c7e2-0d0e-4d8c-9a53-3f7c2f0f5e11';
const now = () => Date.now();
/** Signed by the specification's reference library, so this tests our verifier against it. */
const signedHeaders = (s = secret, at = new Date()) => ({
  'webhook-id': id,
  'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
  'webhook-signature': new Webhook(s).sign(id, at, body),
});

describe('verifyWebhook', () => {
  it("accepts what the reference library signs, from a string, bytes, a Headers object or Node's header record", async () => {
    const headers = signedHeaders();
    expect((await verifyWebhook(secret, headers, body)).type).toBe('session.completed');
    expect((await verifyWebhook(secret, new Headers(headers), new TextEncoder().encode(body))).data).toEqual({ filename: 'ü €.png' });
    expect(
      (
        await verifyWebhook(
          secret,
          { 'Webhook-Id': headers['webhook-id'], 'WEBHOOK-TIMESTAMP': [headers['webhook-timestamp']], 'webhook-signature': headers['webhook-signature'] },
          body,
        )
      ).id,
    ).toBe(id);
  });

  it('accepts any one matching signature of several (secret rotation)', async () => {
    const other = `whsec_${randomBytes(32).toString('base64')}`;
    const headers = signedHeaders();
    const both = { ...headers, 'webhook-signature': `${signedHeaders(other)['webhook-signature']} ${headers['webhook-signature']}` };
    await expect(verifyWebhook(secret, both, body)).resolves.toMatchObject({ id });
    await expect(verifyWebhook(other, both, body)).resolves.toMatchObject({ id });
  });

  it.each([
    ['a tampered body', (h: Record<string, string>) => [h, body.replace('ü', 'u')] as const, /no signature matches/],
    ['another webhook-id', (h: Record<string, string>) => [{ ...h, 'webhook-id': 'msg_other' }, body] as const, /no signature matches/],
    ['a missing signature', (h: Record<string, string>) => [{ ...h, 'webhook-signature': '' }, body] as const, /missing/],
    [
      'an unknown signature version only',
      (h: Record<string, string>) => [{ ...h, 'webhook-signature': h['webhook-signature'].replace('v1,', 'v2,') }, body] as const,
      /no signature matches/,
    ],
    ['a garbage signature', (h: Record<string, string>) => [{ ...h, 'webhook-signature': 'v1,@@@ v1,' }, body] as const, /no signature matches/],
    ['a timestamp that is not a number', (h: Record<string, string>) => [{ ...h, 'webhook-timestamp': '12.5' }, body] as const, /not a Unix time/],
  ])('refuses %s', async (_, change, reason) => {
    const [headers, b] = change(signedHeaders());
    await expect(verifyWebhook(secret, headers, b)).rejects.toThrow(reason);
    await expect(verifyWebhook(secret, headers, b)).rejects.toBeInstanceOf(WebhookVerificationError);
  });

  it('refuses another secret', async () => {
    await expect(verifyWebhook(`whsec_${randomBytes(32).toString('base64')}`, signedHeaders(), body)).rejects.toThrow(/no signature matches/);
  });

  it('refuses a delivery outside the tolerance (a replay), in both directions', async () => {
    const old = signedHeaders(secret, new Date(Date.now() - 10 * 60_000));
    await expect(verifyWebhook(secret, old, body)).rejects.toThrow(/away from now \(tolerance 300 s\)/);
    await expect(verifyWebhook(secret, old, body, { toleranceSeconds: 900 })).resolves.toMatchObject({ id });
    await expect(verifyWebhook(secret, signedHeaders(secret, new Date(Date.now() + 10 * 60_000)), body, { now })).rejects.toThrow(/tolerance/);
  });

  it('agrees with a plain HMAC written from the specification', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const sig = createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
      .update(`${id}.${ts}.${body}`)
      .digest('base64');
    await expect(verifyWebhook(secret, { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${sig}` }, body)).resolves.toMatchObject({
      id,
    });
  });
});
