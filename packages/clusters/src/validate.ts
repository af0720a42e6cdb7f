// `kaasctl cluster validate`: checks a running cluster end to end, from the management plane's
// side (it can see the local cloud's records and the volume directories, which a client cannot).
// kaasctl asks by writing a token to the Cluster's kaas.dev/validate-request annotation; the
// validation controller runs every check and writes the report, with that token, to
// kaas.dev/validation. A report is pass/fail per check with a message saying what was seen.
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { apiVersion, withDefaults, type ClusterInput, type LedgerEntry } from '@kaas/api';
import {
  checkPod,
  clusterAdminRoleIdBinding,
  podSecurityEnforceLabel,
  podSecurityExemptLabel,
  type KObject,
} from '@kaas/apiserver';
import {
  ignoreNotFound,
  isNotFound,
  parseObjectKey,
  type InProcessClient,
  type Informer,
  type Manager,
} from '@kaas/controllers';
import type { LocalCloud } from '@kaas/providers/local';
import { workloadProblem } from './applier.ts';
import { builtinCatalog, managedNamespaces } from './catalog.ts';
import { operationAnnotations } from './rolling.ts';
import { stable } from './stable.ts';

export interface ValidationCheck {
  name: string;
  passed: boolean;
  message: string;
}

export interface PodSecurityException {
  namespace: string;
  /** Where it comes from: the server's configuration or the namespace's labels. */
  source: string;
  level: string;
}

export interface ValidationReport {
  token: string;
  cluster: string;
  passed: boolean;
  checks: ValidationCheck[];
  podSecurityExceptions: PodSecurityException[];
  finishedAt: string;
}

export interface ValidationOptions {
  manager: Manager;
  clusters: Informer;
  cloud: LocalCloud;
  /** Namespaces the server's PodSecurity admission exempts by configuration (kaasctl server: kube-system). */
  exemptNamespaces?: readonly string[];
  /** How long the test claim may take to bind and its volume to be reclaimed (default 15 s). */
  pvcTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isTrue = (o: KObject | undefined, type: string) =>
  ((o?.status?.conditions ?? []) as { type: string; status: string }[]).some(
    (c) => c.type === type && c.status === 'True',
  );

async function waitFor<T>(get: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) return undefined;
    await sleep(50);
  }
}

