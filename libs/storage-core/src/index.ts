export * from './replica-engine';
export * from './partition-page';
