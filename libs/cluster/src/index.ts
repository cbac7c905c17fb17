export * from './member';
export * from './controller-core';
export * from './state-delta';
