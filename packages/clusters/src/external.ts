// Clusters on a cloud other than the embedded local one (openstack): the infrastructure through
// the provider's graph and the engine, with the ledger in status.resources as for local clusters;
// then an honest ControlPlaneReady: GET https://<API floating IP>:6443/readyz, the kube-apiserver
// behind the API load balancer, probed from here. Until it answers, ControlPlaneReady says what it
// waits for and NodesReady and ServicesReady wait on it (docs/openstack.md, "What waits for what").
import { request } from 'node:https';
import { errorReasons, type Cluster, type ClusterStatus } from '@kaas/api';
import {
  deploy,
  type EngineOptions,
  type Ledger,
  type ObservedResource,
  type Provider,
  type ResourceGraph,
} from '@kaas/providers';
import { failed, ok, waiting, type ConditionValue, type PartCondition } from './conditions.ts';

/** Makes the provider of one Cluster (kaasctl server: OpenStack with the operator's cloud). */
export type ProviderFactory = (cluster: Cluster) => Provider;

export interface ProbeResult {
  ok: boolean;
  /** What answered, or why nothing did: `HTTP 200 ok`, `connect ECONNREFUSED ...`, `no answer in 5 s`. */
  detail: string;
}

export type ReadyzProbe = (url: string, signal: AbortSignal) => Promise<ProbeResult>;

/**
 * One GET of /readyz. TLS is not verified: the cluster's CA is its own and KaaS does not hold it
 * yet, and /readyz is anonymous and says only "ok" (a readiness probe, not a trust decision).
 */
export function probeReadyz(url: string, signal: AbortSignal, timeoutMs = 5_000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: 'GET', rejectUnauthorized: false, timeout: timeoutMs, signal, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c.slice(0, 200)));
        res.on('end', () =>
          resolve({
            ok: res.statusCode === 200,
            detail: `HTTP ${res.statusCode} ${body.trim().slice(0, 80)}`,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
    req.on('error', (e) => resolve({ ok: false, detail: e.message }));
    req.end();
  });
}

export interface ExternalPassOptions {
  cluster: Cluster;
  provider: Provider;
  generation: number | undefined;
  /** The Cluster's status as last read or written (the ledger writes move it). */
  status: () => ClusterStatus;
  ledger: (total: number) => Ledger;
  engine: EngineOptions;
  signal: AbortSignal;
  parts: Record<PartCondition, ConditionValue>;
  extra: Partial<ClusterStatus>;
  probe?: ReadyzProbe;
  /**
   * Upkeep that needs the cluster's API, run on every pass once it answers (kaasctl server: the
   * node bootstrap token refresh, apps/kaasctl/src/server/bootstrapToken.ts). Its requeue joins
   * the pass's; its failure is its own to report and never fails the pass.
   */
  upkeep?: () => Promise<{ requeueAfterMs?: number }>;
  /** How soon a cluster whose API does not answer yet is looked at again (default 15 s). */
  pollMs?: number;
  quotaRetryMs?: number;
  /** How soon a deploy that failed with a retryable error is resumed (default 10 s). */
  retryMs?: number;
}

/** The address the cluster's API is reached at: the API load balancer's floating IP, else its VIP. */
export function apiAddressNode(graph: ResourceGraph): { lb?: string; fip?: string } {
  const lb = graph.nodes.find((n) => n.type === 'loadBalancer' && n.spec.purpose === 'kubernetesApi');
  const fip = graph.nodes.find((n) => n.type === 'floatingIp' && n.spec.target === lb?.id);
  return { ...(lb ? { lb: lb.id } : {}), ...(fip ? { fip: fip.id } : {}) };
}

function addressOf(r: ObservedResource | undefined): string | undefined {
  if (r?.type === 'floatingIp') return r.outputs.address;
  if (r?.type === 'loadBalancer') return r.outputs.vip;
  return undefined;
}

