import { Actor, canAccess, hashUploadToken, newUploadToken } from './actor';

const token = newUploadToken();
const owned = { userId: 'alice', uploadTokenHash: null };
const anonymous = { userId: null, uploadTokenHash: token.hash };
const user = (userId: string, isAdmin = false): Actor => ({ userId, isAdmin, uploadToken: null });
const anon = (uploadToken: string | null): Actor => ({ userId: null, isAdmin: false, uploadToken });

describe('canAccess (someone else’s resource is a 404)', () => {
  it.each<[string, Actor, { userId: string | null; uploadTokenHash: string | null }, boolean]>([
    ['the owner', user('alice'), owned, true],
    ['another user', user('bob'), owned, false],
    ['an admin', user('root', true), owned, true],
    ['anonymous without a token, on an owned resource', anon(null), owned, false],
    ['anonymous with some token, on an owned resource', anon(token.token), owned, false],
    ['anonymous with the right token', anon(token.token), anonymous, true],
    ['anonymous with a wrong token', anon('wrong'), anonymous, false],
    ['anonymous with the hash itself as token', anon(token.hash), anonymous, false],
    ['anonymous without a token', anon(null), anonymous, false],
    ['a signed-in user, on an anonymous resource', user('alice'), anonymous, false],
    ['an admin, on an anonymous resource', user('root', true), anonymous, true],
    ['anonymous, on a resource with neither owner nor token', anon('x'), { userId: null, uploadTokenHash: null }, false],
  ])('%s → %s', (_, actor, resource, expected) => {
    expect(canAccess(actor, resource)).toBe(expected);
  });

  it('upload tokens are random and stored only as their SHA-256', () => {
    const a = newUploadToken();
    expect(a.token).not.toBe(newUploadToken().token);
    expect(a.hash).toBe(hashUploadToken(a.token));
    expect(a.hash).not.toContain(a.token);
    expect(Buffer.from(a.token, 'base64url')).toHaveLength(32);
  });
});
