// Test helpers other packages and the integration tests share (imports node:test: never from
// production code).
export { runKVContract } from './storage/contract.ts';
export type { StoreFactory } from './storage/contract.ts';