/** One normal pass over a Cluster of an external provider; sets the conditions it can decide. */
export async function reconcileExternal(o: ExternalPassOptions): Promise<{ requeueAfterMs?: number }> {
  const { cluster, provider, parts, extra } = o;
  const graph = provider.plan(cluster);
  const before = o.status();
  const entries = before.resources ?? [];
  const byName = new Map(entries.map((e) => [e.name, e]));
  const infraDone =
    before.observedGeneration === o.generation &&
    (before.conditions ?? []).some((c) => c.type === 'InfrastructureReady' && c.status === 'True') &&
    entries.length === graph.nodes.length &&
    graph.nodes.every((n) => byName.get(n.id)?.phase === 'Created' && byName.get(n.id)?.id !== undefined);
  let resources: Record<string, ObservedResource> = {};
  if (!infraDone) {
    const report = await provider.preconfigure(graph, { signal: o.signal });
    if (!report.ok) {
      const first = report.problems[0]!;
      parts.InfrastructureReady = failed(first.code, report.problems.map((p) => p.message).join('; '));
      return errorReasons[first.code].retryable ? { requeueAfterMs: o.quotaRetryMs ?? 30_000 } : {};
    }
    const result = await deploy(graph, provider, o.ledger(graph.nodes.length), o.engine);
    if (!result.ok) {
      const f = result.failures[0];
      const blocked = result.blocked.length ? ` (${result.blocked.length} resources waiting on it)` : '';
      parts.InfrastructureReady = f
        ? failed(f.reason, `${f.id}: ${f.error.message}${blocked}`)
        : failed('Internal', `${result.blocked.length} resources not created`);
      if (f?.reason === 'QuotaExceeded') return { requeueAfterMs: o.quotaRetryMs ?? 30_000 };
      // retryable (the cloud was unavailable): the next pass resumes from the ledger
      if (f && errorReasons[f.reason].retryable) return { requeueAfterMs: o.retryMs ?? 10_000 };
      return {};
    }
    resources = result.resources;
  }
  const ledgerNow = o.status().resources ?? [];
  parts.InfrastructureReady = ok(`${ledgerNow.length} cloud resources created`);

  // ---- control plane: the API load balancer's /readyz ----
  const api = apiAddressNode(graph);
  const at = api.fip ?? api.lb;
  let address = at === undefined ? undefined : addressOf(resources[at]);
  if (address === undefined && at !== undefined) {
    const entry = ledgerNow.find((e) => e.name === at);
    const type = at === api.fip ? 'floatingIp' : 'loadBalancer';
    if (entry?.id !== undefined)
      address = addressOf(await provider.observe(type, entry.id, { signal: o.signal }));
  }
  const desired = graph.nodes.filter((n) => n.type === 'server').length;
  extra.nodes = { desired, ready: 0 };
  extra.nodePools = cluster.spec.nodePools.map((p) => ({ name: p.name, desired: p.replicas, ready: 0 }));
  if (address === undefined) {
    parts.ControlPlaneReady = failed('Internal', 'the plan has no API load balancer address to probe');
    return {};
  }
  const endpoint = `https://${address}:6443`;
  extra.endpoint = endpoint;
  const url = `${endpoint}/readyz`;
  const probe = await (o.probe ?? probeReadyz)(url, o.signal);
  if (!probe.ok) {
    parts.ControlPlaneReady = waiting(
      `waiting for the Kubernetes API: GET ${url} (the API load balancer's address) answered: ${probe.detail}`,
    );
    parts.NodesReady = waiting('waiting for ControlPlaneReady');
    parts.ServicesReady = waiting('waiting for ControlPlaneReady');
    return { requeueAfterMs: o.pollMs ?? 15_000 };
  }
  parts.ControlPlaneReady = ok(`the Kubernetes API answers at ${url}`);
  // reading Nodes and installing services needs the cluster's admin credentials, which the node
  // bootstrap makes and KaaS does not fetch yet: say so rather than pretend
  parts.NodesReady = waiting(
    `${desired} servers ACTIVE; reading their Nodes needs the cluster's admin credentials (not wired yet)`,
  );
  parts.ServicesReady = waiting('waiting for NodesReady');
  const poll = o.pollMs ?? 15_000;
  const kept = await o.upkeep?.().catch(() => undefined);
  return { requeueAfterMs: Math.min(poll, kept?.requeueAfterMs ?? poll) };
}

