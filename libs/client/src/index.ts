export * from './client-error';
export * from './frontend-pool';
export * from './fog-client';
export * from './admin-client';
