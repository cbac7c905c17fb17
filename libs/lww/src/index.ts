export * from './entry';
export * from './lww-store';
export * from './value-codec';
