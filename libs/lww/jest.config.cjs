module.exports = { ...require('../../jest.preset.cjs'), displayName: 'lww', rootDir: __dirname };
