// npm run lint: type-aware checks of the promises and switches the compiler lets through, and the boundaries
// of the architecture (README "Layout"). Every rule switched off for a file says why, on its line.
import tseslint from 'typescript-eslint';

/** Import paths a layer must never use, with the reason shown in the error. */
const forbid = (...groups) => ({ 'no-restricted-imports': ['error', { patterns: groups }] });
const apps = ['upload-gateway', 'storage-events', 'job-processor'];
const appImports = (except) =>
  apps
    .filter((a) => a !== except)
    .map((a) => ({
      group: [`**/apps/${a}/**`, `apps/${a}/**`, `**/${a}/src/**`],
      message: `apps talk only through RabbitMQ and Postgres: ${except ?? 'a lib'} must not import ${a}`,
    }));
const imageLibs = {
  group: ['@app/processing', 'sharp', 'file-type'],
  message: 'only the job-processor loads the job handlers and their image libraries (libs/processing)',
};
const noTest = { group: ['**/test/**', '!**/test-env'], message: 'product code never imports the tests' };
const infrastructure = {
  group: [
    'amqplib',
    'amqp-connection-manager',
    '@aws-sdk/*',
    '@smithy/*',
    'pg',
    'undici',
    'express',
    'sharp',
    'file-type',
    '@app/messaging',
    '@app/storage',
    '@app/database',
    '@app/webhooks',
    '@app/health',
    '@app/observability',
    '@app/processing',
  ],
  message: 'libs/domain holds no infrastructure: define a port in libs/domain/src/ports and implement it in an infrastructure lib',
};

export default tseslint.config(
  { ignores: ['**/dist/**', '.e2e/**', '.bench/**', 'node_modules/**', '**/*.js', '**/*.mjs', '**/*.cjs', 'apps/upload-gateway/src/demo/**/*.js'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-for-in-array': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
    },
  },
  // The architecture: no app imports another or the tests; libs import no app; the domain no infrastructure.
  ...apps.map((app) => ({
    files: [`apps/${app}/**/*.ts`],
    ignores: ['**/*.spec.ts'],
    rules: forbid(...appImports(app), noTest, ...(app === 'job-processor' ? [] : [imageLibs])),
  })),
  // Unit specs may use the tests' support code (keys, fake JWKS), never another app.
  ...apps.map((app) => ({ files: [`apps/${app}/**/*.spec.ts`], rules: forbid(...appImports(app)) })),
  { files: ['libs/**/*.ts'], ignores: ['libs/**/*.spec.ts', 'libs/processing/**'], rules: forbid(...appImports(undefined), noTest, imageLibs) },
  { files: ['libs/processing/**/*.ts'], ignores: ['libs/**/*.spec.ts'], rules: forbid(...appImports(undefined), noTest) },
  { files: ['libs/domain/**/*.ts'], ignores: ['libs/domain/**/*.spec.ts'], rules: forbid(...appImports(undefined), infrastructure, noTest) },
);
