module.exports = { ...require('../../jest.preset.cjs'), displayName: 'fogctl', rootDir: __dirname };
