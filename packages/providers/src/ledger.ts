// The ledger: every cloud resource the engine is making or has made for a cluster, written before
// and after each cloud call. The caller persists it (in the Cluster's status.resources); its
// entries are the management API's LedgerEntry, so it needs no translation on the way.
import type { LedgerEntry } from '@kaas/api';

export type { LedgerEntry };

export interface Ledger {
  load(): Promise<LedgerEntry[]>;
  /** Persist the whole ledger. The engine never calls it concurrently and awaits each call. */
  save(entries: LedgerEntry[]): Promise<void>;
}

/** A ledger in memory: tests, dry runs, and callers that persist it themselves afterwards. */
export class MemoryLedger implements Ledger {
  entries: LedgerEntry[];
  saves = 0;

  constructor(initial: LedgerEntry[] = []) {
    this.entries = structuredClone(initial);
  }

  async load(): Promise<LedgerEntry[]> {
    return structuredClone(this.entries);
  }

  async save(entries: LedgerEntry[]): Promise<void> {
    this.saves++;
    this.entries = structuredClone(entries);
  }
}
