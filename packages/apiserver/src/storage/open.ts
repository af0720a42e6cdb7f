import type { KVStore } from './kv.ts';
import { SqliteStore } from './sqlite.ts';
import { EtcdStore } from './etcd.ts';

export type StoreConfig =
  { kind: 'sqlite'; path: string } | { kind: 'etcd'; endpoints: string[]; prefix?: string };

/** Opens the configured backend. */
export async function openStore(c: StoreConfig): Promise<KVStore> {
  if (c.kind === 'sqlite') return SqliteStore.open(c.path);
  return EtcdStore.connect({ endpoints: c.endpoints, prefix: c.prefix });
}
