module.exports = { ...require('../../jest.preset.cjs'), displayName: 'frontend', rootDir: __dirname };