/** Runs every check against a Cluster (the management object) and its logical cluster. */
export async function validateCluster(
  client: InProcessClient,
  cloud: LocalCloud,
  cluster: KObject,
  o: { exemptNamespaces?: readonly string[]; pvcTimeoutMs?: number } = {},
): Promise<Omit<ValidationReport, 'token' | 'finishedAt'>> {
  const lname = cluster.metadata.name!;
  const checks: ValidationCheck[] = [];
  const run = async (name: string, fn: () => Promise<{ passed: boolean; message: string }>) => {
    try {
      checks.push({ name, ...(await fn()) });
    } catch (e) {
      checks.push({ name, passed: false, message: (e as Error).message });
    }
  };
  const list = async (kind: string, av: string, namespace?: string) =>
    (await client.list({ cluster: lname, apiVersion: av, kind, ...(namespace ? { namespace } : {}) })).items;
  const entries = (cluster.status?.resources ?? []) as LedgerEntry[];

  await run('nodes-ready', async () => {
    const nodes = await list('Node', 'v1');
    const desired = (cluster.status?.nodes?.desired as number | undefined) ?? nodes.length;
    const notReady = nodes.filter((n) => !isTrue(n, 'Ready')).map((n) => n.metadata.name);
    const passed = nodes.length >= desired && notReady.length === 0 && nodes.length > 0;
    return {
      passed,
      message: passed
        ? `${nodes.length} of ${desired} nodes Ready`
        : `${nodes.length - notReady.length} of ${desired} nodes Ready${notReady.length ? `; not Ready: ${notReady.join(', ')}` : ''}`,
    };
  });

  await run('system-workloads', async () => {
    const problems: string[] = [];
    let total = 0;
    for (const ns of ['kube-system', ...managedNamespaces])
      for (const kind of ['Deployment', 'DaemonSet', 'StatefulSet'])
        for (const w of await list(kind, 'apps/v1', ns)) {
          total++;
          const p = workloadProblem(w);
          if (p) problems.push(`${kind} ${ns}/${w.metadata.name}: ${p}`);
        }
    return {
      passed: problems.length === 0,
      message: problems.length
        ? problems.join('; ')
        : `${total} workloads in kube-system, ${managedNamespaces.join(', ')} Available`,
    };
  });

  await run('dns', async () => {
    const missing: string[] = [];
    let records = 0;
    for (const e of entries.filter((x) => x.kind === 'server' && x.id)) {
      const server = cloud.get('server', e.id!);
      const out = server ? (cloud.observe(server).outputs as { nodeName: string; ip: string }) : undefined;
      const dnsId = e.name.replace(/^server\//, 'dnsRecord/');
      const rec = entries.find((x) => x.name === dnsId);
      const dns = rec?.id ? cloud.get('dnsRecord', rec.id) : undefined;
      const addr = (dns?.outputs as { address?: string; fqdn?: string } | undefined)?.address;
      if (!out) missing.push(`${e.name}: server not in the cloud`);
      else if (!dns) missing.push(`${out.nodeName}: no DNS record`);
      else if (addr !== out.ip)
        missing.push(`${out.nodeName}: DNS record points at ${addr}, node at ${out.ip}`);
      else records++;
    }
    const api = entries.find((x) => x.name === 'dnsRecord/api');
    const fip = entries.find((x) => x.name === 'floatingIp/api');
    const apiRec = api?.id ? cloud.get('dnsRecord', api.id) : undefined;
    const fipRec = fip?.id ? cloud.get('floatingIp', fip.id) : undefined;
    const apiOut = apiRec?.outputs as { address?: string; fqdn?: string } | undefined;
    const fipAddr = (fipRec?.outputs as { address?: string } | undefined)?.address;
    if (!apiRec) missing.push('the cluster endpoint has no DNS record (dnsRecord/api)');
    else if (!fipAddr || apiOut?.address !== fipAddr)
      missing.push(`${apiOut?.fqdn}: resolves to ${apiOut?.address}, the API's floating IP is ${fipAddr}`);
    return {
      passed: missing.length === 0,
      message: missing.length
        ? missing.join('; ')
        : `${records} node records resolve to their nodes; ${apiOut?.fqdn} resolves to ${apiOut?.address} (API floating IP)`,
    };
  });

  await run('storage', () => testClaim(client, lname, o.pvcTimeoutMs ?? 15_000));

  await run('rbac', async () => {
    const roleIds = (cluster.spec?.auth?.clusterAdminRoleIds ?? []) as string[];
    const want = clusterAdminRoleIdBinding(roleIds) as unknown as KObject;
    const have = await client
      .get({
        cluster: lname,
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        name: want.metadata.name!,
      })
      .catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
    if (!have) return { passed: false, message: `ClusterRoleBinding ${want.metadata.name} is missing` };
    const passed =
      stable(have.subjects) === stable(want.subjects) && stable(have.roleRef) === stable(want.roleRef);
    return {
      passed,
      message: passed
        ? `${want.metadata.name} grants cluster-admin to role IDs ${roleIds.join(', ')}`
        : `${want.metadata.name} does not match spec.auth.clusterAdminRoleIds (${roleIds.join(', ')}): subjects ${JSON.stringify(have.subjects)}`,
    };
  });

  await run('pod-security', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `kaas-validate-root-${randomBytes(3).toString('hex')}`, namespace: 'default' },
      spec: {
        containers: [{ name: 'root', image: 'busybox', securityContext: { privileged: true, runAsUser: 0 } }],
      },
    };
    try {
      await client.create(lname, pod, { dryRun: true });
    } catch (e) {
      const msg = (e as Error).message;
      if (/violates PodSecurity/.test(msg))
        return { passed: true, message: `a privileged root pod in default is refused: ${msg}` };
      throw e;
    }
    return { passed: false, message: 'a privileged pod running as root was admitted in namespace default' };
  });

  await run('services', async () => {
    const c = (
      (cluster.status?.conditions ?? []) as { type: string; status: string; message: string }[]
    ).find((x) => x.type === 'ServicesReady');
    return {
      passed: c?.status === 'True',
      message: c ? `ServicesReady ${c.status}: ${c.message}` : 'no ServicesReady condition yet',
    };
  });

  await run('service-exceptions', () => serviceExceptionsCheck(client, lname, cluster, list));

  const podSecurityExceptions: PodSecurityException[] = (o.exemptNamespaces ?? ['kube-system']).map((ns) => ({
    namespace: ns,
    source: 'server configuration (PodSecurity exemptions)',
    level: 'exempt',
  }));
  for (const ns of await list('Namespace', 'v1')) {
    const l = ns.metadata.labels ?? {};
    const name = ns.metadata.name!;
    if (l['pod-security.kaas.dev/exempt'] === 'true')
      podSecurityExceptions.push({
        namespace: name,
        source: 'label pod-security.kaas.dev/exempt=true',
        level: 'exempt',
      });
    else if (
      l['pod-security.kubernetes.io/enforce'] &&
      l['pod-security.kubernetes.io/enforce'] !== 'restricted'
    )
      podSecurityExceptions.push({
        namespace: name,
        source: 'label pod-security.kubernetes.io/enforce',
        level: l['pod-security.kubernetes.io/enforce'],
      });
  }
  return { cluster: lname, passed: checks.every((c) => c.passed), checks, podSecurityExceptions };
}

