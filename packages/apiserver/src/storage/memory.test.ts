import { runKVContract } from './contract.ts';
import { MemoryStore } from './memory.ts';

runKVContract('memory', async () => ({ store: new MemoryStore(), cleanup: async () => undefined }));
