module.exports = { ...require('../../jest.preset.cjs'), displayName: 'partitioning', rootDir: __dirname };
