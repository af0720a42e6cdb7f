// The Cluster reconciler: turns a kaas.dev/v1alpha1 Cluster into cloud resources (through the
// provider's resource graph and the engine, with the ledger in status.resources), a logical
// cluster of this API server with a Node per server, the seed's namespaces and RBAC binding, and
// the managed services; and back into nothing on delete. Level-triggered: every pass re-observes,
// nothing is remembered between passes but what is written to the API.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  apiVersion,
  errorReasons,
  withDefaults,
  type Cluster,
  type ClusterStatus,
  type ErrorReason,
  type LedgerEntry,
} from '@kaas/api';
import { clusterAdminRoleIdBinding, type ApiServer, type KObject } from '@kaas/apiserver';
import {
  formatKey,
  isAlreadyExists,
  isConflict,
  isNotFound,
  parseObjectKey,
  Controller,
  type ControllerOptions,
  type InProcessClient,
  type Informer,
  type InformerEvent,
  type Logger,
  type Manager,
  type ObjectRef,
  type ReconcileResult,
} from '@kaas/controllers';
import {
  CloudError,
  deploy,
  destroy,
  reasonOf,
  type Ledger,
  type ProgressEvent,
  type RetryPolicy,
  type ServerOutputs,
} from '@kaas/providers';
import { LocalCloudProvider, type LocalCloud } from '@kaas/providers/local';
import { applyServices } from './applier.ts';
import { builtinCatalog, managedNamespaces, type ServiceCatalog } from './catalog.ts';
import {
  errorCondition,
  failed,
  mergeConditions,
  ok,
  progressing,
  readyCondition,
  waiting,
  type ConditionValue,
  type PartCondition,
} from './conditions.ts';
import {
  desiredNode,
  kubeletVersion,
  kubeletVersionAnnotation,
  nodeLabels,
  orderServers,
  type ServerInfo,
} from './nodes.ts';
import { ClusterOperations } from './operations.ts';
import {
  deleteCloudBackedObjects,
  reconcileExternal,
  tokenReviewWebhookRbac,
  type ProviderFactory,
  type ReadyzProbe,
  type WorkloadApiSource,
} from './external.ts';
import { stable } from './stable.ts';

export const clusterFinalizer = 'kaas.dev/cluster-cleanup';
const logicalNameIndex = 'clusters:logicalName';

/** The logical cluster (`/clusters/NAME`) that is a Cluster's Kubernetes API: its name. ADR 0005. */
export function localClusterName(cluster: { metadata: { name?: string } }): string {
  return cluster.metadata.name ?? '';
}

export interface ClusterControllerOptions {
  manager: Manager;
  /** The API server the manager runs on: logical clusters are deleted through it. */
  server: Pick<ApiServer, 'clusters'>;
  cloud: LocalCloud;
  /** The server's URL (`https://HOST:PORT`), known after listen; endpoints add `/clusters/NAME`. */
  baseUrl: string | (() => string);
  /** Volumes of a cluster live under `<dataDir>/volumes/<name>`; removed on destroy. */
  dataDir?: string;
  catalog?: ServiceCatalog;
  /**
   * Namespaces and the default StorageClass of a new logical cluster (@kaas/localcluster's
   * ensureClusterDefaults). Without it only kaas-system is made, by the services applier.
   */
  ensureClusterDefaults?: (client: InProcessClient, cluster: string) => Promise<void>;
  engine?: { callTimeoutMs?: number; retry?: Partial<RetryPolicy>; concurrency?: number };
  workers?: number;
  /** How soon a cluster that is not Ready yet is looked at again (default 1 s). */
  pollMs?: number;
  /** How soon a QuotaExceeded cluster tries again (default 30 s): the quota may have been raised. */
  quotaRetryMs?: number;
  log?: Logger;
  /**
   * Providers other than the local cloud, by spec.provider.type (kaasctl server --openstack-cloud
   * adds openstack). Their clusters get infrastructure and an honest ControlPlaneReady (external.ts).
   */
  providers?: Partial<Record<'openstack' | 'eks', ProviderFactory>>;
  /** ControlPlaneReady's probe of an external cluster's /readyz (default: an HTTPS GET). */
  readyzProbe?: ReadyzProbe;
  /**
   * How an external cluster's own API is reached before its destroy, to delete its LoadBalancer
   * Services and PersistentVolumeClaims first (external.ts, deleteCloudBackedObjects).
   */
  workloadApi?: WorkloadApiSource;
  /** Upkeep of an external cluster once its API answers (external.ts, ExternalPassOptions.upkeep). */
  externalUpkeep?: (cluster: Cluster, status: ClusterStatus) => Promise<{ requeueAfterMs?: number }>;
  /**
   * What an external cluster leaves outside its provider's ledger, removed once the ledger is
   * empty and before the finalizer goes (kaasctl server: the per-cluster CCM application
   * credential in keystone). A failure keeps the finalizer and the destroy is retried.
   */
  externalTeardown?: (cluster: Cluster) => Promise<void>;
  /** Longest wait for those to go (default 5 min). */
  inClusterCleanupTimeoutMs?: number;
}

