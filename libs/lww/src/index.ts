export * from './entry';
export * from './key-order';
export * from './lww-store';
export * from './partition-records';
export * from './record-layout';
export * from './value-codec';
