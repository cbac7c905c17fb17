module.exports = { ...require('../../jest.preset.cjs'), displayName: 'replica-sync', rootDir: __dirname };
