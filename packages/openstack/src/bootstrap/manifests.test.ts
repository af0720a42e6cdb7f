// The add-on objects the init node applies, against kubernetes-models (upstream's OpenAPI schemas
// compiled) plus the API server's unknown-field check, and every pod we own against Pod Security.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments, parse } from 'yaml';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { CSIDriver } from 'kubernetes-models/storage.k8s.io/v1/CSIDriver';
import { StorageClass } from 'kubernetes-models/storage.k8s.io/v1/StorageClass';
import { checkPod } from '@kaas/apiserver';
import { definitionName, models, type FieldType } from '@kaas/apiserver/models';
import { addonManifests, podSecurityExceptions, type KubeObject } from './manifests.ts';
import { checkCalicoObject } from './calicoSchema.ts';
import { renderNodeUserData, type WriteFile } from './userData.ts';
import { addonFiles } from './script.ts';
import { cloudClusterName } from './cloudNames.ts';
import { componentVersions, kubernetesReleases } from './versions.ts';
import { testCluster, type TestCluster } from './testing.ts';

const classes: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ServiceAccount': ServiceAccount,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/Deployment': Deployment,
  'storage.k8s.io/v1/CSIDriver': CSIDriver,
  'storage.k8s.io/v1/StorageClass': StorageClass,
};

const key = (o: { apiVersion: string; kind: string }) => `${o.apiVersion}/${o.kind}`;

/**
 * Fields the kind does not declare, found by walking the object along upstream's field lists (the
 * API server's model index): kubernetes-models' validate() lets unknown fields through.
 */
function unknownFields(value: unknown, type: FieldType, path: string): string[] {
  if (value === null || typeof value !== 'object') return [];
  if (type.t === 'array' && Array.isArray(value))
    return value.flatMap((v, i) => unknownFields(v, type.items, `${path}[${i}]`));
  if (type.t === 'map')
    return Object.entries(value).flatMap(([k, v]) => unknownFields(v, type.values, `${path}.${k}`));
  if (type.t !== 'ref') return [];
  const model = models().model(type.model);
  if (!model) return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const field = model.fields.get(k);
    return field ? unknownFields(v, field, path ? `${path}.${k}` : k) : [path ? `${path}.${k}` : k];
  });
}

/** kubernetes-models validate() and, because it allows unknown fields, the unknown-field walk. */
function problemsOf(obj: KubeObject): string[] {
  const Model = classes[key(obj)];
  if (!Model) return [`no kubernetes-models class for ${key(obj)}`];
  const problems: string[] = [];
  try {
    new Model(structuredClone(obj)).validate();
  } catch (err) {
    problems.push(`kubernetes-models: ${(err as Error).message}`);
  }
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const model = models().modelByDefinition(definitionName(group!, version!, obj.kind));
  if (!model) return [...problems, `no upstream model for ${key(obj)}`];
  for (const field of unknownFields(obj, { t: 'ref', model: model.name }, ''))
    problems.push(`unknown field ${field}`);
  return problems;
}

const workloads = (objs: KubeObject[]) =>
  objs.filter((o): o is any => o.kind === 'DaemonSet' || o.kind === 'Deployment');

