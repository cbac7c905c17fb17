export * from './batching-replica-client';
