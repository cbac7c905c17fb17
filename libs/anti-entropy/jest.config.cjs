module.exports = { ...require('../../jest.preset.cjs'), displayName: 'anti-entropy', rootDir: __dirname };
