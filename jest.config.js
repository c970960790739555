/**
 * Jest runs every test against the real services: a Temporal dev server that
 * test/support/global-setup.ts starts from the cached CLI on a free port, a fresh
 * PostgreSQL database per run, and run-unique NATS stream names and subjects.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' }, sourceMaps: 'inline' },
    ],
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // 2 cores: one Jest worker per core; each integration file runs its own Temporal worker.
  maxWorkers: 2,
  testTimeout: 120_000,
  // Temporal workers and NATS connections are closed in afterAll; a handle left open is a bug.
  detectOpenHandles: false,
  forceExit: false,
};
