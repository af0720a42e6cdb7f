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
  return { requeueAfterMs: o.pollMs ?? 15_000 };
}
