import { buildObjectKey, sanitizeFilename, sessionIdFromKey } from './object-key';

const ID = '0b6f2b8e-6a43-4c1e-9a51-3f0f3b2d7c11';

describe('sanitizeFilename', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['my file+ü (1) 100%.png', 'my file_ü (1) 100_.png'],
    ['../../etc/passwd', '_etc_passwd'],
    ['..\\..\\windows\\system32', '_windows_system32'],
    ['a/b/c.txt', 'a_b_c.txt'],
    ['tab\there\nnewline', 'tab here newline'],
    ['日本語のファイル.txt', '日本語のファイル.txt'],
    ['.hidden', 'hidden'],
    ['...', 'file'],
    ['', 'file'],
    ['a?b#c&d=e.txt', 'a_b_c_d_e.txt'],
    ['cafe\u0301.txt', 'café.txt'],
  ])('%j → %j', (input, expected) => {
    expect(sanitizeFilename(input)).toBe(expected);
  });

  it('keeps names within 200 bytes without splitting a character', () => {
    const safe = sanitizeFilename('ü'.repeat(300));
    expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(200);
    expect(safe).toBe('ü'.repeat(100));
  });
});

describe('object keys', () => {
  it('are made of the session id and the sanitized name', () => {
    expect(buildObjectKey(ID, '../secret file+.png')).toBe(`uploads/${ID}/_secret file_.png`);
  });
  it('give back their session id; foreign keys give null', () => {
    expect(sessionIdFromKey(buildObjectKey(ID, 'x.png'))).toBe(ID);
    expect(sessionIdFromKey(`thumbnails/${ID}/x.webp`)).toBeNull();
    expect(sessionIdFromKey('uploads/not-a-uuid/x.png')).toBeNull();
  });
});
