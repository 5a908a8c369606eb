import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppName, startApp, stopApp } from '../support/apps';
import { waitFor } from '../support/poll';
import { NS, ROOT } from '../support/test-env';

jest.setTimeout(120_000);

/** Starts an app until it is ready, and returns every module it has loaded by then (then stops it). */
async function modulesOf(name: AppName): Promise<string[]> {
  const file = join(tmpdir(), `loaded-modules-${NS}-${name}-${process.pid}.json`);
  rmSync(file, { force: true });
  const app = await startApp(name, { NODE_OPTIONS: `--require ${join(ROOT, 'test/support/loaded-modules.js')}`, LOADED_MODULES_FILE: file });
  try {
    app.process.kill('SIGUSR2');
    await waitFor(async () => existsSync(file), Boolean, { timeoutMs: 10_000, intervalMs: 50, what: `${name} to list its modules` });
    return JSON.parse(readFileSync(file, 'utf8')) as string[];
  } finally {
    await stopApp(app);
    rmSync(file, { force: true });
  }
}

const loads = (modules: string[], pkg: string) => modules.some((m) => m.includes(`/node_modules/${pkg}/`));

/**
 * The job handlers and their native libraries live in libs/processing, which only the job-processor imports:
 * the gateway (and storage-events) never load sharp or file-type, not even at start.
 */
describe('which process loads the image libraries (e2e)', () => {
  it('the job-processor loads sharp and file-type; the gateway and storage-events load neither', async () => {
    const processor = await modulesOf('job-processor');
    expect(loads(processor, 'sharp')).toBe(true);
    expect(loads(processor, 'file-type')).toBe(true);
    for (const name of ['upload-gateway', 'storage-events'] as const) {
      const modules = await modulesOf(name);
      // It did start: its own compiled code is in the list.
      expect(modules.some((m) => m.includes(join('apps', name, 'src', 'main.js')))).toBe(true);
      expect({ name, sharp: loads(modules, 'sharp'), fileType: loads(modules, 'file-type') }).toEqual({ name, sharp: false, fileType: false });
    }
  });
});
