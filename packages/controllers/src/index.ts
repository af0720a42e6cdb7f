export * from './queue.ts';
export * from './keys.ts';
export * from './client.ts';
export * from './informer.ts';
export * from './controller.ts';
export * from './manager.ts';
