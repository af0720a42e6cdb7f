// The local cloud's state: every simulated resource as one key in the server's KVStore
// (`/kaas/localcloud/<type>/<cloudId>`), so it survives a restart, plus an in-memory index for
// reads. Mutations check and change the index synchronously before they write, so two concurrent
// calls can never both take the last address or the last unit of quota. No latency and no faults
// here: LocalCloudProvider adds those, as the network between KaaS and a real cloud would.
import { randomUUID } from 'node:crypto';
import type { KVStore } from '@kaas/apiserver';
import { parseCidr, type IpFamily } from '@kaas/api';
import {
  CloudError,
  tagsMatch,
  type ObservedResource,
  type ResourceOutputs,
  type ResourceType,
  type Tags,
} from '../contract.ts';

export const defaultLocalCloudPrefix = '/kaas/localcloud/';

/** The built-in external network: router gateways and floating IPs (RFC 2544 benchmarking, never routed). */
export const externalNetwork = { name: 'public', cidr: '198.18.0.0/15' } as const;

export interface LocalRecord {
  type: ResourceType;
  cloudId: string;
  name: string;
  tags: Tags;
  /** Cloud ids this resource uses; deleting one of them first is refused (409), as on a real cloud. */
  uses: string[];
  outputs: ResourceOutputs[ResourceType];
  /** An address this resource holds on a subnet (cloud id, or `external`); freed on delete. */
  address?: { subnet: string; ip: string };
  createdAt: string;
  /** Servers: epoch ms when booting ends; before it, observe reports BUILD. */
  readyAtMs?: number;
}

export interface LocalCloudOptions {
  store: KVStore;
  /** Key prefix in the store; ends with `/`. */
  prefix?: string;
  now?: () => number;
}

export class LocalCloud {
  readonly store: KVStore;
  readonly prefix: string;
  readonly now: () => number;
  private readonly records = new Map<string, LocalRecord>();

  private constructor(opts: LocalCloudOptions) {
    this.store = opts.store;
    this.prefix = opts.prefix ?? defaultLocalCloudPrefix;
    this.now = opts.now ?? Date.now;
  }

  /** Opens the cloud on a store, loading whatever an earlier process left there. */
  static async open(opts: LocalCloudOptions): Promise<LocalCloud> {
    const cloud = new LocalCloud(opts);
    await cloud.reload();
    return cloud;
  }

