import { DomainError, DomainErrorCode } from '@app/domain';
import { callerKeyOf, StreamTickets } from './stream-tickets';

const SESSION = '0b0f6f2e-4a8e-4d1c-9a51-3c7f3b2a9e10';
const OTHER = '7d3e2b1a-0c9f-4e8d-8b7a-6f5e4d3c2b1a';

function refusal(f: () => unknown): DomainErrorCode | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof DomainError) return e.code;
    throw e;
  }
}

describe('StreamTickets', () => {
  let now = 1_000_000;
  const tickets = new StreamTickets('a-stream-ticket-key-0123456789', 60_000, () => now);

  it('a ticket opens the stream it was minted for, on any replica with the same key, and names its caller', () => {
    const { ticket, expiresAt } = tickets.mint('session', SESSION, 'caller-1');
    expect(expiresAt.getTime()).toBe(now + 60_000);
    expect(tickets.verify(ticket, 'session', SESSION)).toEqual({ caller: 'caller-1' });
    expect(new StreamTickets('a-stream-ticket-key-0123456789', 1, () => now).verify(ticket, 'session', SESSION.toUpperCase())).toEqual({ caller: 'caller-1' });
  });

  it("opens no other session, and not the group route of the same id (404, as for someone else's)", () => {
    const { ticket } = tickets.mint('session', SESSION, 'c');
    expect(refusal(() => tickets.verify(ticket, 'session', OTHER))).toBe(DomainErrorCode.SESSION_NOT_FOUND);
    expect(refusal(() => tickets.verify(ticket, 'group', SESSION))).toBe(DomainErrorCode.GROUP_NOT_FOUND);
    expect(refusal(() => tickets.verify(ticket, 'session', 'not-a-uuid'))).toBe(DomainErrorCode.SESSION_NOT_FOUND);
  });

  it('is refused once expired (401)', () => {
    const { ticket } = tickets.mint('group', SESSION, 'c');
    now += 59_999;
    expect(tickets.verify(ticket, 'group', SESSION)).toEqual({ caller: 'c' });
    now += 1;
    expect(() => tickets.verify(ticket, 'group', SESSION)).toThrow('stream ticket expired');
    expect(refusal(() => tickets.verify(ticket, 'group', SESSION))).toBe(DomainErrorCode.UNAUTHENTICATED);
  });

  it('refuses a ticket of another key, an altered one and garbage (401)', () => {
    const { ticket } = tickets.mint('session', SESSION, 'c');
    const [v, payload, sig] = ticket.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const altered = [
      new StreamTickets('another-key-of-another-platform', 60_000, () => now).mint('session', SESSION, 'c').ticket,
      `${v}.${Buffer.from(JSON.stringify({ ...claims, e: claims.e + 3_600_000 })).toString('base64url')}.${sig}`,
      `${v}.${payload}.${sig.slice(0, -2)}AA`,
      `v2.${payload}.${sig}`,
      `${ticket}.extra`,
      '',
      'x'.repeat(5000),
    ];
    for (const t of altered)
      expect({ t: t.slice(0, 40), code: refusal(() => tickets.verify(t, 'session', SESSION)) }).toEqual({
        t: t.slice(0, 40),
        code: DomainErrorCode.UNAUTHENTICATED,
      });
  });

  it('a process without a configured key signs with its own random one', () => {
    const a = new StreamTickets(null, 60_000);
    const b = new StreamTickets(null, 60_000);
    const { ticket } = a.mint('session', SESSION, 'c');
    expect(a.verify(ticket, 'session', SESSION)).toEqual({ caller: 'c' });
    expect(refusal(() => b.verify(ticket, 'session', SESSION))).toBe(DomainErrorCode.UNAUTHENTICATED);
  });

  it('counts a caller the same whether it comes with headers or a ticket, and never shows who it is', () => {
    const user = callerKeyOf({ userId: 'alice', isAdmin: false, uploadToken: null }, '10.0.0.1');
    expect(user).toBe(callerKeyOf({ userId: 'alice', isAdmin: false, uploadToken: null }, '10.0.0.2'));
    expect(user).not.toContain('alice');
    const token = callerKeyOf({ userId: null, isAdmin: false, uploadToken: 'tok-1' }, '10.0.0.1');
    expect(token).not.toBe(callerKeyOf({ userId: null, isAdmin: false, uploadToken: 'tok-2' }, '10.0.0.1'));
    expect(callerKeyOf({ userId: null, isAdmin: false, uploadToken: null }, '10.0.0.1')).not.toBe(
      callerKeyOf({ userId: null, isAdmin: false, uploadToken: null }, '10.0.0.2'),
    );
  });
});
