export * from './client-error';
export * from './frontend-pool';
export * from './fog-client';
export * from './fog-session';
export * from './admin-client';