// ---- destroy: the in-cluster objects that own cloud objects, first ----

/** The workload cluster's Kubernetes API as KaaS reaches it, with rights to delete anything. */
export interface WorkloadApi {
  /** `https://HOST:PORT`, or with a path prefix (a logical cluster of KaaS's own API server). */
  url: string;
  /** The cluster's CA; without it the serving certificate is not verified. */
  caPem?: string;
  clientCertPem: string;
  clientKeyPem: string;
}

/**
 * How the reconciler reaches a Cluster's own API before destroying it (kaasctl server: the API
 * load balancer's address from status.endpoint and an admin client certificate from the cluster
 * CA it keeps). Undefined: no way to reach it (no endpoint, no CA yet), which is reported.
 */
export type WorkloadApiSource = (cluster: Cluster, status: ClusterStatus) => Promise<WorkloadApi | undefined>;

export interface InClusterCleanup {
  /** Whether the cluster's API answered at all. */
  reachable: boolean;
  /** `namespace/name` of what was deleted. */
  services: string[];
  claims: string[];
  /** What was still there when the wait ended (0 when everything went). */
  left: number;
  /** One line for the condition and the log. */
  message: string;
}

interface KubeList {
  items?: {
    metadata: { name: string; namespace?: string; uid?: string };
    spec?: { type?: string; persistentVolumeReclaimPolicy?: string; claimRef?: { uid?: string } };
  }[];
}

