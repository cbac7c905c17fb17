module.exports = { ...require('../../jest.preset.cjs'), displayName: 'http-kit', rootDir: __dirname };
