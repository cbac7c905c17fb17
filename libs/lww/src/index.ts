export * from './entry';
export * from './lww-store';
