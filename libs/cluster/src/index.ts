export * from './member';
export * from './controller-core';
