// Helpers for this package's tests: a real ApiServer over a store, a Manager running the local
// cluster's controllers, nodes registered as the Cluster reconciler registers them, fixtures.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, MemoryStore, PodSecurityAdmission } from '@kaas/apiserver';
import type { KObject, KVStore } from '@kaas/apiserver';
import { Manager } from '@kaas/controllers';
import type { LocalClusterOptions } from './context.ts';
import { installLocalClusterControllers } from './install.ts';
import { ensureClusterDefaults } from './defaults.ts';

export const admin = { username: 'admin', groups: ['system:masters'] };

export interface Env {
  server: ApiServer;
  kv: KVStore;
  manager: Manager;
  dataDir: string;
  close: () => Promise<void>;
}

export async function startEnv(
  o: { kv?: KVStore; opts?: Partial<LocalClusterOptions>; clusters?: string[] } = {},
): Promise<Env> {
  const kv = o.kv ?? new MemoryStore();
  const dataDir = await mkdtemp(join(tmpdir(), 'kaas-lc-'));
  // PodSecurity (restricted by default) runs in every test: what the workloads create must pass.
  const server = new ApiServer({ kv, anonymousAs: admin, admission: [new PodSecurityAdmission()] });
  await server.start();
  const manager = new Manager({ server, kv, leaderElection: false });
  installLocalClusterControllers(manager, { dataDir, ...o.opts });
  for (const c of o.clusters ?? ['c1']) await ensureClusterDefaults(manager.client, c);
  await manager.start();
  await manager.waitUntilRunning();
  return {
    server,
    kv,
    manager,
    dataDir,
    close: async () => {
      await manager.stop();
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function until(
  pred: () => boolean | Promise<boolean>,
  what: string | (() => string | Promise<string>),
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out: ${typeof what === 'string' ? what : await what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Registers a node as the Cluster reconciler does: the object, then its status. */
export async function registerNode(
  manager: Manager,
  cluster: string,
  name: string,
  o: {
    cpu?: string;
    memory?: string;
    controlPlane?: boolean;
    labels?: Record<string, string>;
    ip?: string;
  } = {},
): Promise<KObject> {
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kaas.dev/kubelet-version': 'v1.32.4',
    ...(o.controlPlane ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
    ...o.labels,
  };
  const node = await manager.client.create(cluster, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
    spec: o.controlPlane
      ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }
      : {},
  });
  return manager.client.patch(
    { cluster, apiVersion: 'v1', kind: 'Node', name: node.metadata.name! },
    {
      status: {
        capacity: { cpu: o.cpu ?? '2', memory: o.memory ?? '4Gi', pods: '110', 'ephemeral-storage': '40Gi' },
        addresses: [
          { type: 'InternalIP', address: o.ip ?? `192.168.10.${Math.floor(Math.random() * 200) + 10}` },
          { type: 'Hostname', address: name },
        ],
      },
    },
    { subresource: 'status' },
  );
}

/** One tainted control-plane node and `workers` worker nodes. */
export async function registerNodes(manager: Manager, cluster: string, workers = 3): Promise<void> {
  await registerNode(manager, cluster, 'cp-0', { controlPlane: true, ip: '192.168.10.2' });
  for (let i = 0; i < workers; i++)
    await registerNode(manager, cluster, `worker-${i}`, { ip: `192.168.10.${10 + i}` });
}

/** A restricted-compliant pod spec. */
export function podSpec(image = 'nginx:1.27', requests?: Record<string, string>): Record<string, unknown> {
  return {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'app',
        image,
        ...(requests ? { resources: { requests } } : {}),
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  };
}

export function pod(name: string, spec: Record<string, unknown> = podSpec(), namespace = 'default'): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: name } }, spec };
}

export function deployment(
  name: string,
  o: { replicas?: number; image?: string; strategy?: Record<string, unknown>; namespace?: string } = {},
): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: o.namespace ?? 'default' },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: name } },
      ...(o.strategy ? { strategy: o.strategy } : {}),
      template: { metadata: { labels: { app: name } }, spec: podSpec(o.image) },
    },
  };
}

export async function listPods(manager: Manager, cluster: string, namespace = 'default'): Promise<KObject[]> {
  return (await manager.client.list({ cluster, apiVersion: 'v1', kind: 'Pod', namespace })).items;
}

/** A memory store that records the key of every write. */
export class CountingStore extends MemoryStore {
  readonly writes: string[] = [];
  override async create(key: string, value: string) {
    this.writes.push(key);
    return super.create(key, value);
  }
  override async update(key: string, value: string, expectedModRevision: number) {
    this.writes.push(key);
    return super.update(key, value, expectedModRevision);
  }
  override async delete(key: string, expectedModRevision?: number) {
    this.writes.push(key);
    return super.delete(key, expectedModRevision);
  }
}
