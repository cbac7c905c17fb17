export * from './batching-replica-client';
export * from './binary-replica-client';
export * from './frame-channel';
