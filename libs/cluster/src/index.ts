export * from './member';
export * from './controller-core';
export * from './limits';
export * from './partition-health';
export * from './move-progress';
export * from './cluster-observer';
export * from './node-load';
export * from './state-delta';
