// The catalog against several cluster specs: every rendered object passes its Kubernetes schema
// (kubernetes-models' validate()), every pod template passes Pod Security "restricted" as the API
// server's own admission evaluates it except exactly what a module declares, the SSO proxy's
// ConfigMap loads with @kaas/ssoproxy's loader, and images are named in versions.ts only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { managedServiceKeys, withDefaults, type Cluster, type ClusterInput } from '@kaas/api';
import { checkPod, podSecurityEnforceLabel, type KObject } from '@kaas/apiserver';
import { parseSsoProxyConfigYaml } from '@kaas/ssoproxy';
import { createCatalog, defaultCatalog } from './catalog.ts';
import { validateObject } from './models.ts';
import { nodeAgentsNamespace } from './namespaces.ts';
import type { RenderedService } from './types.ts';
import { serviceReleases } from './versions.ts';

const here = dirname(fileURLToPath(import.meta.url));

function cluster(over: Partial<ClusterInput['spec']> & { name?: string; namespace?: string } = {}): Cluster {
  const { name, namespace, ...spec } = over;
  return withDefaults({
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: name ?? 'demo', namespace: namespace ?? 'default' },
    spec: {
      nodePools: [{ name: 'workers', replicas: 3 }],
      auth: { clusterAdminRoleIds: ['cluster-admins'] },
      ...spec,
    },
  });
}

const allOff = Object.fromEntries(managedServiceKeys.map((k) => [k, { enabled: false }]));

/** The specs every check runs over: the providers, services switched off, pins, role IDs, storage. */
const specs: [string, Cluster][] = [
  ['local, every service', cluster()],
  [
    'eks: ingress-nginx in its own namespace, backups to S3 of the region',
    cluster({
      name: 'shop',
      provider: { type: 'eks', eks: { region: 'eu-west-1' } },
      credentialsRef: { name: 'aws' },
    }),
  ],
  [
    'openstack with object storage and UI role IDs',
    cluster({
      name: 'prod-eu',
      namespace: 'team-a',
      provider: {
        type: 'openstack',
        openstack: {
          region: 'RegionOne',
          externalNetwork: 'public',
          image: 'ubuntu-24.04',
          flavors: { controlPlane: 'm1.large', workers: 'm1.large' },
          dnsZone: 'kaas.example.com.',
        },
      },
      credentialsRef: { name: 'openstack' },
      objectStorage: { endpoint: 'https://swift.example.com', bucket: 'prod-eu-backups' },
      auth: {
        clusterAdminRoleIds: ['admins'],
        uiRoleIds: {
          grafana: ['devs'],
          logs: ['support'],
          prometheus: ['sre'],
          alertmanager: ['sre', 'oncall'],
        },
      },
    }),
  ],
  [
    'logging without monitoring, older pinned versions',
    cluster({
      services: {
        ...allOff,
        logging: { enabled: true, version: '3.2.4' },
        registry: { enabled: true, version: 'v2.8.2' },
        backup: { enabled: true, version: '1.15.0' },
        ingressNginx: { enabled: true, version: '1.11.5' },
      },
    }),
  ],
];

const workloadKinds = new Set(['Deployment', 'DaemonSet', 'StatefulSet', 'Job']);

function templates(svc: RenderedService): { obj: KObject; meta: any; spec: any }[] {
  return svc.objects
    .filter((o) => workloadKinds.has(o.kind!))
    .map((obj) => ({ obj, meta: obj.spec.template.metadata, spec: obj.spec.template.spec }));
}

