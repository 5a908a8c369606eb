import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { System } from '../support/apps';
import { sample, scrape } from '../support/metrics';
import { pngBytes } from '../support/builders';
import { CLI, runInTerminal, TerminalRun } from '../support/terminal';
import { GATEWAY_URL, PORT_BASE, ROOT } from '../support/test-env';

jest.setTimeout(120_000);

/** The exit code, with the screen in the failure message. */
function expectExit(run: TerminalRun, code: number): void {
  if (run.exitCode !== code) throw new Error(`exit code ${run.exitCode}, expected ${code}; the terminal showed:\n${run.screen}`);
}

/** The `upload` CLI in a real pseudo-terminal (tmux), against the three apps. */
describe('upload CLI (e2e, in a terminal)', () => {
  let system: System;
  const dir = mkdtempSync(join(tmpdir(), 'cli-e2e-'));
  const env = { UPLOAD_SERVER: GATEWAY_URL, UPLOAD_STATE_DIR: join(dir, 'state'), PATH: process.env.PATH ?? '' };

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: 'VALIDATION' });
    writeFileSync(join(dir, 'photo.png'), pngBytes(16, 16));
    writeFileSync(join(dir, 'notes.txt'), 'three files, one group\n'.repeat(100));
    writeFileSync(join(dir, 'data.json'), JSON.stringify({ hello: 'world', n: [1, 2, 3] }));
    writeFileSync(join(dir, 'empty.txt'), '');
  });

  afterAll(async () => {
    await system?.stop();
  });

  it("uploads three files as a group: progress bars, each job's state live, a final table of COMPLETED sessions with their jobs, exit 0", async () => {
    const streams = sample(await scrape(PORT_BASE), 'sse_streams_opened_total', { kind: 'group' });
    const run = await runInTerminal(['node', CLI, 'put', 'photo.png', 'notes.txt', 'data.json', '--group', 'holiday'], env, { cwd: dir });

    expectExit(run, 0);
    // Processing, live from the group's event stream: each file's job as it completes, then the group.
    for (const name of ['photo.png', 'notes.txt', 'data.json'])
      expect(run.screen).toMatch(new RegExp(`^${name.replace('.', '\\.')}: VALIDATION COMPLETED$`, 'm'));
    expect(run.screen).toMatch(/^group COMPLETED \(3\/3 completed\)$/m);
    expect(sample(await scrape(PORT_BASE), 'sse_streams_opened_total', { kind: 'group' })).toBe(streams + 1);
    // The bars, left at 100% once done: one per file and one overall.
    for (const name of ['photo.png', 'notes.txt', 'data.json', 'overall'])
      expect(run.screen).toMatch(new RegExp(`${name.replace('.', '\\.')}\\s+\\|.*\\| 100% `));
    const table = run.screen.slice(run.screen.indexOf('FILE'));
    expect(table).toMatch(/^FILE\s+SESSION\s+STATUS\s+JOBS/);
    for (const name of ['photo.png', 'notes.txt', 'data.json']) {
      expect(table).toMatch(new RegExp(`^${name.replace('.', '\\.')}\\s+[0-9a-f-]{36}\\s+COMPLETED\\s+VALIDATION:COMPLETED`, 'm'));
    }
    expect(table).toMatch(/^group [0-9a-f-]{36} "holiday": COMPLETED \(3\/3 completed\)$/m);
  });

  it("a group with one invalid file exits non-zero with the gateway's message naming the file", async () => {
    const run = await runInTerminal(['node', CLI, 'put', 'photo.png', 'empty.txt', 'data.json', '--group', 'broken'], env, { cwd: dir });

    expectExit(run, 1);
    expect(run.screen).toContain('error: ');
    expect(run.screen).toMatch(/files\[1\]\.size: size must not be less than 1/);
    expect(run.screen).not.toMatch(/COMPLETED/);
  });

  it('the examples of docs/client.md work as written (against this test gateway)', async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'client.md'), 'utf8');
    const [sdk] = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
    const [cli] = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(sdk.trim().split('\n')).toHaveLength(5);
    writeFileSync(
      join(dir, 'upload.mjs'),
      sdk.replace('./libs/client/dist/index.js', join(ROOT, 'libs/client/dist/index.js')).replace('http://localhost:3000', GATEWAY_URL),
    );

    const example = await runInTerminal(['node', 'upload.mjs', 'notes.txt'], env, { cwd: dir });
    expectExit(example, 0);
    expect(example.screen).toContain('100% 1/1 parts');
    expect(example.screen).toContain('COMPLETED VALIDATION:COMPLETED');

    // The CLI example as a shell script, from the repository root (the gateway comes from UPLOAD_SERVER).
    const shell = await runInTerminal(['bash', '-c', `shopt -s expand_aliases\n${cli}`], env, { cwd: ROOT });
    expectExit(shell, 0);
    expect(shell.screen).toMatch(/"first-group": COMPLETED \(2\/2 completed\)/);
    expect(shell.screen).toMatch(/^SESSION\s+FILE\s+SIZE\s+STATUS/m);
  });

  it('--json prints the outcome for scripts; `status` and `ls` show the sessions', async () => {
    const run = await runInTerminal(['bash', '-c', `node ${CLI} put notes.txt --json > out.json`], env, { cwd: dir });
    expectExit(run, 0);
    const out = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'));
    expect(out).toMatchObject({
      ok: true,
      files: [{ file: 'notes.txt', status: 'COMPLETED', jobs: [expect.objectContaining({ type: 'VALIDATION', status: 'COMPLETED' })] }],
    });

    const id = out.files[0].sessionId;
    const status = await runInTerminal(['node', CLI, 'status', id], env, { cwd: dir });
    expectExit(status, 0);
    expect(status.screen).toMatch(new RegExp(`session ${id}\\s+COMPLETED`));
    expect(status.screen).toMatch(/^VALIDATION\s+COMPLETED\s+1\/\d/m);

    const ls = await runInTerminal(['node', CLI, 'ls'], env, { cwd: dir });
    expectExit(ls, 0);
    expect(ls.screen).toMatch(new RegExp(`^${id}\\s+notes\\.txt\\s+.*COMPLETED`, 'm'));
  });
});
