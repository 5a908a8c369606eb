import { isDatabaseUnavailable } from './transient-errors';

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['an admin shutdown', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['a statement timeout', Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })],
    ['a broken pg client', new Error('insert into "x" values (1) - Client has encountered a connection error and is not queryable')],
    ['a transaction whose connection broke', new Error('Transaction query already complete, run with DEBUG=knex:tx for more info')],
    ['a full pool', new Error('Knex: Timeout acquiring a connection. The pool is probably full.')],
    ['a wrapped cause', Object.assign(new Error('outer'), { cause: Object.assign(new Error('x'), { code: '08006' }) })],
  ])('%s → unavailable (503 / retry later)', (_, e) => expect(isDatabaseUnavailable(e)).toBe(true));

  it.each([
    ['a unique violation', Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })],
    ['a syntax error', Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' })],
    ['not an error', 'boom'],
  ])('%s → not unavailable', (_, e) => expect(isDatabaseUnavailable(e)).toBe(false));
});
