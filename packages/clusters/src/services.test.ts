// Managed services on the local cloud, as `kaasctl server` runs them (restricted Pod Security,
// kube-system exempt): pinned versions deploy and report per service in status.services; moving a
// pin to the catalog's version upgrades and prunes what the new version no longer renders; a
// version whose workload never becomes Available is reported with the object and the pod's reason;
// switching services off prunes them, the node agents' namespace last.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore, type KObject } from '@kaas/apiserver';
import { defaultCatalog, nodeAgentsNamespace, type ServiceCatalog } from '@kaas/catalog';
import { clusterObject, condition, startProcess, until } from './testing.ts';

/**
 * The real catalog, plus two test-only twists: logging 3.2.4 also renders a ConfigMap that 3.2.9
 * dropped, and registry 2.8.3 asks for a node label no node has, so it never becomes Available.
 */
const catalog: ServiceCatalog = {
  render(cluster) {
    return defaultCatalog.render(cluster).map((svc) => {
      if (svc.key === 'logging' && svc.version === '3.2.4')
        return {
          ...svc,
          objects: [
            ...svc.objects,
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'fluent-bit-legacy-parsers', namespace: nodeAgentsNamespace },
              data: { 'parsers.conf': '[PARSER]\n    Name docker\n' },
            },
          ],
        };
      if (svc.key === 'registry' && svc.version === '2.8.3')
        return {
          ...svc,
          objects: svc.objects.map((o) =>
            o.kind === 'Deployment'
              ? {
                  ...o,
                  spec: {
                    ...o.spec,
                    template: {
                      ...o.spec.template,
                      spec: { ...o.spec.template.spec, nodeSelector: { 'kaas.dev/test': 'nowhere' } },
                    },
                  },
                }
              : o,
          ),
        };
      return svc;
    });
  },
};

type SvcStatus = { name: string; version: string; ready: boolean; message: string };

