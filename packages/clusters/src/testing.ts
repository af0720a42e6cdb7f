// Test helpers: one "process" of the management plane (API server, local cloud, manager with the
// Cluster controller and the local cluster controllers) over a store that can die mid-flight,
// as a kill -9 would stop it. Not for production code.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crdFor, kindsTable, withDefaults, type ClusterInput } from '@kaas/api';
import {
  ApiServer,
  PodSecurityAdmission,
  StatusError,
  UnavailableError,
  type KObject,
} from '@kaas/apiserver';
import type { KVStore, RangeOptions, WatchHandle, WatchOptions } from '@kaas/apiserver';
import { Manager } from '@kaas/controllers';
import { LocalCloud } from '@kaas/providers/local';
import { ensureClusterDefaults, installLocalClusterControllers } from '@kaas/localcluster';
import { addClusterController, type ClusterController } from './reconciler.ts';
import type { ServiceCatalog } from './catalog.ts';

export const admin = { username: 'admin', groups: ['system:masters'] };

/** A store that forwards to another until `kill()`: then every call fails and watches go silent. */
export class MortalKV implements KVStore {
  readonly name: string;
  readonly inner: KVStore;
  dead = false;
  writes = 0;
  readonly writtenKeys: string[] = [];
  readonly #watches = new Set<WatchHandle>();

  constructor(inner: KVStore) {
    this.inner = inner;
    this.name = `mortal-${inner.name}`;
  }
  kill(): void {
    this.dead = true;
    for (const w of this.#watches) w.close();
    this.#watches.clear();
  }
  #check(): void {
    if (this.dead) throw new UnavailableError('the process is dead (test)');
  }
  async get(key: string) {
    this.#check();
    return this.inner.get(key);
  }
  async range(prefix: string, opts?: RangeOptions) {
    this.#check();
    return this.inner.range(prefix, opts);
  }
  async count(prefix: string) {
    this.#check();
    return this.inner.count(prefix);
  }
  async create(key: string, value: string) {
    this.#check();
    this.writes++;
    this.writtenKeys.push(key);
    return this.inner.create(key, value);
  }
  async update(key: string, value: string, expectedModRevision: number) {
    this.#check();
    this.writes++;
    this.writtenKeys.push(key);
    return this.inner.update(key, value, expectedModRevision);
  }
  async delete(key: string, expectedModRevision?: number) {
    this.#check();
    this.writes++;
    this.writtenKeys.push(key);
    return this.inner.delete(key, expectedModRevision);
  }
  watch(prefix: string, opts: WatchOptions): WatchHandle {
    this.#check();
    const h = this.inner.watch(prefix, opts);
    this.#watches.add(h);
    return {
      close: () => {
        h.close();
        this.#watches.delete(h);
      },
    };
  }
  compact(revision: number) {
    return this.inner.compact(revision);
  }
  currentRevision() {
    return this.inner.currentRevision();
  }
  compactedRevision() {
    return this.inner.compactedRevision();
  }
  async close() {}
}

export interface TestProcess {
  kv: MortalKV;
  server: ApiServer;
  cloud: LocalCloud;
  manager: Manager;
  controller: ClusterController;
  /** Clean shutdown. */
  stop(): Promise<void>;
  /** kill -9: the store is cut first, cloud work in flight is abandoned, nothing more is written. */
  crash(): Promise<void>;
}

export async function installCRDs(server: ApiServer): Promise<void> {
  const root = await server.clusters.get('root');
  const info = root.resourceByPlural('apiextensions.k8s.io', 'customresourcedefinitions')!;
  for (const k of kindsTable) {
    await server.rest
      .create({ cluster: 'root', info }, structuredClone(crdFor(k)) as KObject)
      .catch((e: unknown) => {
        if (!(e instanceof StatusError && e.code === 409)) throw e;
      });
  }
}

export async function startProcess(
  inner: KVStore,
  o: {
    dataDir?: string;
    pollMs?: number;
    /** As `kaasctl server` runs it: restricted Pod Security (kube-system exempt), ensureClusterDefaults. */
    asServer?: boolean;
    /** Per cloud call (default 400 ms: a simulated hang soon counts as a Timeout). */
    callTimeoutMs?: number;
    /** Campaign for the Lease (default: run without leader election); does not wait to lead. */
    leaderElection?: { leaseDurationMs: number; retryPeriodMs: number };
    /** The managed services catalog (default: @kaas/catalog's). */
    catalog?: ServiceCatalog;
  } = {},
): Promise<TestProcess> {
  const kv = new MortalKV(inner);
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'kaas-clusters-')));
  const server = new ApiServer({
    kv,
    anonymousAs: admin,
    ...(o.asServer
      ? { admission: [new PodSecurityAdmission({ exemptions: { namespaces: ['kube-system'] } })] }
      : {}),
  });
  await server.start();
  await installCRDs(server);
  const cloud = await LocalCloud.open({ store: kv });
  const manager = new Manager({
    server,
    kv,
    ...(o.leaderElection ? o.leaderElection : { leaderElection: false }),
  });
  const controller = addClusterController({
    manager,
    server,
    cloud,
    baseUrl: 'https://127.0.0.1:6443',
    dataDir,
    ...(o.asServer ? { ensureClusterDefaults } : {}),
    ...(o.catalog ? { catalog: o.catalog } : {}),
    pollMs: o.pollMs ?? 20,
    engine: {
      retry: { baseDelayMs: 2, maxDelayMs: 20, maxAttempts: 12 },
      callTimeoutMs: o.callTimeoutMs ?? 400,
    },
  });
  installLocalClusterControllers(manager, { dataDir });
  await manager.start();
  if (!o.leaderElection) await manager.waitUntilRunning();
  const stop = async () => {
    await manager.stop().catch(() => undefined);
    await server.close().catch(() => undefined);
  };
  return {
    kv,
    server,
    cloud,
    manager,
    controller,
    stop,
    crash: async () => {
      kv.kill();
      controller.abortInFlight();
      await stop();
    },
  };
}

export function clusterObject(
  name: string,
  o: { local?: Record<string, unknown>; workers?: number; services?: boolean; namespace?: string } = {},
): KObject {
  const services = Object.fromEntries(
    ['ingressNginx', 'monitoring', 'logging', 'backup', 'registry', 'kubernetesAuth', 'ssoProxy'].map((k) => [
      k,
      { enabled: o.services ?? true },
    ]),
  );
  const input = {
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name, namespace: o.namespace ?? 'default' },
    spec: {
      provider: { type: 'local', local: { latencyScale: 0, vmBootSeconds: 10, ...o.local } },
      kubernetesVersion: '1.33',
      controlPlane: { replicas: 1, machineType: 'medium' },
      nodePools: [{ name: 'workers', replicas: o.workers ?? 3, labels: { tier: 'general' } }],
      services,
      auth: { clusterAdminRoleIds: ['cluster-admins'] },
    },
  } as ClusterInput;
  withDefaults(input); // throws on a typo in the fixture
  return input as KObject;
}

export async function until<T>(
  get: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function condition(
  obj: KObject | undefined,
  type: string,
): { status: string; reason: string; message: string } | undefined {
  return (
    obj?.status?.conditions as { type: string; status: string; reason: string; message: string }[] | undefined
  )?.find((c) => c.type === type);
}
