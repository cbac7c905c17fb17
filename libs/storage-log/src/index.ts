export * from './crc32';
export * from './record';
export * from './scan';
export * from './snapshot';