test(
  'services: pinned versions, upgrade with prune, a forced failure named, disable prunes',
  { timeout: 180_000 },
  async () => {
    const p = await startProcess(new MemoryStore(), { asServer: true, catalog });
    const client = p.manager.client;
    const get = () =>
      client.get({
        cluster: 'root',
        apiVersion: 'kaas.dev/v1alpha1',
        kind: 'Cluster',
        namespace: 'default',
        name: 'svc',
      });
    const services = async () => ((await get()).status?.services ?? []) as SvcStatus[];
    const waitServices = (what: string, ok: (s: SvcStatus[]) => boolean) =>
      until(async () => (ok(await services()) ? true : undefined), what, 60_000).catch(async (e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify(await services(), null, 1)}`);
      });
    const edit = async (fn: (c: KObject) => void) => {
      for (;;) {
        const c = await get();
        fn(c);
        try {
          await client.update('root', c);
          return;
        } catch (e) {
          if ((e as { code?: number }).code !== 409) throw e;
        }
      }
    };
    const inCluster = (kind: string, namespace: string, apiVersion = 'apps/v1') =>
      client.list({ cluster: 'svc', apiVersion, kind, namespace }).then((l) => l.items);
    try {
      const obj = clusterObject('svc', { services: false, workers: 2 });
      obj.spec.services.monitoring = { enabled: true };
      obj.spec.services.logging = { enabled: true, version: '3.2.4' };
      obj.spec.services.registry = { enabled: true, version: '2.8.2' };
      obj.spec.services.kubernetesAuth = { enabled: true };
      await client.create('root', obj);
      await waitServices(
        'four services ready at their pins',
        (s) => s.length === 4 && s.every((x) => x.ready),
      );
      assert.deepEqual(
        (await services()).map((s) => `${s.name} ${s.version} ${s.ready}`),
        ['monitoring 3.2.1 true', 'logging 3.2.4 true', 'registry 2.8.2 true', 'kubernetes-auth 0.1.0 true'],
      );
      assert.equal(condition(await get(), 'ServicesReady')?.status, 'True');
      // kubernetes-auth's webhook points at this management plane's TokenReview endpoint
      const auth = await client.get({
        cluster: 'svc',
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'kaas-system',
        name: 'kubernetes-auth',
      });
      assert.match(
        auth.data['token-webhook.kubeconfig'],
        /server: https:\/\/127\.0\.0\.1:6443\/clusters\/svc\/apis\/authentication\.k8s\.io\/v1\/tokenreviews/,
      );
      const ns = await client.get({
        cluster: 'svc',
        apiVersion: 'v1',
        kind: 'Namespace',
        name: nodeAgentsNamespace,
      });
      assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged');
      // the node agents run: the grant works; every other pod passed restricted to exist at all
      const pods = await inCluster('Pod', nodeAgentsNamespace, 'v1');
      assert.ok(pods.some((x) => x.metadata.name?.startsWith('fluent-bit-')));
      assert.ok(pods.some((x) => x.metadata.name?.startsWith('node-exporter-')));
      assert.equal(
        (await inCluster('ConfigMap', nodeAgentsNamespace, 'v1')).filter(
          (c) => c.metadata.name === 'fluent-bit-legacy-parsers',
        ).length,
        1,
      );

      // upgrade logging: the pin goes, the catalog's version comes, 3.2.4's extra ConfigMap is pruned
      await edit((c) => delete c.spec.services.logging.version);
      await waitServices('logging at 3.2.9', (s) =>
        s.some((x) => x.name === 'logging' && x.version === '3.2.9' && x.ready),
      );
      const loki = (await inCluster('StatefulSet', 'kaas-system')).find((x) => x.metadata.name === 'loki')!;
      assert.equal(loki.spec.template.spec.containers[0].image, 'docker.io/grafana/loki:3.4.2');
      assert.equal(loki.metadata.labels?.['kaas.dev/service-version'], '3.2.9');
      // the upgrade keeps Loki's data: the claim its StatefulSet made is still there
      const lokiClaims = async () =>
        (await inCluster('PersistentVolumeClaim', 'kaas-system', 'v1'))
          .filter((c) => /^[a-z0-9-]+-loki-0$/.test(c.metadata.name ?? '') && !c.metadata.deletionTimestamp)
          .map((c) => c.metadata.name);
      assert.equal((await lokiClaims()).length, 1);
      assert.ok(
        !(await inCluster('ConfigMap', nodeAgentsNamespace, 'v1')).some(
          (c) => c.metadata.name === 'fluent-bit-legacy-parsers',
        ),
      );

      // a version that never becomes Available: reported with the object and the pod's reason
      await edit((c) => delete c.spec.services.registry.version);
      await waitServices('registry 2.8.3 reported not ready', (s) =>
        s.some(
          (x) => x.name === 'registry' && x.version === '2.8.3' && !x.ready && /Pending/.test(x.message),
        ),
      );
      const reg = (await services()).find((s) => s.name === 'registry')!;
      assert.match(
        reg.message,
        /Deployment kaas-system\/registry: 0 of 1 available \(pod registry-[a-z0-9-]+ Pending/,
      );
      const sr = condition(await get(), 'ServicesReady')!;
      assert.equal(sr.status, 'False');
      assert.match(
        sr.message,
        /3 of 4 services healthy; waiting for registry \(Deployment kaas-system\/registry/,
      );

      // switching off prunes: logging's workloads go, the node agents' namespace stays for node-exporter
      await edit((c) => (c.spec.services.logging = { enabled: false }));
      await until(
        async () => ((await inCluster('StatefulSet', 'kaas-system')).length === 0 ? true : undefined),
        'loki pruned',
        30_000,
      );
      // switched off, its data goes with it
      await until(
        async () => ((await lokiClaims()).length === 0 ? true : undefined),
        "loki's claim pruned",
        30_000,
      );
      assert.deepEqual(
        (await inCluster('DaemonSet', nodeAgentsNamespace)).map((d) => d.metadata.name),
        ['node-exporter'],
      );
      await edit((c) => (c.spec.services.monitoring = { enabled: false }));
      await until(
        async () => {
          const n = await client
            .get({ cluster: 'svc', apiVersion: 'v1', kind: 'Namespace', name: nodeAgentsNamespace })
            .catch(() => undefined);
          return !n || n.metadata.deletionTimestamp ? true : undefined;
        },
        'the node agents namespace pruned',
        30_000,
      );
      const crs = await client.list({
        cluster: 'svc',
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
      });
      assert.ok(
        !crs.items.some((c) => c.metadata.name?.startsWith('kaas:prometheus')),
        'cluster-scoped objects pruned too',
      );
      await waitServices(
        'the registry and kubernetes-auth left',
        (s) => s.length === 2 && s[0]!.name === 'registry',
      );
    } finally {
      await p.stop();
    }
  },
);
