export * from './limits';
export * from './headers';
export * from './errors';
export * from './version';
export * from './key';
export * from './cluster';
export * from './wire';
export * from './consistency';
