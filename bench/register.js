// Runs the benchmark's TypeScript straight from source: a require hook compiling .ts with swc (already used by
// jest here), with decorator metadata (MikroORM entities, Nest) and the @app/* path aliases of tsconfig.json.
const { transformSync } = require('@swc/core');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const paths = {};
for (const lib of ['domain', 'contracts', 'messaging', 'storage', 'config', 'database', 'health', 'observability', 'webhooks', 'processing']) {
  paths[`@app/${lib}`] = [`libs/${lib}/src`];
  paths[`@app/${lib}/*`] = [`libs/${lib}/src/*`];
}

require.extensions['.ts'] = function compile(module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    module: { type: 'commonjs' },
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      baseUrl: root,
      paths,
    },
  });
  module._compile(code, filename);
};