for (const [what, c] of specs) {
  test(`catalog (${what}): every object validates against the Kubernetes schemas`, () => {
    const rendered = createCatalog({ ingressNginx: { admissionWebhook: true } }).render(c);
    assert.equal(rendered.filter((s) => s.problem).length, 0, rendered.map((s) => s.problem).join('; '));
    let n = 0;
    for (const svc of rendered) {
      const crds = svc.objects.filter((o) => o.kind === 'CustomResourceDefinition');
      for (const obj of svc.objects) {
        assert.doesNotThrow(() => validateObject(obj, crds), `${svc.name}: ${obj.kind} ${obj.metadata.name}`);
        n++;
      }
    }
    assert.ok(n > 0);
  });

  test(`catalog (${what}): every pod template passes restricted except what its module declares`, () => {
    const rendered = createCatalog({ ingressNginx: { admissionWebhook: true } }).render(c);
    const namespaces = new Map(
      rendered
        .flatMap((s) => s.objects.filter((o) => o.kind === 'Namespace'))
        .map((n) => [n.metadata.name!, n]),
    );
    for (const svc of rendered) {
      for (const { obj, meta, spec } of templates(svc)) {
        const where = `${svc.name}: ${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`;
        const violated = checkPod('restricted', meta, spec).map((v) => v.id);
        const declared = svc.podSecurityExceptions.find(
          (e) =>
            e.kind === obj.kind && e.namespace === obj.metadata.namespace && e.name === obj.metadata.name,
        );
        if (!declared) {
          assert.deepEqual(violated, [], `${where} breaks restricted without a declared exception`);
          assert.notEqual(obj.metadata.namespace, nodeAgentsNamespace, `${where}: only node agents go there`);
          continue;
        }
        // exactly the declared rules: an undeclared violation fails, and so does a stale declaration
        assert.deepEqual([...violated].sort(), [...declared.allows].sort(), where);
        assert.ok(declared.reason.length > 40, `${where}: the exception says why`);
        // still baseline-or-better on everything not declared, and never privileged
        for (const c of spec.containers) assert.notEqual(c.securityContext?.privileged, true, where);
        for (const c of spec.containers)
          assert.equal(c.securityContext?.allowPrivilegeEscalation, false, where);
        for (const c of spec.containers)
          assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], where);
        // the grant: the namespace the catalog renders with the privileged label, set by the operator
        const ns = namespaces.get(obj.metadata.namespace!);
        assert.equal(ns?.metadata.labels?.[podSecurityEnforceLabel], 'privileged', where);
      }
    }
  });
}

test('catalog: exceptions are node-exporter and fluent-bit only, in the node agents namespace', () => {
  const rendered = defaultCatalog.render(cluster());
  const exceptions = rendered.flatMap((s) => s.podSecurityExceptions);
  assert.deepEqual(exceptions.map((e) => `${e.kind} ${e.namespace}/${e.name}`).sort(), [
    'DaemonSet kaas-system-node/fluent-bit',
    'DaemonSet kaas-system-node/node-exporter',
  ]);
  // nothing but those two runs in that namespace
  const there = rendered.flatMap((s) =>
    s.objects.filter((o) => workloadKinds.has(o.kind!) && o.metadata.namespace === nodeAgentsNamespace),
  );
  assert.deepEqual(there.map((o) => o.metadata.name).sort(), ['fluent-bit', 'node-exporter']);
});

