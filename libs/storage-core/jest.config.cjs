module.exports = { ...require('../../jest.preset.cjs'), displayName: 'storage-core', rootDir: __dirname };
