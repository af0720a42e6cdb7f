import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceRegistry } from '../registry/registry.ts';
import { aggregatedContentType, buildDiscovery, storageVersionHash } from './index.ts';

function crontabCRD(): Record<string, any> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'crontabs.stable.example.com' },
    spec: {
      group: 'stable.example.com',
      scope: 'Namespaced',
      names: { plural: 'crontabs', singular: 'crontab', kind: 'CronTab', shortNames: ['ct'] },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { cronSpec: { type: 'string', description: 'when' } } },
              },
            },
          },
          subresources: { status: {} },
        },
      ],
    },
  };
}

test('/api and /apis', () => {
  const d = buildDiscovery(new ResourceRegistry(), { serverAddress: '10.0.0.1:6443' });
  assert.deepEqual(d.apiVersions(), {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '10.0.0.1:6443' }],
  });
  const list = d.apiGroupList() as any;
  assert.equal(list.kind, 'APIGroupList');
  assert.equal(list.groups[0].name, 'apps', 'upstream order starts with apps');
  const autoscaling = list.groups.find((g: any) => g.name === 'autoscaling');
  assert.deepEqual(autoscaling, {
    name: 'autoscaling',
    versions: [{ groupVersion: 'autoscaling/v2', version: 'v2' }],
    preferredVersion: { groupVersion: 'autoscaling/v2', version: 'v2' },
  });
  assert.equal(
    list.groups.some((g: any) => g.name === ''),
    false,
  );
  assert.deepEqual(d.apiGroup('apps'), {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: 'apps',
    versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
    preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
  });
  assert.equal(d.apiGroup('nope.io'), undefined);
});

test('/apis/apps/v1 resource list with subresources', () => {
  const d = buildDiscovery(new ResourceRegistry());
  const rl = d.resourceList('apps', 'v1') as any;
  assert.equal(rl.groupVersion, 'apps/v1');
  const byName = new Map<string, any>(rl.resources.map((r: any) => [r.name, r]));
  assert.deepEqual(byName.get('deployments'), {
    name: 'deployments',
    singularName: 'deployment',
    namespaced: true,
    kind: 'Deployment',
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['deploy'],
    categories: ['all'],
    storageVersionHash: '8aSe+NMegvE=',
  });
  assert.deepEqual(byName.get('deployments/scale'), {
    name: 'deployments/scale',
    singularName: '',
    namespaced: true,
    group: 'autoscaling',
    version: 'v1',
    kind: 'Scale',
    verbs: ['get', 'patch', 'update'],
  });
  assert.equal(byName.get('deployments/status').kind, 'Deployment');
  const core = d.resourceList('', 'v1') as any;
  assert.equal(core.apiVersion, undefined, '/api/v1 carries no apiVersion');
  assert.ok(core.resources.some((r: any) => r.name === 'namespaces/finalize'));
  assert.equal(d.resourceList('apps', 'v2'), undefined);
});

test('aggregated discovery v2 and v2beta1', () => {
  const d = buildDiscovery(new ResourceRegistry());
  for (const v of ['v2', 'v2beta1'] as const) {
    const core = d.aggregatedCore(v) as any;
    assert.equal(core.kind, 'APIGroupDiscoveryList');
    assert.equal(core.apiVersion, `apidiscovery.k8s.io/${v}`);
    assert.equal(core.items.length, 1);
    const pods = core.items[0].versions[0].resources.find((r: any) => r.resource === 'pods');
    assert.deepEqual(pods.responseKind, { group: '', version: 'v1', kind: 'Pod' });
    assert.equal(pods.scope, 'Namespaced');
    assert.equal(pods.singularResource, 'pod');
    assert.deepEqual(pods.subresources, [
      {
        subresource: 'status',
        responseKind: { group: '', version: 'v1', kind: 'Pod' },
        verbs: ['get', 'patch', 'update'],
      },
    ]);
    assert.equal(core.items[0].versions[0].freshness, 'Current');
  }
  const groups = d.aggregatedGroups('v2') as any;
  const apps = groups.items.find((i: any) => i.metadata.name === 'apps');
  const deploy = apps.versions[0].resources.find((r: any) => r.resource === 'deployments');
  assert.deepEqual(deploy.subresources[1], {
    subresource: 'scale',
    responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    verbs: ['get', 'patch', 'update'],
  });
  assert.equal(deploy.scope, 'Namespaced');
  assert.deepEqual(deploy.categories, ['all']);
  const ns = (d.aggregatedCore('v2') as any).items[0].versions[0].resources.find(
    (r: any) => r.resource === 'namespaces',
  );
  assert.equal(ns.scope, 'Cluster');
  assert.equal(
    aggregatedContentType('v2'),
    'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
  );
});