describe('add-on manifests', () => {
  let c: TestCluster;
  let all: KubeObject[];
  before(async () => {
    c = await testCluster();
    const m = addonManifests(c.init);
    all = [...m.cloudControllerManager, ...m.cinderCsi];
  });

  it('every object passes kubernetes-models validate() and has no unknown field', () => {
    assert.ok(all.length >= 18);
    for (const obj of all) assert.deepEqual(problemsOf(obj), [], `${obj.kind}/${obj.metadata?.name}`);
  });

  it('the checks catch a typo and a wrong type (they can fail)', () => {
    const ds = structuredClone(all.find((o) => o.kind === 'DaemonSet')!) as any;
    ds.spec.template.spec.hostNetwrok = true;
    ds.spec.template.spec.containers[0].securityContext = { runAsNonRooot: true };
    const problems = problemsOf(ds).join('\n');
    assert.match(problems, /unknown field spec\.template\.spec\.hostNetwrok/);
    assert.match(
      problems,
      /unknown field spec\.template\.spec\.containers\[0\]\.securityContext\.runAsNonRooot/,
    );
    const sc = structuredClone(all.find((o) => o.kind === 'StorageClass')!) as any;
    sc.allowVolumeExpansion = 'yes';
    assert.match(problemsOf(sc).join('\n'), /kubernetes-models: .*allowVolumeExpansion must be boolean/);
  });

  it('every pod we own passes Pod Security "restricted" except the listed exceptions, which break exactly the listed rules', () => {
    const seen: string[] = [];
    for (const w of workloads(all)) {
      const name = `${w.kind}/${w.metadata.name}`;
      seen.push(name);
      const violations = checkPod('restricted', w.spec.template.metadata, w.spec.template.spec).map(
        (v) => v.id,
      );
      const exception = podSecurityExceptions[name];
      if (!exception) assert.deepEqual(violations, [], `${name} must pass restricted`);
      else assert.deepEqual(violations.sort(), [...exception.rules].sort(), `${name}: ${exception.reason}`);
    }
    assert.deepEqual(seen.sort(), [
      'DaemonSet/csi-cinder-nodeplugin',
      'DaemonSet/openstack-cloud-controller-manager',
      'Deployment/csi-cinder-controllerplugin',
    ]);
    for (const name of Object.keys(podSecurityExceptions))
      assert.ok(seen.includes(name), `stale exception ${name}`);
  });

  it("the CCM and cinder CSI name the cluster by its uid (destroy's sweep finds their objects by it)", () => {
    const args = workloads(all).flatMap((w) =>
      (w.spec.template.spec.containers as { args?: string[] }[]).flatMap((x) => x.args ?? []),
    );
    const name = cloudClusterName(c.init.clusterUid);
    assert.equal(name, `kaas-${c.init.clusterUid}`);
    assert.ok(args.includes(`--cluster-name=${name}`), args.join(' '));
    // controller and node plugin both: the node plugin makes ephemeral volumes
    assert.equal(args.filter((a) => a === `--cluster=${name}`).length, 2, args.join(' '));
  });

  it('the CCM passes baseline but for its host network', () => {
    const ccm = workloads(all).find((w) => w.metadata.name === 'openstack-cloud-controller-manager');
    assert.deepEqual(
      checkPod('baseline', undefined, ccm.spec.template.spec).map((v) => v.id),
      ['hostNamespaces'],
    );
  });

  it('images follow the version table: the cloud provider per Kubernetes minor, sidecars pinned', async () => {
    for (const r of kubernetesReleases) {
      const cluster = await testCluster(`${r.minor}.0`);
      const images = workloads([
        ...addonManifests(cluster.init).cloudControllerManager,
        ...addonManifests(cluster.init).cinderCsi,
      ]).flatMap((w) => w.spec.template.spec.containers.map((ct: any) => ct.image as string));
      assert.ok(
        images.includes(
          `registry.k8s.io/provider-os/openstack-cloud-controller-manager:${r.cloudProviderOpenStack}`,
        ),
      );
      assert.ok(images.includes(`registry.k8s.io/provider-os/cinder-csi-plugin:${r.cloudProviderOpenStack}`));
      for (const image of images)
        assert.match(image, /:v[0-9]+\.[0-9]+\.[0-9]+$/, `${image} has a pinned tag`);
    }
    assert.equal(componentVersions.cloudProviderOpenStack['1.33'], 'v1.33.1');
  });

  it('one default StorageClass on the cinder CSI driver', () => {
    const classes = all.filter((o) => o.kind === 'StorageClass') as any[];
    assert.equal(classes.length, 1);
    assert.equal(classes[0].metadata.annotations['storageclass.kubernetes.io/is-default-class'], 'true');
    assert.equal(classes[0].provisioner, 'cinder.csi.openstack.org');
    assert.ok(all.some((o) => o.kind === 'CSIDriver' && o.metadata?.name === 'cinder.csi.openstack.org'));
  });

  it('RBAC binds only roles and service accounts that exist', () => {
    const roles = new Set(all.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata!.name));
    const accounts = new Set(all.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata!.name));
    for (const b of all.filter((o) => o.kind === 'ClusterRoleBinding') as any[]) {
      assert.ok(roles.has(b.roleRef.name), `${b.metadata.name} -> ${b.roleRef.name}`);
      for (const s of b.subjects) assert.ok(accounts.has(s.name), `${b.metadata.name} -> ${s.name}`);
    }
    for (const w of workloads(all)) assert.ok(accounts.has(w.spec.template.spec.serviceAccountName));
  });

  it('the Calico operator resources conform to the operator v1 types, and a typo does not', () => {
    const { calico } = addonManifests(c.init);
    assert.deepEqual(
      calico.map((o) => o.kind),
      ['Installation', 'APIServer'],
    );
    for (const obj of calico) assert.deepEqual(checkCalicoObject(obj), [], obj.kind);
    const typo = structuredClone(calico[0]) as any;
    typo.spec.calicoNetwork.ipPools[0].natOutgoin = 'Enabled';
    typo.spec.calicoNetwork.ipPools[0].encapsulation = 'VXLANCrossSubnets';
    const problems = checkCalicoObject(typo).join('\n');
    assert.match(problems, /Installation: spec\.calicoNetwork\.ipPools\.0: Unrecognized key: "natOutgoin"/);
    assert.match(problems, /Installation: spec\.calicoNetwork\.ipPools\.0\.encapsulation: /);
  });

  it('Calico gets one IPv4 pool over the pod CIDR', () => {
    const [installation] = addonManifests({ ...c.init, podCIDR: '192.168.0.0/16' }).calico;
    assert.equal(installation!.kind, 'Installation');
    assert.deepEqual(
      (installation!.spec as any).calicoNetwork.ipPools.map((p: any) => p.cidr),
      ['192.168.0.0/16'],
    );
  });

  it('the user data carries exactly these objects, as YAML streams', () => {
    const files = (parse(renderNodeUserData(c.init)) as { write_files: WriteFile[] }).write_files;
    const m = addonManifests(c.init);
    const stream = (path: string) =>
      parseAllDocuments(files.find((f) => f.path === path)!.content).map((d) => d.toJS());
    assert.deepEqual(stream(addonFiles.cloudControllerManager), m.cloudControllerManager);
    assert.deepEqual(stream(addonFiles.cinderCsi), m.cinderCsi);
    assert.deepEqual(stream(addonFiles.calico), m.calico);
  });
});