  /**
   * Re-reads every record from the store, replacing the in-memory index: a process that takes
   * over from another one (leader election on a shared store) must see what that one made.
   */
  async reload(): Promise<void> {
    const fresh = new Map<string, LocalRecord>();
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.store.range(this.prefix, { limit: 500, startAfter });
      for (const kv of page.items) {
        const record = JSON.parse(kv.value) as LocalRecord;
        fresh.set(record.cloudId, record);
      }
      const last = page.items.at(-1);
      if (!page.more || last === undefined) break;
      startAfter = last.key;
    }
    this.records.clear();
    for (const [id, record] of fresh) this.records.set(id, record);
  }

  private key(type: ResourceType, cloudId: string): string {
    return `${this.prefix}${type}/${cloudId}`;
  }

  /** Every resource, optionally only of one type and carrying all of `tags`. */
  list(filter: { type?: ResourceType; tags?: Tags } = {}): LocalRecord[] {
    const out: LocalRecord[] = [];
    for (const r of this.records.values()) {
      if (filter.type !== undefined && r.type !== filter.type) continue;
      if (filter.tags !== undefined && !tagsMatch(r.tags, filter.tags)) continue;
      out.push(r);
    }
    return out;
  }

  /** How many resources carry all of `tags` (all resources when left out): the leak check. */
  count(tags: Tags = {}): number {
    return this.list({ tags }).length;
  }

  get(type: ResourceType, cloudId: string): LocalRecord | undefined {
    const r = this.records.get(cloudId);
    return r?.type === type ? r : undefined;
  }

  /** The resource as the provider contract reports it (servers: BUILD until booted). */
  observe(record: LocalRecord): ObservedResource {
    let outputs = record.outputs;
    if (record.type === 'server' && record.readyAtMs !== undefined) {
      const status = this.now() < record.readyAtMs ? 'BUILD' : 'ACTIVE';
      outputs = { ...(outputs as ResourceOutputs['server']), status };
    }
    return {
      type: record.type,
      cloudId: record.cloudId,
      tags: { ...record.tags },
      outputs: structuredClone(outputs),
    } as ObservedResource;
  }

  newId(): string {
    return randomUUID();
  }

  /**
   * Adds a record. The index changes before this returns its promise, so checks made
   * synchronously before the call (quota, addresses, tags) hold; the store write follows.
   */
  async insert(record: LocalRecord): Promise<void> {
    for (const used of record.uses) {
      if (!this.records.has(used)) {
        throw new CloudError('NotFound', `${record.type} ${record.name}: ${used} does not exist`, {
          cloudMessage: `Resource ${used} could not be found.`,
          status: 404,
        });
      }
    }
    this.records.set(record.cloudId, record);
    try {
      await this.store.create(this.key(record.type, record.cloudId), JSON.stringify(record));
    } catch (err) {
      this.records.delete(record.cloudId);
      throw new CloudError('CloudUnavailable', `local cloud storage: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Removes a record; absent is done (404 = done). In use by another resource -> Conflict. */
  async remove(type: ResourceType, cloudId: string): Promise<void> {
    const record = this.get(type, cloudId);
    if (record === undefined) return;
    const users = this.list().filter((r) => r.uses.includes(cloudId));
    if (users.length > 0) {
      const names = users.map((u) => `${u.type} ${u.cloudId}`).join(', ');
      throw new CloudError('Conflict', `${type} ${cloudId} is in use by ${names}`, {
        cloudMessage: `${type} ${cloudId} cannot be deleted: it is in use by ${names}.`,
        status: 409,
      });
    }
    this.records.delete(cloudId);
    try {
      await this.store.delete(this.key(type, cloudId));
    } catch (err) {
      if ((err as Error).name === 'KeyNotFoundError') return;
      this.records.set(cloudId, record);
      throw new CloudError('CloudUnavailable', `local cloud storage: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * The lowest free host address of a CIDR (from .10: the first ones are the gateway's and the
   * cloud's own), counting addresses held under `subnet`. Synchronous: allocate and insert in one turn.
   */
  allocateAddress(subnet: string, cidrText: string): string {
    const parsed = parseCidr(cidrText);
    if (!parsed.ok) throw new CloudError('InvalidSpec', `cidr ${cidrText}: ${parsed.reason}`);
    const { network, bits, prefixLength, family } = parsed.cidr;
    const taken = new Set<string>();
    for (const r of this.records.values()) if (r.address?.subnet === subnet) taken.add(r.address.ip);
    const size = 1n << BigInt(bits - prefixLength);
    const last = family === 'IPv4' ? size - 2n : size - 1n; // IPv4: no broadcast address
    for (let host = 10n; host <= last; host++) {
      const ip = formatAddress(network + host, family);
      if (!taken.has(ip)) return ip;
    }
    throw new CloudError('QuotaExceeded', `no free address left in ${cidrText}`, {
      cloudMessage: `No more IP addresses available on network ${subnet}.`,
      quota: { quota: 'addresses', limit: Number(last - 9n), used: taken.size, requested: 1, shortBy: 1 },
      status: 409,
    });
  }

  gatewayAddress(cidrText: string): string {
    const parsed = parseCidr(cidrText);
    if (!parsed.ok) throw new CloudError('InvalidSpec', `cidr ${cidrText}: ${parsed.reason}`);
    return formatAddress(parsed.cidr.network + 1n, parsed.cidr.family);
  }
}

/** An address as text; IPv6 without zero compression (valid, and all the local cloud needs). */
function formatAddress(value: bigint, family: IpFamily): string {
  if (family === 'IPv4') return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((value >> s) & 0xffffn).toString(16));
  return groups.join(':');
}
