/** Jest runs the TypeScript sources as native ES modules (see README: npm test). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
    // ESM-only dependencies that a CommonJS package require()s (see the transformer).
    'node_modules/content-disposition/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.cjs',
  },
  transformIgnorePatterns: ['/node_modules/(?!(@fastify/static/node_modules/)?content-disposition/)'],
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  testTimeout: 30000,
  // e2e suites start servers and child processes; two workers match the 2-core machines.
  maxWorkers: 2,
};
