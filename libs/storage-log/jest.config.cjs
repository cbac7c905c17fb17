module.exports = { ...require('../../jest.preset.cjs'), displayName: 'storage-log', rootDir: __dirname };
