export * from './storage/kv.ts';