test("storageVersionHash is upstream's", () => {
  assert.equal(storageVersionHash('apps', 'v1', 'Deployment'), '8aSe+NMegvE=');
});

test('OpenAPI v3: what kubectl checks before sending fieldValidation=Strict', () => {
  const reg = new ResourceRegistry();
  reg.addCRD(crontabCRD());
  const d = buildDiscovery(reg);
  const index = d.openapiV3Index() as { paths: Record<string, { serverRelativeURL: string }> };
  assert.match(
    index.paths['apis/apps/v1']!.serverRelativeURL,
    /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/,
  );
  assert.ok(index.paths['api/v1']);
  assert.ok(index.paths['apis/stable.example.com/v1']);

  // cli-runtime's supportsQueryParamV3: every PATCH operation of a GVK must list the query parameter.
  for (const r of reg.all()) {
    if (!r.verbs.includes('patch')) continue;
    const path = r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
    const doc = d.openapiV3(path) as any;
    const patches = Object.values(doc.paths)
      .map((item: any) => item.patch)
      .filter(
        (p: any) =>
          p &&
          p['x-kubernetes-group-version-kind'].kind === r.kind &&
          p['x-kubernetes-group-version-kind'].group === r.group,
      );
    assert.ok(patches.length > 0, `no PATCH for ${r.kind}`);
    for (const p of patches) {
      assert.ok(
        p.parameters.some((x: any) => x.name === 'fieldValidation' && x.in === 'query'),
        `${r.kind} PATCH lacks fieldValidation`,
      );
      assert.deepEqual(Object.keys(p['x-kubernetes-group-version-kind']).sort(), [
        'group',
        'kind',
        'version',
      ]);
    }
  }
  // Built-ins do not claim strategic merge patch from our (strategy-less) schemas; CRDs never do.
  const apps = d.openapiV3('apis/apps/v1') as any;
  const patch = apps.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
  assert.equal(patch.requestBody.content['application/strategic-merge-patch+json'], undefined);
  assert.ok(patch.requestBody.content['application/merge-patch+json']);
  const scale = apps.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'].patch;
  assert.deepEqual(scale['x-kubernetes-group-version-kind'], {
    group: 'autoscaling',
    kind: 'Scale',
    version: 'v1',
  });
});

