import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliState } from './state';

/** Issue 16 (low): the CLI's state file holds upload tokens; it was written with the umask's mode (0644 usually). */
describe('CliState file modes', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'cli-state-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes upload tokens to a 0600 file in a 0700 directory, also over a file an older CLI left readable', () => {
    const dir = join(root, 'state');
    new CliState(dir).rememberToken('session-1', 'secret-token');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'state.json')).mode & 0o777).toBe(0o600);

    writeFileSync(join(dir, 'state.json'), '{}', { mode: 0o644 });
    new CliState(dir).rememberToken('session-2', 'another-token');
    expect(statSync(join(dir, 'state.json')).mode & 0o777).toBe(0o600);
    expect(new CliState(dir).tokens).toEqual({ 'session-2': 'another-token' });
  });
});
