import { isDatabaseUnavailable, isTransientConflict } from './transient-errors';

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['an admin shutdown', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['a statement timeout', Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })],
    ['a broken pg client', new Error('insert into "x" values (1) - Client has encountered a connection error and is not queryable')],
    ['a transaction whose connection broke', new Error('Transaction query already complete, run with DEBUG=knex:tx for more info')],
    ['a full pool', new Error('Knex: Timeout acquiring a connection. The pool is probably full.')],
    ['a wrapped cause', Object.assign(new Error('outer'), { cause: Object.assign(new Error('x'), { code: '08006' }) })],
    ['a deadlock (a cancel racing a claim)', Object.assign(new Error('deadlock detected'), { code: '40P01' })],
    ['a serialization failure', Object.assign(new Error('could not serialize access due to concurrent update'), { code: '40001' })],
  ])('%s → unavailable (503 / retry later)', (_, e) => expect(isDatabaseUnavailable(e)).toBe(true));

  it.each([
    ['a unique violation', Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })],
    ['a syntax error', Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' })],
    ['not an error', 'boom'],
  ])('%s → not unavailable', (_, e) => expect(isDatabaseUnavailable(e)).toBe(false));
});

describe('isTransientConflict', () => {
  it.each([
    ['40P01', true],
    ['40001', true],
    ['23505', false],
    ['57P01', false],
  ])('code %s → %s', (code, expected) => expect(isTransientConflict(Object.assign(new Error('x'), { code }))).toBe(expected));

  it('looks through a wrapping error', () => {
    expect(isTransientConflict(Object.assign(new Error('outer'), { cause: Object.assign(new Error('deadlock detected'), { code: '40P01' }) }))).toBe(true);
  });
});