test('catalog: pure, namespaces by provider, disabled services render nothing', () => {
  const local = cluster();
  assert.deepEqual(defaultCatalog.render(local), defaultCatalog.render(structuredClone(local)));
  const eks = specs[1]![1];
  const ingress = defaultCatalog.render(eks).find((s) => s.key === 'ingressNginx')!;
  const nsOf = new Set(ingress.objects.map((o) => o.metadata.namespace).filter(Boolean));
  assert.deepEqual([...nsOf], ['ingress-nginx']);
  assert.ok(ingress.objects.some((o) => o.kind === 'Namespace' && o.metadata.name === 'ingress-nginx'));
  const lb = ingress.objects.find((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer')!;
  assert.equal(lb.metadata.annotations?.['service.beta.kubernetes.io/aws-load-balancer-type'], 'nlb');
  const localIngress = defaultCatalog.render(local).find((s) => s.key === 'ingressNginx')!;
  assert.ok(
    localIngress.objects
      .filter((o) => o.metadata.namespace)
      .every((o) => o.metadata.namespace === 'kaas-system'),
  );
  assert.ok(localIngress.objects.some((o) => o.kind === 'IngressClass' && o.metadata.name === 'nginx'));
  assert.ok(
    !localIngress.objects.some((o) => o.kind === 'ValidatingWebhookConfiguration'),
    'webhook off by default',
  );
  const some = cluster({ services: { ...allOff, registry: { enabled: true } } });
  assert.deepEqual(
    defaultCatalog.render(some).map((s) => s.name),
    ['registry'],
  );
});

test('velero: the BackupStorageLocation points at the cluster object storage', () => {
  const bsl = (c: Cluster) =>
    defaultCatalog
      .render(c)
      .find((s) => s.key === 'backup')!
      .objects.find((o) => o.kind === 'BackupStorageLocation')!;
  const os = bsl(specs[2]![1]);
  assert.equal(os.spec.objectStorage.bucket, 'prod-eu-backups');
  assert.equal(os.spec.config.s3Url, 'https://swift.example.com');
  assert.equal(os.spec.config.region, 'RegionOne');
  assert.equal(os.spec.config.s3ForcePathStyle, 'true');
  const eks = bsl(specs[1]![1]);
  assert.equal(eks.spec.objectStorage.bucket, 'kaas-default-shop-backups');
  assert.equal(eks.spec.config.region, 'eu-west-1');
  assert.equal(eks.spec.config.s3Url, undefined);
  const velero = defaultCatalog.render(specs[1]![1]).find((s) => s.key === 'backup')!;
  assert.ok(!velero.objects.some((o) => o.kind === 'DaemonSet'), 'no node agent');
  const args = velero.objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].args;
  assert.ok(args.includes('--features=EnableCSI'));
});

test('sso-proxy: the ConfigMap loads with kaasctl sso-proxy --config, routes carry the spec role IDs', async () => {
  const c = structuredClone(specs[2]![1]);
  c.status = { endpoint: 'https://kaas.example.com:6443/clusters/prod-eu' };
  const sso = defaultCatalog.render(c).find((s) => s.key === 'ssoProxy')!;
  const cm = sso.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'sso-proxy-config')!;
  const text = cm.data['sso-proxy.yaml'] as string;
  const files: Record<string, string> = {
    '/etc/sso-proxy/secrets/client-secret': 'x'.repeat(43),
    '/etc/sso-proxy/secrets/cookie-secrets': 'y'.repeat(43),
    '/etc/sso-proxy/ca/ca.crt': '-----BEGIN CERTIFICATE-----\n',
  };
  const config = await parseSsoProxyConfigYaml(text, 'sso-proxy.yaml', {
    readText: async (p) => {
      const v = files[p];
      if (v === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return v;
    },
  });
  assert.equal(config.oidc.issuer, 'https://kaas.example.com:6443/oidc');
  const groups = Object.fromEntries(config.routes.map((r) => [r.name, r.allowedGroups]));
  assert.deepEqual(groups, {
    grafana: ['admins', 'devs', 'support'],
    prometheus: ['admins', 'sre'],
    alertmanager: ['admins', 'sre', 'oncall'],
  });
  assert.equal(
    config.routes.find((r) => r.name === 'prometheus')!.upstream,
    'http://prometheus.kaas-system.svc:9090',
  );
  const secret = sso.objects.find((o) => o.kind === 'Secret')!;
  assert.equal(secret.data, undefined, 'secrets are generated by the applier, never rendered');
  // without monitoring there is no UI to front: nothing is rendered
  const noUi = cluster({
    services: { ...allOff, ssoProxy: { enabled: true }, kubernetesAuth: { enabled: true } },
  });
  assert.deepEqual(defaultCatalog.render(noUi).find((s) => s.key === 'ssoProxy')!.objects, []);
});

test('kubernetes-auth: the webhook kubeconfig points at the cluster TokenReview endpoint', () => {
  const c = cluster();
  c.status = { endpoint: 'https://127.0.0.1:6443/clusters/demo' };
  const cm = defaultCatalog.render(c).find((s) => s.key === 'kubernetesAuth')!.objects[0]!;
  const kubeconfig = parse(cm.data['token-webhook.kubeconfig'] as string) as {
    clusters: { cluster: { server: string } }[];
  };
  assert.equal(
    kubeconfig.clusters[0]!.cluster.server,
    'https://127.0.0.1:6443/clusters/demo/apis/authentication.k8s.io/v1/tokenreviews',
  );
  assert.match(cm.data['apiserver-flags'], /--authentication-token-webhook-config-file=/);
});

test('versions: pinned upstream images, named only in versions.ts', async () => {
  for (const key of managedServiceKeys)
    for (const r of serviceReleases[key])
      for (const comp of r.components) {
        assert.match(comp.image, /^[a-z0-9.-]+\.[a-z]+\/[\w./-]+:[\w.-]+$/, comp.image);
        assert.doesNotMatch(comp.image, /:latest$/);
      }
  for (const file of await readdir(join(here, 'services'))) {
    const src = await readFile(join(here, 'services', file), 'utf8');
    assert.doesNotMatch(src, /image: ['`"]/, `${file} names an image itself`);
    assert.doesNotMatch(src, /(docker\.io|quay\.io|registry\.k8s\.io|cr\.fluentbit\.io|ghcr\.io)\//, file);
  }
});
