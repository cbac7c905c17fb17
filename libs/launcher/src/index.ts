export * from './app-child';
export * from './cluster-ready';
export * from './http-probe';
export * from './ports';
export * from './tail-file';
export * from './wait-for';
