import { Webhook } from 'standardwebhooks';
import { StandardWebhooksSigning } from './standard-webhooks-signing';

/** Our signer against the specification's reference library (standardwebhooks on npm), which nobody here wrote. */
describe('StandardWebhooksSigning', () => {
  const signing = new StandardWebhooksSigning();
  const body = JSON.stringify({ id: '6f1c1a0e-3f53-4b5c-9d47-0c0f7b0e8a11', type: 'session.completed', data: { sessionId: 'x', filename: 'ü €.png' } });
  const id = '6f1c1a0e-3f53-4b5c-9d47-0c0f7b0e8a11';

  it('makes whsec_ secrets of 32 random bytes', () => {
    const secret = signing.newSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(signing.newSecret()).not.toBe(secret);
  });

  it('signs exactly as the reference library does', () => {
    const secret = signing.newSecret();
    const timestamp = 1_767_225_600;
    expect(signing.sign([secret], id, timestamp, body)).toBe(new Webhook(secret).sign(id, new Date(timestamp * 1000), body));
  });

  it('is verified by the reference library, with one signature per secret during a rotation', () => {
    const [current, previous, stranger] = [signing.newSecret(), signing.newSecret(), signing.newSecret()];
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signing.sign([current, previous], id, timestamp, body) };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(stranger).verify(body, headers)).toThrow();
    expect(() => new Webhook(current).verify(body.replace('x', 'y'), headers)).toThrow();
  });
});