interface Pass {
  ref: ObjectRef;
  /** The Cluster as last read or written. */
  live: KObject;
  signal: AbortSignal;
}

class ClusterGone extends Error {}

/** Reads the newest Cluster and applies `change` to its status, retrying on conflicts; no-op when equal. */
async function writeStatus(
  client: InProcessClient,
  pass: Pass,
  change: (status: ClusterStatus) => ClusterStatus,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (pass.signal.aborted) throw pass.signal.reason;
    const before = (pass.live.status ?? {}) as ClusterStatus;
    const next = change(structuredClone(before));
    if (stable(next) === stable(before)) return;
    try {
      pass.live = await client.updateStatus('root', { ...pass.live, status: next });
      return;
    } catch (e) {
      if (!isConflict(e) || attempt >= 8) throw e;
      try {
        pass.live = await client.get(pass.ref);
      } catch (err) {
        if (isNotFound(err)) throw new ClusterGone();
        throw err;
      }
    }
  }
}

/** The engine's ledger, persisted in status.resources, with a progress line in InfrastructureReady. */
function statusLedger(client: InProcessClient, pass: Pass, total: number, deleting: boolean): Ledger {
  return {
    load: async () => structuredClone((pass.live.status?.resources ?? []) as LedgerEntry[]),
    save: async (entries) => {
      await writeStatus(client, pass, (s) => {
        const created = entries.filter((e) => e.phase === 'Created').length;
        const message = deleting
          ? `destroying: ${entries.length} cloud resources left`
          : `creating cloud resources: ${created} of ${total} done`;
        const conditions = mergeConditions(
          s.conditions,
          {
            InfrastructureReady: deleting
              ? { ...waiting(message), reason: 'Deleting' }
              : progressing(message),
          },
          pass.live.metadata.generation,
        );
        return { ...s, resources: entries, conditions };
      });
    },
  };
}

/**
 * The controller, which reloads the local cloud's index from the store each time it starts: on
 * taking over the Lease from another server, that server's resources must be seen, or the engine
 * would find them gone and create them again.
 */
class CloudReloadingController extends Controller {
  readonly #beforeStart: () => Promise<void>;

  constructor(o: ControllerOptions, beforeStart: () => Promise<void>) {
    super(o);
    this.#beforeStart = beforeStart;
  }

  override async start(signal?: AbortSignal): Promise<void> {
    await this.#beforeStart();
    return super.start(signal);
  }
}

export class ClusterController {
  readonly controller: Controller;
  readonly clusters: Informer;
  readonly nodes: Informer;
  readonly #o: ClusterControllerOptions;
  readonly #client: InProcessClient;
  readonly #catalog: ServiceCatalog;
  #abort = new AbortController();
  /** Normal passes in flight, by key: a delete aborts them. */
  readonly #deploying = new Map<string, AbortController>();
  readonly #providers = new Map<string, LocalCloudProvider>();
  /** Rolling update, node add/remove/replace, services deploy, validate (operations.ts). */
  readonly #ops: ClusterOperations;

