/** Three tiers (plus the fault suite, run on its own by npm run test:faults): unit (pure logic, next to the code), integration (real Postgres, RabbitMQ, S3), e2e (the apps as processes). */
const swc = [
  '@swc/jest',
  { jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2022' } },
];
const moduleNameMapper = {
  '^@app/(domain|contracts|messaging|storage|config|database|health|observability|webhooks|processing)$': '<rootDir>/libs/$1/src',
  '^@app/(domain|contracts|messaging|storage|config|database|health|observability|webhooks|processing)/(.*)$': '<rootDir>/libs/$1/src/$2',
};
// jose (under jwks-rsa) ships ESM only; Node requires it natively, Jest needs it compiled to CommonJS.
const swcEsm = ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }];
const base = {
  transform: { '^.+\\.ts$': swc, '/node_modules/jose/.+\\.js$': swcEsm },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  moduleNameMapper,
  testEnvironment: 'node',
  rootDir: __dirname,
};
module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts', '<rootDir>/test/deploy/**/*.test.ts'] },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], globalSetup: '<rootDir>/test/support/global-setup.ts' },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'], globalSetup: '<rootDir>/test/support/global-setup.ts' },
    // npm run test:faults: its own RabbitMQ, Postgres and Ceph RGW (started by the suite), so no globalSetup.
    { ...base, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.test.ts'] },
  ],
};
