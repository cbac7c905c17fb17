export * from './replica-transport';
export * from './outcomes';
export * from './coordinator';
