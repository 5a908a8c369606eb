import { isDeclaredTypeCompatible } from './content-type-compat';

const detectable = new Set(['image/png', 'image/jpeg', 'application/pdf', 'application/zip', 'application/xml']);

describe('isDeclaredTypeCompatible', () => {
  it.each([
    ['image/png', 'image/png', true],
    ['image/jpg', 'image/jpeg', true],
    ['IMAGE/PNG; charset=binary', 'image/png', true],
    ['application/pdf', 'image/png', false],
    ['text/plain', 'image/png', false],
    ['application/octet-stream', 'image/png', true],
    ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'application/zip', true],
    ['image/svg+xml', 'application/xml', true],
    ['text/plain', undefined, true],
    ['application/json', undefined, true],
    ['image/png', undefined, false],
    ['application/pdf', undefined, false],
  ])('declared %s, detected %s → %s', (declared, detected, ok) => {
    expect(isDeclaredTypeCompatible(declared, detected, detectable).ok).toBe(ok);
  });

  it('explains a mismatch', () => {
    expect(isDeclaredTypeCompatible('application/pdf', 'image/png', detectable).reason).toBe('content is image/png, declared application/pdf');
  });
});
