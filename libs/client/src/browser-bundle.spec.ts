import { build } from 'esbuild';
import { join } from 'node:path';

/**
 * The SDK must run in a browser: bundled for the browser, nothing from Node may be needed except
 * `node:fs`, which only a file path (a Node-only source) loads, lazily, and `node:crypto`, which only
 * skipExisting's hashing tries, lazily (where it does not load, Web Crypto hashes instead).
 */
describe('browser bundle', () => {
  it('bundles for the browser with node:fs and node:crypto as the only Node imports, loaded on demand', async () => {
    const result = await build({
      entryPoints: [join(__dirname, 'index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      external: ['node:fs', 'node:crypto'],
    });
    const code = result.outputFiles[0].text;
    expect([...new Set(code.match(/["']node:[a-z/_]+["']/g))].sort()).toEqual(['"node:crypto"', '"node:fs"']);
    // Only as dynamic imports, so a bundle that never uploads a path (or hashes) never loads them.
    expect(code).toMatch(/import\("node:fs"\)/);
    expect(code).toMatch(/import\("node:crypto"\)/);
    expect(code).not.toMatch(/from\s*"node:/);
    expect(code).not.toMatch(/\b(require\(|process\.|Buffer\.)/);
  }, 30_000);
});
