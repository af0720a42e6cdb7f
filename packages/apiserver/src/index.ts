export * from './storage/kv.ts';
export * from './errors.ts';
export * from './registry/types.ts';
