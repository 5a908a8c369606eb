import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { AddressWebhookTargetGuard, HttpWebhookSender } from '@app/webhooks';

/**
 * The HTTP sender and the target guard against real sockets on 127.0.0.1. A resolver stands in for DNS so a
 * host name can resolve to a public address when the subscription is checked and to a private one when the
 * sender connects (DNS rebinding): the connection is refused and the receiver sees nothing.
 */
describe('webhook sender and target guard (real sockets)', () => {
  let server: Server;
  let port = 0;
  const hits: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      req.resume();
      if (req.url === '/redirect') return void res.writeHead(302, { location: '/target' }).end();
      if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end(), 2_000).unref();
      if (req.url === '/busy') return void res.writeHead(503, { 'retry-after': '120' }).end();
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const post = (sender: HttpWebhookSender, url: string) => sender.send({ url, headers: { 'content-type': 'application/json' }, body: '{}' });

  it('DNS rebinding: a name that resolved to a public address at subscription and resolves to loopback now is refused at connect', async () => {
    const atSubscription = new AddressWebhookTargetGuard({ allowPrivate: false, requireHttps: false }, async () => ['93.184.216.34']);
    expect(await atSubscription.check(`http://rebind.test:${port}/hook`)).toBeNull();

    const sender = new HttpWebhookSender({ allowPrivate: false, requireHttps: false, timeoutMs: 2_000 }, async () => ['127.0.0.1']);
    const before = hits.length;
    const result = await post(sender, `http://rebind.test:${port}/hook`);
    expect(result).toMatchObject({
      kind: 'error',
      error: expect.stringMatching(/refused at connect: rebind\.test resolves to 127\.0\.0\.1, a loopback address/),
    });
    // One private address among public ones is enough.
    const mixed = new HttpWebhookSender({ allowPrivate: false, requireHttps: false, timeoutMs: 2_000 }, async () => ['93.184.216.34', '10.0.0.1']);
    expect(await post(mixed, `http://mixed.test:${port}/hook`)).toMatchObject({
      kind: 'error',
      error: expect.stringMatching(/10\.0\.0\.1, a private address/),
    });
    expect(hits.length).toBe(before);
    await sender.onApplicationShutdown();
    await mixed.onApplicationShutdown();
  });

  it('an IP-literal URL (which skips name resolution) is refused too', async () => {
    const sender = new HttpWebhookSender({ allowPrivate: false, requireHttps: false, timeoutMs: 2_000 });
    expect(await post(sender, `http://127.0.0.1:${port}/hook`)).toMatchObject({
      kind: 'error',
      error: expect.stringMatching(/points to 127\.0\.0\.1, a loopback address/),
    });
    expect(await post(sender, `http://[::ffff:127.0.0.1]:${port}/hook`)).toMatchObject({ kind: 'error', error: expect.stringMatching(/loopback/) });
    await sender.onApplicationShutdown();
  });

  describe('with private targets allowed (as in tests)', () => {
    const sender = new HttpWebhookSender({ allowPrivate: true, requireHttps: false, timeoutMs: 1_000 });
    afterAll(() => sender.onApplicationShutdown());

    it('answers with the status; redirects are not followed', async () => {
      expect(await post(sender, `http://localhost:${port}/ok`)).toMatchObject({ kind: 'response', status: 204 });
      const before = hits.filter((h) => h === '/target').length;
      expect(await post(sender, `http://127.0.0.1:${port}/redirect`)).toMatchObject({ kind: 'response', status: 302 });
      expect(hits.filter((h) => h === '/target').length).toBe(before);
    });

    it('gives up after the timeout', async () => {
      const result = await post(sender, `http://127.0.0.1:${port}/slow`);
      expect(result).toMatchObject({ kind: 'error', error: 'no answer within 1000 ms' });
      expect(result.latencyMs).toBeGreaterThanOrEqual(950);
      expect(result.latencyMs).toBeLessThan(1_900);
    });

    it('reads Retry-After', async () => {
      expect(await post(sender, `http://127.0.0.1:${port}/busy`)).toMatchObject({ kind: 'response', status: 503, retryAfterSeconds: 120 });
    });

    it('a refused connection is a result, not an exception', async () => {
      expect(await post(sender, 'http://127.0.0.1:9/closed')).toMatchObject({ kind: 'error', error: expect.stringMatching(/ECONNREFUSED/) });
    });
  });

  it('https is required when configured, at subscription and at send', async () => {
    const guard = new AddressWebhookTargetGuard({ allowPrivate: true, requireHttps: true });
    expect(await guard.check(`http://127.0.0.1:${port}/`)).toBe('url must use https (WEBHOOK_REQUIRE_HTTPS)');
    const sender = new HttpWebhookSender({ allowPrivate: true, requireHttps: true, timeoutMs: 1_000 });
    expect(await post(sender, `http://127.0.0.1:${port}/`)).toMatchObject({ kind: 'error', error: expect.stringMatching(/https/) });
    await sender.onApplicationShutdown();
  });

  it('a host that does not resolve is refused at subscription', async () => {
    const guard = new AddressWebhookTargetGuard({ allowPrivate: false, requireHttps: false }, async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
    });
    expect(await guard.check('https://nowhere.invalid/')).toBe("url's host nowhere.invalid does not resolve (ENOTFOUND)");
  });
});
