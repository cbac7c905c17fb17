module.exports = { ...require('../../jest.preset.cjs'), displayName: 'runlocal', rootDir: __dirname };
