import { createHmac, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export type SigningKey = { alg: 'HS256'; secret: string; kid?: string } | { alg: 'RS256' | 'ES256'; privateKey: KeyObject; kid: string } | { alg: 'none' };

/** Signs a JWT the way an identity provider would (or deliberately wrongly: any header, any key). */
export function signJwt(payload: Record<string, unknown>, key: SigningKey, header: Record<string, unknown> = {}): string {
  const head = b64({ alg: key.alg, typ: 'JWT', ...('kid' in key && key.kid ? { kid: key.kid } : {}), ...header });
  const body = b64(payload);
  const input = `${head}.${body}`;
  switch (key.alg) {
    case 'none':
      return `${input}.`;
    case 'HS256':
      return `${input}.${createHmac('sha256', key.secret).update(input).digest('base64url')}`;
    case 'RS256':
      return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
    case 'ES256':
      return `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  }
}

/** Standard claims for `sub`, valid for an hour from now, plus any overrides. */
export function claims(sub: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub, iat: now, exp: now + 3600, ...extra };
}

/** An RSA and an EC key pair, as an identity provider would hold them. */
export function keyPairs() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    rs256: { alg: 'RS256' as const, privateKey: rsa.privateKey, publicKey: rsa.publicKey, kid: 'rsa-1' },
    es256: { alg: 'ES256' as const, privateKey: ec.privateKey, publicKey: ec.publicKey, kid: 'ec-1' },
  };
}

/** Serves `{ keys: [...] }` (public JWKs) over HTTP on 127.0.0.1, like an identity provider's jwks_uri. */
export class JwksServer {
  requests = 0;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(keys: { publicKey: KeyObject; kid: string; alg: string }[], port = 0): Promise<JwksServer> {
    const jwks = { keys: keys.map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, alg: k.alg, use: 'sig' })) };
    let self: JwksServer | undefined;
    const server = createServer((req, res) => {
      if (self) self.requests++;
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    self = new JwksServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`);
    return self;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
