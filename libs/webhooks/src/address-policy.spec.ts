import { addressRefusal, literalAddress } from './address-policy';

const strict = { allowPrivate: false };
const lax = { allowPrivate: true };

describe('addressRefusal', () => {
  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.216.34'])('%s (public) is allowed', (a) => {
    expect(addressRefusal(a, strict)).toBeNull();
  });

  it.each([
    ['127.0.0.1', /127\.0\.0\.1, a loopback address/],
    ['127.8.9.10', /loopback/],
    ['::1', /::1, a loopback address/],
    ['10.1.2.3', /a private address/],
    ['172.16.0.1', /a private address/],
    ['192.168.1.1', /a private address/],
    ['169.254.169.254', /169\.254\.169\.254, the cloud metadata address/],
    ['fd00:ec2::254', /the cloud metadata address/],
    ['169.254.1.1', /a link-local address/],
    ['fe80::1', /a link-local address/],
    ['fc00::5', /unique local/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['0.0.0.0', /reserved address \(unspecified\)/],
    ['::', /reserved address \(unspecified\)/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /broadcast/],
    // IPv4 carried in IPv6 is judged as the IPv4 address.
    ['::ffff:127.0.0.1', /127\.0\.0\.1, a loopback address/],
    ['::ffff:169.254.169.254', /metadata/],
    // Tunnels to an embedded address are refused whatever they embed.
    ['2002:7f00:1::1', /6to4/],
    ['64:ff9b::7f00:1', /rfc6052/],
  ])('%s is refused: %s', (a, reason) => {
    expect(addressRefusal(a, strict)).toMatch(reason);
  });

  it.each(['127.0.0.1', '::1', '10.1.2.3', '192.168.1.1', '169.254.169.254', 'fd00::1', '100.64.0.1'])(
    '%s is allowed with WEBHOOK_ALLOW_PRIVATE_TARGETS',
    (a) => {
      expect(addressRefusal(a, lax)).toBeNull();
    },
  );

  it.each(['0.0.0.0', '224.0.0.1', '2002:7f00:1::1'])('%s stays refused even then', (a) => {
    expect(addressRefusal(a, lax)).not.toBeNull();
  });
});

describe('literalAddress', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['[::1]', '::1'],
    ['example.com', null],
    ['localhost', null],
  ])('%s → %s', (host, address) => {
    expect(literalAddress(host)).toBe(address);
  });
});
