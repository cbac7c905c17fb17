export * from './replica-engine';
export * from './partition-page';
export * from './scan';
export * from './cas-registers';
export * from './surface-ops';
export * from './ordered-keys';
