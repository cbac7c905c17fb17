module.exports = { ...require('../../jest.preset.cjs'), displayName: 'coordinator', rootDir: __dirname };
