// Test helpers shared by this package's tests and the integration tests: a Cluster builder and a
// ledger that "crashes". Imports nothing from node:test, but is not meant for production code.
import { withDefaults, type Cluster, type LedgerEntry } from '@kaas/api';
import type { Ledger } from './ledger.ts';
import type { LocalSettingsInput } from './local/localCloudProvider.ts';

export interface TestClusterOptions {
  name?: string;
  uid?: string;
  controlPlane?: number;
  pools?: { name: string; replicas: number; machineType?: string }[];
  local?: LocalSettingsInput;
}

/** A valid local Cluster with defaults applied and a uid, as the API server would hand it over. */
export function testCluster(opts: TestClusterOptions = {}): Cluster {
  const cluster = withDefaults({
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: opts.name ?? 'demo', namespace: 'default' },
    spec: {
      provider: { type: 'local', local: opts.local ?? { latencyScale: 0 } },
      controlPlane: { replicas: opts.controlPlane ?? 1 },
      nodePools: opts.pools ?? [{ name: 'workers', replicas: 2 }],
      auth: { clusterAdminRoleIds: ['admin'] },
    },
  });
  cluster.metadata.uid = opts.uid ?? '3f6c1a52-0000-4000-8000-000000000001';
  return cluster;
}

/**
 * A ledger whose first `saves` saves succeed and whose next one throws, as if the process died
 * right there: what was saved before stays in `persisted`, for the next run to load.
 */
export class CrashingLedger implements Ledger {
  persisted: LedgerEntry[];
  saves = 0;
  readonly crashAfter: number;

  constructor(crashAfter: number, initial: LedgerEntry[] = []) {
    this.crashAfter = crashAfter;
    this.persisted = structuredClone(initial);
  }

  async load(): Promise<LedgerEntry[]> {
    return structuredClone(this.persisted);
  }

  async save(entries: LedgerEntry[]): Promise<void> {
    if (this.saves >= this.crashAfter) throw new SimulatedCrash(this.saves);
    this.saves++;
    this.persisted = structuredClone(entries);
  }
}

export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
  constructor(saves: number) {
    super(`simulated crash after ${saves} ledger saves`);
  }
}