function kubeCall(
  api: WorkloadApi,
  method: 'GET' | 'DELETE',
  path: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${api.url.replace(/\/$/, '')}${path}`,
      {
        method,
        cert: api.clientCertPem,
        key: api.clientKeyPem,
        ...(api.caPem ? { ca: api.caPem } : { rejectUnauthorized: false }),
        timeout: timeoutMs,
        signal,
        agent: false,
        headers: { accept: 'application/json' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

async function kubeList(
  api: WorkloadApi,
  path: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<NonNullable<KubeList['items']>> {
  const r = await kubeCall(api, 'GET', path, signal, timeoutMs);
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  return (JSON.parse(r.body) as KubeList).items ?? [];
}

export interface InClusterCleanupOptions {
  signal: AbortSignal;
  /** Longest wait for the controllers to finish (default 5 min); then destroy goes on regardless. */
  timeoutMs?: number;
  pollMs?: number;
  requestTimeoutMs?: number;
  /** Progress, for the Ready condition's message. */
  progress?: (message: string) => Promise<void> | void;
}

/**
 * Deletes every Service of type LoadBalancer and every PersistentVolumeClaim in the workload
 * cluster, then waits until they, and the PersistentVolumes with reclaim policy Delete that were
 * bound to those claims, are gone: that is when the cloud controller manager has deleted its
 * load balancers and the CSI driver its volumes. A cluster whose API does not answer is reported
 * (`reachable: false`), never fatal: destroy's sweep finds those cloud objects by the controllers'
 * own names (docs/openstack.md, "Destroy and the sweep").
 */
export async function deleteCloudBackedObjects(
  api: WorkloadApi,
  o: InClusterCleanupOptions,
): Promise<InClusterCleanup> {
  const reqMs = o.requestTimeoutMs ?? 10_000;
  const out: InClusterCleanup = { reachable: false, services: [], claims: [], left: 0, message: '' };
  let services: NonNullable<KubeList['items']>;
  let claims: NonNullable<KubeList['items']>;
  try {
    services = (await kubeList(api, '/api/v1/services', o.signal, reqMs)).filter(
      (s) => s.spec?.type === 'LoadBalancer',
    );
    claims = await kubeList(api, '/api/v1/persistentvolumeclaims', o.signal, reqMs);
  } catch (e) {
    if (o.signal.aborted) throw o.signal.reason;
    out.message = `the cluster's API at ${api.url} did not answer (${(e as Error).message}): LoadBalancer Services and PersistentVolumeClaims not deleted in-cluster; the sweep deletes their cloud objects by the controllers' names`;
    return out;
  }
  out.reachable = true;
  const ref = (x: { metadata: { name: string; namespace?: string } }): string =>
    `${x.metadata.namespace ?? 'default'}/${x.metadata.name}`;
  const claimUids = new Set(claims.map((c) => c.metadata.uid).filter((u) => u !== undefined));
  for (const [kind, items] of [
    ['services', services],
    ['persistentvolumeclaims', claims],
  ] as const) {
    for (const x of items) {
      const path = `/api/v1/namespaces/${encodeURIComponent(x.metadata.namespace ?? 'default')}/${kind}/${encodeURIComponent(x.metadata.name)}`;
      const r = await kubeCall(api, 'DELETE', path, o.signal, reqMs);
      if (r.status >= 300 && r.status !== 404)
        throw new Error(`DELETE ${path}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
      (kind === 'services' ? out.services : out.claims).push(ref(x));
    }
  }
  await o.progress?.(
    `deleting in-cluster: ${out.services.length} LoadBalancer Services, ${out.claims.length} PersistentVolumeClaims; waiting for their cloud objects to go`,
  );
  const deadline = Date.now() + (o.timeoutMs ?? 300_000);
  for (;;) {
    const svc = (await kubeList(api, '/api/v1/services', o.signal, reqMs)).filter(
      (s) => s.spec?.type === 'LoadBalancer',
    );
    const pvc = await kubeList(api, '/api/v1/persistentvolumeclaims', o.signal, reqMs);
    const pv = (await kubeList(api, '/api/v1/persistentvolumes', o.signal, reqMs)).filter(
      (v) =>
        v.spec?.persistentVolumeReclaimPolicy === 'Delete' &&
        v.spec.claimRef?.uid !== undefined &&
        claimUids.has(v.spec.claimRef.uid),
    );
    out.left = svc.length + pvc.length + pv.length;
    const what = `${svc.length} LoadBalancer Services, ${pvc.length} PersistentVolumeClaims, ${pv.length} PersistentVolumes`;
    if (out.left === 0) {
      out.message = `in-cluster: deleted ${out.services.length} LoadBalancer Services and ${out.claims.length} PersistentVolumeClaims; all gone`;
      return out;
    }
    if (Date.now() > deadline) {
      out.message = `in-cluster: ${what} still there after ${(o.timeoutMs ?? 300_000) / 1000} s; destroying anyway (the sweep deletes their cloud objects by the controllers' names)`;
      return out;
    }
    await o.progress?.(`deleting in-cluster: waiting for ${what} to go`);
    await new Promise<void>((r, j) => {
      const t = setTimeout(r, o.pollMs ?? 2_000);
      o.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          j(o.signal.reason as Error);
        },
        { once: true },
      );
    });
  }
}

// ---- the TokenReview webhook's identity ----

/** The user a cluster's kube-apiserver is at KaaS's TokenReview webhook (its client certificate's CN). */
export const tokenReviewWebhookUser = (clusterName: string): string => `system:kaas:apiserver:${clusterName}`;

/**
 * RBAC in the Cluster's logical cluster (`/clusters/NAME`, where the webhook's route is) letting
 * that identity create TokenReviews and nothing else. It lives and dies with the logical cluster,
 * which the destroy deletes; another cluster's identity has no binding there.
 */
export function tokenReviewWebhookRbac(clusterName: string): Record<string, unknown>[] {
  const name = 'kaas:tokenreview-webhook';
  const labels = { 'kaas.dev/managed-by': 'kaas' };
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name, labels },
      rules: [{ apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: tokenReviewWebhookUser(clusterName) },
      ],
    },
  ];
}
