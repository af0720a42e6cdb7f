export * from './config.ts';
export * from './cookies.ts';
export * from './headers.ts';
export * from './proxy.ts';
export * from './routes.ts';
export * from './seal.ts';
export * from './session.ts';
