module.exports = { ...require('../../jest.preset.cjs'), displayName: 'replica-client', rootDir: __dirname };
