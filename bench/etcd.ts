// The benchmark's etcd is the tests' etcd: one real member on free loopback ports.
import { startEtcdCluster } from '../test/support/etcd.ts';

export async function startEtcdForBench(): Promise<{ endpoints: string[]; stop(): Promise<void> }> {
  return startEtcdCluster(1);
}
