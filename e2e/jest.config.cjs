// Real processes on free loopback ports: one file at a time, generous timeouts for a busy
// 2-core machine (the tests wait on conditions, never on speed).
module.exports = {
  ...require('../jest.preset.cjs'),
  displayName: 'e2e',
  rootDir: __dirname,
  testTimeout: 120_000,
  maxWorkers: 1,
};