test('OpenAPI v3: schemas kubectl explain can walk', () => {
  const reg = new ResourceRegistry();
  reg.addCRD(crontabCRD());
  const d = buildDiscovery(reg);
  const apps = d.openapiV3('/apis/apps/v1/') as any;
  const dep = apps.components.schemas['io.k8s.api.apps.v1.Deployment'];
  assert.deepEqual(dep['x-kubernetes-group-version-kind'], [
    { group: 'apps', kind: 'Deployment', version: 'v1' },
  ]);
  assert.match(dep.description, /declarative updates for Pods/);
  assert.deepEqual(dep.properties.spec.allOf, [
    { $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec' },
  ]);
  const spec = apps.components.schemas['io.k8s.api.apps.v1.DeploymentSpec'];
  assert.deepEqual(spec.required, ['selector', 'template']);
  assert.deepEqual(spec.properties.replicas.type, 'integer');
  assert.ok(apps.components.schemas['io.k8s.api.core.v1.PodSpec'], 'referenced types are included');
  assert.ok(apps.components.schemas['io.k8s.api.autoscaling.v1.Scale'], 'scale subresource type is included');
  for (const path of Object.keys((d.openapiV3Index() as any).paths)) {
    const doc = d.openapiV3(path) as any;
    for (const ref of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      assert.ok(doc.components.schemas[ref[1]!], `${path} references missing ${ref[1]}`);
    }
  }
  // No type on IntOrString in v3, so explain prints <IntOrString> as upstream does.
  const ios = apps.components.schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString'];
  assert.equal(ios.type, undefined);
  assert.deepEqual(ios.oneOf, [{ type: 'integer' }, { type: 'string' }]);
  const op = apps.paths['/apis/apps/v1/namespaces/{namespace}/deployments'].get;
  assert.deepEqual(op['x-kubernetes-group-version-kind'], {
    group: 'apps',
    kind: 'Deployment',
    version: 'v1',
  });

  const ct = d.openapiV3('apis/stable.example.com/v1') as any;
  const schema = ct.components.schemas['com.example.stable.v1.CronTab'];
  assert.deepEqual(schema['x-kubernetes-group-version-kind'], [
    { group: 'stable.example.com', kind: 'CronTab', version: 'v1' },
  ]);
  assert.equal(schema.properties.spec.properties.cronSpec.description, 'when');
  assert.ok(ct.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']);
  const ctPatch = ct.paths['/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}'].patch;
  assert.deepEqual(Object.keys(ctPatch.requestBody.content).sort(), [
    'application/apply-patch+yaml',
    'application/json-patch+json',
    'application/merge-patch+json',
  ]);
  assert.equal(d.openapiV3('apis/nope/v1'), undefined);
});

test('documents are cached until the registry changes', () => {
  const reg = new ResourceRegistry();
  const d = buildDiscovery(reg);
  const groups = d.apiGroupList();
  const index = d.openapiV3Index();
  assert.equal(d.apiGroupList(), groups, 'same object while unchanged');
  assert.equal(d.json(groups), JSON.stringify(groups));
  assert.match(d.etag(groups), /^"[0-9a-f]{32}"$/);
  const appsHash = (index as any).paths['apis/apps/v1'].serverRelativeURL;
  reg.addCRD(crontabCRD());
  const groups2 = d.apiGroupList() as any;
  assert.notEqual(groups2, groups);
  assert.ok(groups2.groups.some((g: any) => g.name === 'stable.example.com'));
  const index2 = d.openapiV3Index() as any;
  assert.equal(
    index2.paths['apis/apps/v1'].serverRelativeURL,
    appsHash,
    'unchanged group versions keep their hash',
  );
  assert.ok(index2.paths['apis/stable.example.com/v1']);
  reg.removeCRD('crontabs.stable.example.com');
  assert.equal(d.apiGroup('stable.example.com'), undefined);
});

test('OpenAPI v2 and /version', () => {
  const d = buildDiscovery(new ResourceRegistry(), { kubernetesVersion: 'v1.32.3' });
  const v2 = d.openapiV2() as any;
  assert.equal(v2.swagger, '2.0');
  const dep = v2.definitions['io.k8s.api.apps.v1.Deployment'];
  assert.equal(dep.properties.spec.$ref, '#/definitions/io.k8s.api.apps.v1.DeploymentSpec');
  assert.equal(v2.definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].type, 'string');
  const patch = v2.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
  assert.ok(
    patch.parameters.some(
      (p: any) => p.name === 'fieldValidation' && p.in === 'query' && p.type === 'string',
    ),
  );
  assert.equal(patch.parameters[0].in, 'body');
  assert.deepEqual(
    {
      major: (d.version() as any).major,
      minor: (d.version() as any).minor,
      gitVersion: (d.version() as any).gitVersion,
    },
    { major: '1', minor: '32', gitVersion: 'v1.32.3' },
  );
});
