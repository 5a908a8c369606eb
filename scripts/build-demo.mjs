#!/usr/bin/env node
// Builds the gateway's /demo page into dist/apps/upload-gateway/demo: the page and its script as they are,
// Uppy (@uppy/core, @uppy/dashboard, @uppy/aws-s3 from node_modules) bundled into one ES module, and
// Uppy's stylesheets in one file. No CDN: the page works offline. Run by `npm run build`.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'apps/upload-gateway/demo');
const out = join(root, 'dist/apps/upload-gateway/demo');
const require = createRequire(join(root, 'package.json'));
const t0 = Date.now();

mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(src, 'uppy-entry.js')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'eof',
  outfile: join(out, 'uppy.js'),
  logLevel: 'warning',
});
const css = ['@uppy/core/css/style.min.css', '@uppy/dashboard/css/style.min.css'].map((p) => readFileSync(require.resolve(p), 'utf8')).join('\n');
writeFileSync(join(out, 'uppy.css'), css);
for (const f of ['index.html', 'demo.js']) copyFileSync(join(src, f), join(out, f));
console.log(`build-demo: ${out} in ${Date.now() - t0} ms`);