  constructor(o: ClusterControllerOptions) {
    this.#o = o;
    this.#client = o.manager.client;
    this.#catalog = o.catalog ?? builtinCatalog;
    const m = o.manager;
    this.clusters = m.informer({ group: 'kaas.dev', plural: 'clusters' }, { cluster: 'root' });
    this.clusters.addIndexer(logicalNameIndex, (obj) => [localClusterName(obj)]);
    // a delete stops the deploy in flight at once (its ledger and tags let destroy find all of it)
    this.clusters.addHandler((e) => {
      if (e.obj.metadata.deletionTimestamp && !e.oldObj?.metadata.deletionTimestamp)
        this.#deploying.get(e.key)?.abort(new Error('the cluster is being deleted'));
    });
    this.nodes = m.informer({ group: '', plural: 'nodes' });
    const deployments = m.informer({ group: 'apps', plural: 'deployments' });
    const toCluster = (e: InformerEvent): string[] =>
      e.cluster === 'root'
        ? []
        : this.clusters
            .byIndex(logicalNameIndex, e.cluster)
            .map((c) =>
              formatKey({ cluster: 'root', namespace: c.metadata.namespace!, name: c.metadata.name! }),
            );
    this.controller = m.add(
      new CloudReloadingController(
        {
          name: 'clusters',
          // a pass holds its worker for the whole deploy (VM boots included) while it mostly
          // waits on I/O: 8 made a tenth cluster queue behind the others (bench: 13 waves at
          // concurrency 10)
          workers: o.workers ?? 32,
          watches: [
            { informer: this.clusters },
            { informer: this.nodes, keys: toCluster },
            {
              informer: deployments,
              keys: (e) =>
                (managedNamespaces as readonly string[]).includes(e.obj.metadata.namespace ?? '')
                  ? toCluster(e)
                  : [],
            },
          ],
          reconcile: (key) => this.reconcile(key),
          ...(o.log ? { log: o.log } : {}),
        },
        () => o.cloud.reload(),
      ),
    );
    this.#ops = new ClusterOperations({
      manager: m,
      cloud: o.cloud,
      clusters: this.clusters,
      nodes: this.nodes,
    });
  }

  /** Cancels the cloud work in flight (a crash, for tests): runs reject and save nothing more. */
  abortInFlight(): void {
    this.#abort.abort(new Error('aborted'));
    this.#abort = new AbortController();
  }

  #baseUrl(): string {
    return typeof this.#o.baseUrl === 'function' ? this.#o.baseUrl() : this.#o.baseUrl;
  }

  #log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    this.#o.log?.(level, msg, fields);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = parseObjectKey(key);
    const cached = this.clusters.get(key);
    if (!cached) return;
    const crash = this.#abort.signal;
    const deleted = new AbortController();
    const pass: Pass = {
      ref: { cluster: 'root', apiVersion, kind: 'Cluster', namespace: namespace!, name },
      live: structuredClone(cached),
      signal: AbortSignal.any([crash, deleted.signal]),
    };
    try {
      if (pass.live.metadata.deletionTimestamp) return await this.#delete(pass);
      this.#deploying.set(key, deleted);
      const finalizers = pass.live.metadata.finalizers ?? [];
      if (!finalizers.includes(clusterFinalizer)) {
        await this.#client.update('root', {
          ...pass.live,
          metadata: { ...pass.live.metadata, finalizers: [...finalizers, clusterFinalizer] },
        });
        return; // the write comes back as an event
      }
      return await this.#normal(pass);
    } catch (e) {
      if (e instanceof ClusterGone) return;
      if (isConflict(e)) return { requeueAfterMs: 10 }; // a newer version is on its way
      if (deleted.signal.aborted && !crash.aborted) return { requeueAfterMs: 1 }; // now destroy
      throw e;
    } finally {
      if (this.#deploying.get(key) === deleted) this.#deploying.delete(key);
    }
  }

  /** The owner of a logical cluster name: the oldest Cluster carrying it (then by uid). */
  #ownerOf(lname: string): KObject | undefined {
    return [...this.clusters.byIndex(logicalNameIndex, lname)].sort(
      (a, b) =>
        String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) ||
        String(a.metadata.uid).localeCompare(String(b.metadata.uid)),
    )[0];
  }

  /**
   * One provider per cluster and settings, kept across passes: a seeded fault generator then
   * continues its sequence instead of replaying the same faults on every pass.
   */
  #provider(cluster: Cluster): LocalCloudProvider {
    const key = `${cluster.metadata.uid}/${stable(cluster.spec.provider)}`;
    let p = this.#providers.get(key);
    if (!p) {
      for (const k of this.#providers.keys())
        if (k.startsWith(`${cluster.metadata.uid}/`)) this.#providers.delete(k);
      p = LocalCloudProvider.forCluster(this.#o.cloud, cluster);
      this.#providers.set(key, p);
    }
    return p;
  }

  #engineOptions(cluster: Cluster, pass: Pass, verb: string) {
    const local = cluster.spec.provider.type === 'local' ? cluster.spec.provider.local : undefined;
    const bootMs = (local?.vmBootSeconds ?? 10) * (local?.latencyScale ?? 0.1) * 1000;
    const e = this.#o.engine ?? {};
    const key = `${pass.ref.namespace}/${pass.ref.name}`;
    return {
      signal: pass.signal,
      callTimeoutMs: e.callTimeoutMs ?? Math.max(5_000, bootMs * 2 + 5_000),
      ...(e.retry ? { retry: e.retry } : {}),
      ...(e.concurrency ? { concurrency: e.concurrency } : {}),
      onProgress: (p: ProgressEvent) => {
        if (p.phase === 'failed' || p.phase === 'retrying')
          this.#log('warn', `cluster ${key}: ${verb} ${p.id} ${p.phase}`, { error: p.error?.message });
      },
    };
  }

  async #normal(pass: Pass): Promise<ReconcileResult | void> {
    const live = pass.live;
    const generation = live.metadata.generation;
    const parts: Record<PartCondition, ConditionValue> = {
      InfrastructureReady: progressing('planning cloud resources'),
      ControlPlaneReady: waiting('waiting for InfrastructureReady'),
      NodesReady: waiting('waiting for InfrastructureReady'),
      ServicesReady: waiting('waiting for ControlPlaneReady'),
    };
    const extra: Partial<ClusterStatus> = {};
    let requeueAfterMs: number | undefined = this.#o.pollMs ?? 1_000;
    let failure: Error | undefined;
    const lname = localClusterName(live);
    try {
      let cluster: Cluster;
      try {
        cluster = withDefaults({
          apiVersion,
          kind: 'Cluster',
          metadata: live.metadata,
          spec: live.spec,
        } as never);
      } catch (e) {
        parts.InfrastructureReady = failed('InvalidSpec', `the spec is not valid: ${(e as Error).message}`);
        requeueAfterMs = undefined;
        return;
      }
      cluster.metadata.uid = live.metadata.uid;
      const type = cluster.spec.provider.type;
      if (type !== 'local') {
        const make = this.#o.providers?.[type];
        if (!make) {
          parts.InfrastructureReady = failed(
            'InvalidSpec',
            `spec.provider.type: provider ${type} is not available in this build ${type === 'openstack' ? 'without kaasctl server --openstack-cloud NAME' : '(only local and openstack are)'}`,
          );
          requeueAfterMs = undefined;
          return;
        }
        // the nodes' kube-apiserver may ask KaaS about tokens (the webhook's route is in this
        // logical cluster); nothing else
        if (lname !== 'root')
          for (const obj of tokenReviewWebhookRbac(lname))
            await this.#client.apply(lname, obj as KObject, { fieldManager: 'kaas-clusters', force: true });
        const r = await reconcileExternal({
          cluster,
          provider: make(cluster),
          generation,
          status: () => (pass.live.status ?? {}) as ClusterStatus,
          ledger: (total) => statusLedger(this.#client, pass, total, false),
          engine: {
            ...this.#engineOptions(cluster, pass, 'create'),
            callTimeoutMs: this.#o.engine?.callTimeoutMs ?? 900_000,
          },
          signal: pass.signal,
          parts,
          extra,
          ...(this.#o.readyzProbe ? { probe: this.#o.readyzProbe } : {}),
          ...(this.#o.externalUpkeep
            ? { upkeep: () => this.#o.externalUpkeep!(cluster, (pass.live.status ?? {}) as ClusterStatus) }
            : {}),
          ...(this.#o.quotaRetryMs === undefined ? {} : { quotaRetryMs: this.#o.quotaRetryMs }),
        });
        return r.requeueAfterMs === undefined ? undefined : { requeueAfterMs: r.requeueAfterMs };
      }
      const owner = this.#ownerOf(lname);
      if (lname === 'root' || (owner && owner.metadata.uid !== live.metadata.uid)) {
        parts.InfrastructureReady = failed(
          'InvalidSpec',
          lname === 'root'
            ? 'metadata.name: root is the management cluster; choose another name'
            : `metadata.name: the local cloud's Kubernetes API /clusters/${lname} belongs to Cluster ${owner!.metadata.namespace}/${lname}; cluster names are unique across namespaces there`,
        );
        requeueAfterMs = undefined;
        return;
      }

      // ---- infrastructure ----
      const provider = this.#provider(cluster);
      const graph = provider.plan(cluster);
      const ops = await this.#ops.prepare({
        cluster,
        live,
        lname,
        graph,
        provider,
        ledger: (total) => statusLedger(this.#client, pass, total, false),
        engine: this.#engineOptions(cluster, pass, 'replace'),
      });
      if (ops.hold) {
        parts.InfrastructureReady = { status: 'False', reason: 'Upgrading', message: ops.hold };
        return { requeueAfterMs: this.#o.pollMs ?? 1_000 };
      }
      const entries = (live.status?.resources ?? []) as LedgerEntry[];
      const byName = new Map(entries.map((e) => [e.name, e]));
      const infraDone =
        live.status?.observedGeneration === generation &&
        (live.status?.conditions ?? []).some(
          (c: { type: string; status: string }) => c.type === 'InfrastructureReady' && c.status === 'True',
        ) &&
        entries.length === graph.nodes.length &&
        graph.nodes.every((n) => {
          const e = byName.get(n.id);
          return (
            e?.phase === 'Created' && e.id !== undefined && this.#o.cloud.get(n.type, e.id) !== undefined
          );
        });
      if (!infraDone) {
        const report = await provider.preconfigure(graph, { signal: pass.signal });
        if (!report.ok) {
          const first = report.problems[0]!;
          parts.InfrastructureReady = failed(first.code, report.problems.map((p) => p.message).join('; '));
          requeueAfterMs = errorReasons[first.code].retryable ? (this.#o.quotaRetryMs ?? 30_000) : undefined;
          return;
        }
        const ledger = statusLedger(this.#client, pass, graph.nodes.length, false);
        const result = await deploy(graph, provider, ledger, this.#engineOptions(cluster, pass, 'create'));
        if (!result.ok) {
          const f = result.failures[0]!;
          const blocked = result.blocked.length ? ` (${result.blocked.length} resources waiting on it)` : '';
          parts.InfrastructureReady = failed(f.reason, `${f.id}: ${f.error.message}${blocked}`);
          if (f.reason === 'QuotaExceeded') requeueAfterMs = this.#o.quotaRetryMs ?? 30_000;
          else if (errorReasons[f.reason].retryable) failure = new Error(`${f.id}: ${f.error.message}`);
          else requeueAfterMs = undefined;
          return;
        }
      }
      const ledgerNow = (pass.live.status?.resources ?? []) as LedgerEntry[];
      parts.InfrastructureReady = ok(`${ledgerNow.length} cloud resources created`);

      // ---- control plane: the logical cluster ----
      const endpoint = `${this.#baseUrl()}/clusters/${lname}`;
      if (this.#o.ensureClusterDefaults) await this.#o.ensureClusterDefaults(this.#client, lname);
      await this.#ensureAdminBinding(lname, cluster.spec.auth.clusterAdminRoleIds);
      extra.endpoint = endpoint;
      extra.kubernetesVersion = kubeletVersion(cluster.spec.kubernetesVersion).slice(1);
      parts.ControlPlaneReady = ok(`the Kubernetes API answers at ${endpoint}`);

      // ---- nodes ----
      const servers: ServerInfo[] = [];
      for (const n of graph.nodes) {
        if (n.type !== 'server') continue;
        const e = ledgerNow.find((x) => x.name === n.id);
        const rec = e?.id === undefined ? undefined : this.#o.cloud.get('server', e.id);
        if (rec) {
          const observed = this.#o.cloud.observe(rec);
          servers.push({ id: n.id, cloudId: rec.cloudId, outputs: observed.outputs as ServerOutputs });
        }
      }
      const summary = await this.#ensureNodes(cluster, lname, orderServers(cluster, servers));
      const desired = graph.nodes.filter((n) => n.type === 'server').length;
      extra.nodes = { desired, ready: summary.ready, upToDate: summary.upToDate };
      extra.nodePools = cluster.spec.nodePools.map((p) => ({
        name: p.name,
        desired: p.replicas,
        ready: summary.readyByPool.get(p.name) ?? 0,
      }));
      parts.NodesReady =
        summary.ready >= desired
          ? ok(`${summary.ready} of ${desired} nodes Ready`)
          : progressing(
              `${summary.ready} of ${desired} nodes Ready${summary.booting ? ` (${summary.booting} booting)` : ''}`,
            );
      if (ops.message)
        parts.NodesReady = {
          status: 'False',
          reason: 'Upgrading',
          message: `${ops.message}; ${summary.ready} of ${desired} nodes Ready`,
        };

      // ---- managed services ----
      // the catalog points kubernetes-auth and the SSO proxy at the management plane: the endpoint
      const rendered = this.#catalog.render({
        ...cluster,
        status: extra.endpoint ? { endpoint: extra.endpoint } : {},
      });
      const applied = await applyServices(this.#client, lname, rendered);
      const sick = applied.services.filter((s) => !s.healthy);
      await this.#ops.recordServices(pass.live, applied.services);
      extra.services = [
        ...applied.services.map((s) => ({
          name: s.name,
          version: s.version,
          ready: s.healthy,
          message: s.message.slice(0, 4096),
        })),
        // a service switched off shows, in the pass that removes it, what went (its data too)
        ...applied.removed.map((s) => ({
          name: s.name,
          version: s.version,
          ready: false,
          message: s.message.slice(0, 4096),
        })),
      ];
      if (rendered.length === 0)
        parts.ServicesReady = {
          status: 'True',
          reason: 'Disabled',
          message: 'no managed service is enabled',
        };
      else if (sick.length === 0)
        parts.ServicesReady = ok(
          `${applied.services.length} services healthy: ${applied.services.map((s) => `${s.name} ${s.version}`).join(', ')}`,
        );
      else
        parts.ServicesReady = progressing(
          `${applied.services.length - sick.length} of ${applied.services.length} services healthy; waiting for ${sick.map((s) => `${s.name} (${s.message})`).join('; ')}`,
        );
      if (Object.values(parts).every((p) => p.status === 'True')) requeueAfterMs = undefined;
    } catch (e) {
      if (e instanceof ClusterGone || pass.signal.aborted) throw e;
      if (isConflict(e)) throw e;
      const cond = errorCondition(e);
      const current = (Object.keys(parts) as PartCondition[]).find(
        (k) => parts[k].reason === 'Provisioning' || parts[k].reason === 'Waiting',
      );
      parts[current ?? 'InfrastructureReady'] = cond;
      failure = e instanceof Error ? e : new Error(String(e));
      this.#log('warn', `cluster ${pass.ref.namespace}/${pass.ref.name}: ${reasonOf(e)}`, {
        error: (e as Error).message,
      });
    } finally {
      if (!pass.signal.aborted) {
        await writeStatus(this.#client, pass, (s) => ({
          ...s,
          ...extra,
          ...(generation === undefined ? {} : { observedGeneration: generation }),
          conditions: mergeConditions(s.conditions, { ...parts, Ready: readyCondition(parts) }, generation),
        }));
      }
    }
    if (failure) throw failure;
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  async #ensureAdminBinding(lname: string, roleIds: readonly string[]): Promise<void> {
    const want = clusterAdminRoleIdBinding(roleIds) as unknown as KObject;
    const ref = {
      cluster: lname,
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      name: want.metadata.name!,
    };
    let have: KObject | undefined;
    try {
      have = await this.#client.get(ref);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (!have) {
      await this.#client.create(lname, want).catch((e: unknown) => {
        if (!isAlreadyExists(e)) throw e;
      });
    } else if (
      stable(have.subjects) !== stable(want.subjects) ||
      stable(have.roleRef) !== stable(want.roleRef)
    ) {
      await this.#client.update(lname, { ...want, metadata: { ...have.metadata } });
    }
  }

  async #ensureNodes(
    cluster: Cluster,
    lname: string,
    servers: ServerInfo[],
  ): Promise<{ ready: number; upToDate: number; booting: number; readyByPool: Map<string, number> }> {
    const out = { ready: 0, upToDate: 0, booting: 0, readyByPool: new Map<string, number>() };
    const want = new Set<string>();
    const version = kubeletVersion(cluster.spec.kubernetesVersion);
    for (const [i, server] of servers.entries()) {
      want.add(server.outputs.nodeName);
      if (server.outputs.status !== 'ACTIVE') {
        out.booting++;
        continue;
      }
      const node = desiredNode(cluster, server, i);
      const name = node.metadata.name!;
      const ref = { cluster: lname, apiVersion: 'v1', kind: 'Node', name };
      let have = this.nodes.get(`${lname}/${name}`);
      if (!have) {
        try {
          have = await this.#client.create(lname, { ...node, status: undefined });
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          have = await this.#client.get(ref);
        }
      } else {
        const labelsOk = Object.entries(node.metadata.labels ?? {}).every(
          ([k, v]) => have!.metadata.labels?.[k] === v,
        );
        // the kubelet version is what the node registered with: only a new server changes it
        const kept = have.metadata.annotations?.[kubeletVersionAnnotation];
        if (kept !== undefined) node.metadata.annotations![kubeletVersionAnnotation] = kept;
        const annotationsOk = Object.entries(node.metadata.annotations ?? {}).every(
          ([k, v]) => have!.metadata.annotations?.[k] === v,
        );
        const taintsOk = stable(have.spec?.taints ?? []) === stable(node.spec.taints ?? []);
        if (!labelsOk || !annotationsOk || !taintsOk) {
          await this.#client.patch(ref, {
            metadata: { labels: node.metadata.labels, annotations: node.metadata.annotations },
            spec: { taints: node.spec.taints ?? null },
          });
        }
      }
      const st = have.status ?? {};
      if (
        stable(st.capacity) !== stable(node.status.capacity) ||
        stable(st.addresses) !== stable(node.status.addresses)
      ) {
        await this.#client.patch(
          ref,
          { status: { capacity: node.status.capacity, addresses: node.status.addresses } },
          { subresource: 'status' },
        );
      }
      const ready = ((have.status?.conditions ?? []) as { type: string; status: string }[]).some(
        (c) => c.type === 'Ready' && c.status === 'True',
      );
      if (ready) {
        out.ready++;
        if (server.outputs.role === 'worker')
          out.readyByPool.set(server.outputs.pool, (out.readyByPool.get(server.outputs.pool) ?? 0) + 1);
      }
      if (
        (have.status?.nodeInfo?.kubeletVersion ?? have.metadata.annotations?.['kaas.dev/kubelet-version']) ===
        version
      )
        out.upToDate++;
    }
    // nodes of servers that are no longer planned (a smaller pool)
    for (const n of this.nodes.list(lname)) {
      if (n.metadata.labels?.[nodeLabels.pool] === undefined || want.has(n.metadata.name!)) continue;
      await this.#client
        .delete({ cluster: lname, apiVersion: 'v1', kind: 'Node', name: n.metadata.name! })
        .catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
    }
    return out;
  }

  /**
   * An external cluster's LoadBalancer Services and PersistentVolumeClaims, deleted through its own
   * API before the ledger's teardown so its cloud controller manager and CSI driver delete what they
   * made; an API that does not answer is said in Ready's message and the destroy goes on.
   */
  async #inClusterCleanup(pass: Pass, cluster: Cluster): Promise<void> {
    const say = (message: string) =>
      writeStatus(this.#client, pass, (s) => ({
        ...s,
        conditions: mergeConditions(
          s.conditions,
          { Ready: { status: 'False', reason: 'Deleting', message } },
          pass.live.metadata.generation,
        ),
      }));
    const status = (pass.live.status ?? {}) as ClusterStatus;
    const api = await this.#o.workloadApi?.(cluster, status).catch((e: unknown) => {
      this.#log('warn', `cluster ${pass.ref.namespace}/${pass.ref.name}: workload API: ${reasonOf(e)}`);
      return undefined;
    });
    const result = api
      ? await deleteCloudBackedObjects(api, {
          signal: pass.signal,
          progress: say,
          ...(this.#o.inClusterCleanupTimeoutMs === undefined
            ? {}
            : { timeoutMs: this.#o.inClusterCleanupTimeoutMs }),
        }).catch((e: unknown) => {
          // an API that refuses or goes away half-way: the sweep is the backstop, never a stuck destroy
          if (pass.signal.aborted) throw e;
          return {
            reachable: false,
            message: `in-cluster cleanup failed (${reasonOf(e)}); destroying anyway`,
          };
        })
      : {
          reachable: false,
          message:
            "in-cluster cleanup skipped: no way to reach the cluster's API (no endpoint or credentials); the sweep deletes the controllers' cloud objects by their names",
        };
    this.#log(
      result.reachable ? 'info' : 'warn',
      `cluster ${pass.ref.namespace}/${pass.ref.name}: ${result.message}`,
    );
    await say(`destroying: ${result.message}`);
  }

  async #delete(pass: Pass): Promise<ReconcileResult | void> {
    const live = pass.live;
    if (!(live.metadata.finalizers ?? []).includes(clusterFinalizer)) return;
    const lname = localClusterName(live);
    const owner = this.#ownerOf(lname);
    const ownsName = lname !== 'root' && (!owner || owner.metadata.uid === live.metadata.uid);
    const entries = (live.status?.resources ?? []) as LedgerEntry[];
    const generation = live.metadata.generation;
    const deleting = (message: string) => ({
      status: 'False' as const,
      reason: 'Deleting' as const,
      message,
    });
    await writeStatus(this.#client, pass, (s) => ({
      ...s,
      conditions: mergeConditions(
        s.conditions,
        { Ready: deleting(`destroying: ${entries.length} cloud resources to delete`) },
        generation,
      ),
    }));
    let cluster: Cluster | undefined;
    try {
      cluster = withDefaults({
        apiVersion,
        kind: 'Cluster',
        metadata: live.metadata,
        spec: live.spec,
      } as never);
      cluster.metadata.uid = live.metadata.uid;
    } catch {
      cluster = undefined; // an invalid spec made nothing... unless it was valid once: destroy by uid anyway
    }
    const external =
      cluster && cluster.spec.provider.type !== 'local'
        ? this.#o.providers?.[cluster.spec.provider.type]
        : undefined;
    const provider = external
      ? external(cluster!)
      : cluster && cluster.spec.provider.type === 'local'
        ? this.#provider(cluster)
        : new LocalCloudProvider({ cloud: this.#o.cloud });
    if (external && cluster) await this.#inClusterCleanup(pass, cluster);
    const uid = live.metadata.uid!;
    const ledger = statusLedger(this.#client, pass, entries.length, true);
    const opts = cluster ? this.#engineOptions(cluster, pass, 'delete') : { signal: pass.signal };
    const result = await destroy(ledger, provider, { ...opts, clusterUid: uid });
    // a failed step keeps the finalizer: said in Ready, and the destroy is retried
    const destroyFailed = async (reason: ErrorReason, message: string): Promise<never> => {
      await writeStatus(this.#client, pass, (s) => ({
        ...s,
        conditions: mergeConditions(
          s.conditions,
          { Ready: failed(reason, `destroy: ${message}`) },
          generation,
        ),
      }));
      throw new Error(`destroy of ${pass.ref.namespace}/${pass.ref.name}: ${message}`);
    };
    if (!result.ok) {
      const f = result.failures[0];
      await destroyFailed(
        f?.reason ?? 'Internal',
        f
          ? `${f.id}: ${f.error.message}`
          : `${result.remaining.length} resources still carry the cluster's tag`,
      );
    }
    if (external && cluster && this.#o.externalTeardown) {
      try {
        await this.#o.externalTeardown(cluster);
      } catch (e) {
        await destroyFailed(e instanceof CloudError ? e.code : 'CloudUnavailable', (e as Error).message);
      }
    }
    if (ownsName) {
      await this.#o.server.clusters.deleteCluster(lname);
      // a controller pass that was already running over this cluster may write once more;
      // sweep again after it had time to finish, so nothing is left behind
      await new Promise((r) => setTimeout(r, 1500));
      await this.#o.server.clusters.deleteCluster(lname);
      if (this.#o.dataDir)
        await rm(join(this.#o.dataDir, 'volumes', lname), { recursive: true, force: true });
    }
    await writeStatus(this.#client, pass, (s) => ({
      ...s,
      resources: [],
      conditions: mergeConditions(
        s.conditions,
        { Ready: deleting(`ledger empty: 0 resources left (${result.deleted} deleted)`) },
        generation,
      ),
    }));
    for (const k of this.#providers.keys()) if (k.startsWith(`${uid}/`)) this.#providers.delete(k);
    this.#log('info', `cluster ${pass.ref.namespace}/${pass.ref.name} destroyed`, {
      deleted: result.deleted,
    });
    await this.#client.update('root', {
      ...pass.live,
      metadata: {
        ...pass.live.metadata,
        finalizers: (pass.live.metadata.finalizers ?? []).filter((f) => f !== clusterFinalizer),
      },
    });
  }
}

/** Registers the Cluster controller with a manager (before manager.start()). */
export function addClusterController(o: ClusterControllerOptions): ClusterController {
  return new ClusterController(o);
}
