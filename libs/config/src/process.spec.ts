import { redactSecrets } from './process';

describe('redactSecrets', () => {
  it.each([
    ['a bearer token', 'Authorization: Bearer abc.def.ghi', 'Authorization: Bearer [redacted]'],
    ['a bare JWT', 'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig-nature_1 rejected', 'token [redacted-jwt] rejected'],
    [
      'a pre-signed URL',
      'PUT http://s3/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261128&X-Amz-Date=1&X-Amz-Expires=900&X-Amz-Signature=deadbeef failed',
      'PUT http://s3/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[redacted]&X-Amz-Date=1&X-Amz-Expires=900&X-Amz-Signature=[redacted] failed',
    ],
    ['an upload token header', '{"x-upload-token":"s3cr3t","a":1}', '{"x-upload-token":"[redacted]","a":1}'],
    ['nothing secret', 'session 1234 uploaded', 'session 1234 uploaded'],
  ])('masks %s', (_, input, output) => {
    expect(redactSecrets(input)).toBe(output);
  });
});
