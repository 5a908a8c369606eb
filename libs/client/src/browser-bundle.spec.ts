import { build } from 'esbuild';
import { join } from 'node:path';

/**
 * The SDK must run in a browser: bundled for the browser, nothing from Node may be needed except
 * `node:fs`, which only a file path (a Node-only source) loads, lazily.
 */
describe('browser bundle', () => {
  it('bundles for the browser with node:fs as the only Node import, loaded on demand', async () => {
    const result = await build({
      entryPoints: [join(__dirname, 'index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      external: ['node:fs'],
    });
    const code = result.outputFiles[0].text;
    expect([...new Set(code.match(/["']node:[a-z/_]+["']/g))]).toEqual(['"node:fs"']);
    // Only as a dynamic import, so a bundle that never uploads a path never loads it.
    expect(code).toMatch(/import\("node:fs"\)/);
    expect(code).not.toMatch(/\b(require\(|process\.|Buffer\.)/);
  }, 30_000);
});
