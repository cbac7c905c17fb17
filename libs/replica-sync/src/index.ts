export * from './hash';
export * from './limits';
export * from './digest';
export * from './reconcile';
export * from './schedule';
export * from './wire';
export * from './exchange';
export * from './round';
