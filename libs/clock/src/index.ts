export * from './hybrid-clock';
