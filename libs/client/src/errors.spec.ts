import { GatewayError } from './errors';
import { backoffDelay } from './retry';

describe('GatewayError', () => {
  it("carries the gateway's field-level details and names them in its message", () => {
    const e = new GatewayError('POST', '/v1/uploads', {
      statusCode: 400,
      error: 'Bad Request',
      message: 'invalid input',
      code: 'INVALID_INPUT',
      details: [{ field: 'size', message: 'size must not be less than 1' }],
    });
    expect(e).toMatchObject({
      statusCode: 400,
      code: 'INVALID_INPUT',
      details: [{ field: 'size', message: 'size must not be less than 1' }],
      retryable: false,
    });
    expect(e.message).toBe('invalid input (size: size must not be less than 1)');
  });

  it.each([
    [500, true],
    [503, true],
    [429, true],
    [408, true],
    [404, false],
    [409, false],
  ])('HTTP %d retryable: %p', (statusCode, retryable) => {
    expect(new GatewayError('GET', '/x', { statusCode, error: '', message: 'm' }).retryable).toBe(retryable);
  });
});

describe('backoffDelay', () => {
  it('doubles per attempt within jitter, up to the cap', () => {
    const low = () => 0;
    const high = () => 1;
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, 100, 10_000, high))).toEqual([100, 200, 400, 800]);
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, 100, 10_000, low))).toEqual([50, 100, 200, 400]);
    expect(backoffDelay(20, 100, 1_000, high)).toBe(1_000);
  });
});
