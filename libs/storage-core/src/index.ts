export * from './replica-engine';
