import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './poll';
import { NS } from './test-env';

/** The client package's CLI, as built by `npm run build`. */
export const CLI = join(__dirname, '..', '..', 'libs', 'client', 'dist', 'cli', 'main.js');

const SOCKET = `uploads-${NS}-cli-test`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface TerminalRun {
  exitCode: number;
  /** What the terminal showed, scrollback included. */
  screen: string;
}

/**
 * Runs a command in a real pseudo-terminal (a detached tmux session on a private socket), waits for it
 * to exit and returns the screen as a user would have seen it, with the exit code.
 */
export async function runInTerminal(argv: string[], env: Record<string, string>, opts: { timeoutMs?: number; cwd?: string } = {}): Promise<TerminalRun> {
  if (existsSync(CLI) === false) throw new Error(`no ${CLI}: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'cli-term-'));
  const exitFile = join(dir, 'exit');
  const name = `run${Date.now()}`;
  const exports = Object.entries(env)
    .map(([k, v]) => `export ${k}=${quote(v)};`)
    .join(' ');
  const script = `${exports} cd ${quote(opts.cwd ?? dir)}; ${argv.map(quote).join(' ')}; echo $? > ${quote(exitFile)}; sleep 600`;
  const started = tmux('new-session', '-d', '-s', name, '-x', '220', '-y', '60', 'bash', '--norc', '-c', script);
  if (started.status !== 0) throw new Error(`tmux: ${started.stderr}`);
  try {
    tmux('set-option', '-t', name, 'history-limit', '5000');
    await waitFor(async () => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() !== '', Boolean, {
      timeoutMs: opts.timeoutMs ?? 60_000,
      intervalMs: 200,
      what: `${argv.join(' ')} to exit`,
    }).catch((e: Error) => {
      throw new Error(`${e.message}; the terminal shows:\n${tmux('capture-pane', '-p', '-J', '-S', '-', '-t', name).stdout}`);
    });
    const screen = tmux('capture-pane', '-p', '-J', '-S', '-', '-t', name).stdout;
    return { exitCode: Number(readFileSync(exitFile, 'utf8').trim()), screen };
  } finally {
    tmux('kill-session', '-t', name);
  }
}