/**
 * Every managed workload passes Pod Security "restricted" as the admission evaluates it, except
 * the catalog's declared exceptions, each of which is listed with its reason and must be granted
 * by its namespace's label (set by KaaS as the operator) and break no more than it declares.
 */
async function serviceExceptionsCheck(
  client: InProcessClient,
  lname: string,
  cluster: KObject,
  list: (kind: string, av: string, namespace?: string) => Promise<KObject[]>,
): Promise<{ passed: boolean; message: string }> {
  const rendered = builtinCatalog.render(withDefaults(structuredClone(cluster) as ClusterInput));
  const declared = rendered.flatMap((s) => s.podSecurityExceptions);
  const problems: string[] = [];
  let checked = 0;
  for (const ns of managedNamespaces) {
    for (const kind of ['Deployment', 'DaemonSet', 'StatefulSet']) {
      for (const w of await list(kind, 'apps/v1', ns).catch(() => [] as KObject[])) {
        if (w.metadata.labels?.['kaas.dev/managed-by'] !== 'kaas') continue;
        checked++;
        const what = `${kind} ${ns}/${w.metadata.name}`;
        const t = w.spec?.template ?? {};
        const violated = checkPod('restricted', t.metadata, t.spec).map((v) => v.id);
        const d = declared.find((e) => e.kind === kind && e.namespace === ns && e.name === w.metadata.name);
        const undeclared = violated.filter((id) => !d?.allows.includes(id));
        if (undeclared.length)
          problems.push(`${what} breaks restricted undeclared: ${undeclared.join(', ')}`);
      }
    }
  }
  const listed: string[] = [];
  for (const e of declared) {
    const nsObj = await client
      .get({ cluster: lname, apiVersion: 'v1', kind: 'Namespace', name: e.namespace })
      .catch(ignoreNotFound);
    const l = nsObj?.metadata.labels ?? {};
    const granted = l[podSecurityExemptLabel] === 'true' || l[podSecurityEnforceLabel] === 'privileged';
    if (!granted)
      problems.push(`${e.kind} ${e.namespace}/${e.name}: namespace ${e.namespace} does not grant it`);
    listed.push(
      `${e.kind} ${e.namespace}/${e.name} (${e.service}) allows ${e.allows.join(', ')}: ${e.reason}`,
    );
  }
  const summary = `${checked} managed workloads checked; ${declared.length} declared exception(s)${listed.length ? `: ${listed.join(' | ')}` : ''}`;
  return {
    passed: problems.length === 0,
    message: problems.length ? `${problems.join('; ')}; ${summary}` : summary,
  };
}

