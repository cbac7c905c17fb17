export * from './logger';
export * from './metrics';
export * from './express-kit';
export * from './server';
export * from './controller-link';
export * from './node-cli';
export * from './build-info';
