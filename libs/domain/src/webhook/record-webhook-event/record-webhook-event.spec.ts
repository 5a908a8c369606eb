import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { readDomainEvent } from './record-webhook-event.usecase';

const id = '0b6f3b0e-8a51-4c1e-9d57-2b6a4f1f0c11';
const good = { id, type: 'session.completed', version: 1, occurredAt: '2026-12-01T00:00:00Z', data: { userId: 'alice' } };

describe('readDomainEvent', () => {
  it('reads id, type and owner', () => {
    expect(readDomainEvent(good)).toEqual({ id, type: 'session.completed', userId: 'alice' });
    expect(readDomainEvent({ ...good, data: { userId: null } }).userId).toBeNull();
  });

  it.each([
    ['a string', 'hello', /not a JSON object/],
    ['an array', [good], /not a JSON object/],
    ['no id', { ...good, id: undefined }, /id must be a uuid/],
    ['an unknown type', { ...good, type: 'session.exploded' }, /unknown type "session.exploded"/],
    ['another version', { ...good, version: 2 }, /version must be 1/],
    ['no data', { ...good, data: null }, /no data/],
    ['a numeric owner', { ...good, data: { userId: 7 } }, /userId/],
  ])('refuses %s as a malformed message (dead-lettered with the reason)', (_, body, reason) => {
    let error: unknown;
    try {
      readDomainEvent(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe(DomainErrorCode.MALFORMED_MESSAGE);
    expect((error as DomainError).message).toMatch(reason);
  });
});