/** A claim in a scratch namespace with the default StorageClass: Bound, then deleted and reclaimed. */
async function testClaim(
  client: InProcessClient,
  cluster: string,
  timeoutMs: number,
): Promise<{ passed: boolean; message: string }> {
  const ns = `kaas-validate-${randomBytes(3).toString('hex')}`;
  const ref = { cluster, apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: 'validate' };
  await client.create(cluster, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  try {
    await client.create(cluster, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'validate', namespace: ns },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
    });
    const bound = await waitFor(async () => {
      const c = await client.get(ref);
      return c.status?.phase === 'Bound' ? c : undefined;
    }, timeoutMs);
    if (!bound) {
      const c = await client.get(ref).catch(() => undefined);
      const events = (await client.list({ cluster, apiVersion: 'v1', kind: 'Event', namespace: ns })).items
        .map((e) => `${e.reason}: ${e.message}`)
        .join('; ');
      return {
        passed: false,
        message: `the test claim is ${c?.status?.phase ?? 'missing'} after ${timeoutMs / 1000}s (is there a default StorageClass?)${events ? `; events: ${events}` : ''}`,
      };
    }
    const pvName = String(bound.spec.volumeName);
    const pv = await client.get({ cluster, apiVersion: 'v1', kind: 'PersistentVolume', name: pvName });
    const dir = (pv.spec?.hostPath?.path ?? pv.spec?.local?.path) as string | undefined;
    const policy = String(pv.spec?.persistentVolumeReclaimPolicy ?? 'Delete');
    const class_ = String(bound.spec.storageClassName ?? '');
    await client.delete(ref);
    const reclaimed = await waitFor(async () => {
      const now = await client
        .get({ cluster, apiVersion: 'v1', kind: 'PersistentVolume', name: pvName })
        .catch((e: unknown) => {
          if (isNotFound(e)) return undefined;
          throw e;
        });
      if (policy === 'Delete') return !now && !(dir && existsSync(dir)) ? true : undefined;
      if (policy === 'Retain') return now?.status?.phase === 'Released' ? true : undefined;
      return now?.status?.phase === 'Available' ? true : undefined; // Recycle
    }, timeoutMs);
    const where = dir ? ` (${dir})` : '';
    if (!reclaimed)
      return {
        passed: false,
        message: `claim bound to ${pvName} (class ${class_}); after deleting it the volume${where} was not reclaimed per ${policy}`,
      };
    if (policy === 'Retain' && dir) {
      await client
        .delete({ cluster, apiVersion: 'v1', kind: 'PersistentVolume', name: pvName })
        .catch(() => undefined);
    }
    return {
      passed: true,
      message: `claim bound to ${pvName} (class ${class_}); deleted, volume reclaimed per ${policy}${policy === 'Delete' ? `: directory${where} removed` : ''}`,
    };
  } finally {
    await client.delete({ cluster, apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
  }
}

/** The controller: answers each new validate-request token with a report. */
export function addValidationController(o: ValidationOptions): void {
  const client = o.manager.client;
  o.manager.add({
    name: 'cluster-validation',
    workers: 2,
    watches: [{ informer: o.clusters }],
    async reconcile(key) {
      const cached = o.clusters.get(key);
      if (!cached || cached.metadata.deletionTimestamp) return;
      const token = cached.metadata.annotations?.[operationAnnotations.validateRequest];
      if (!token) return;
      const prior = cached.metadata.annotations?.[operationAnnotations.validation];
      if (prior && (JSON.parse(prior) as { token?: string }).token === token) return;
      const { namespace, name } = parseObjectKey(key);
      const body = await validateCluster(client, o.cloud, structuredClone(cached), o);
      const report: ValidationReport = { token, ...body, finishedAt: new Date().toISOString() };
      await client.patch(
        { cluster: 'root', apiVersion, kind: 'Cluster', namespace: namespace!, name },
        { metadata: { annotations: { [operationAnnotations.validation]: JSON.stringify(report) } } },
      );
    },
  });
}
