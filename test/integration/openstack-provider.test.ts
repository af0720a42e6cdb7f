// The OpenStack provider against real services (test/support/openstack.ts: the local cloud from
// Debian's packages, or OS_CLOUD): the conformance suite; a 1 + 2 cluster deployed, every object
// seen through neutron, nova, octavia, designate and cinder with its tags, a node replaced,
// destroyed to 0 tagged objects; faults (octavia-api stopped mid-deploy, a quota exhausted, a
// revoked application credential); kaasctl server with --openstack-cloud killed -9 mid-deploy and
// mid-destroy, leaking nothing. One lease for all of it. On the local cloud the tests run in
// projects of their own (quotas are per project), made and removed here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withDefaults, type Cluster } from '@kaas/api';
import { KeystoneAdmin, type CloudConfig } from '@kaas/auth';
import {
  CloudError,
  MemoryLedger,
  deploy,
  destroy,
  ownershipTags,
  tagKeys,
  type ResourceGraph,
} from '@kaas/providers';
import { runProviderConformance } from '@kaas/providers/conformance';
import { OpenStack, Session } from '@kaas/openstack';
import {
  OpenStackProvider,
  ccmFloatingIpDescription,
  ccmLoadBalancerName,
  cloudClusterName,
  csiClusterKey,
  encodeTags,
  tagsFromText,
  type OpenStackProviderOptions,
} from '@kaas/openstack/provider';
import { addClusterController, type WorkloadApi } from '@kaas/clusters';
import { installCRDs } from '@kaas/clusters/testing';
import { Manager } from '@kaas/controllers';
import { LocalCloud } from '@kaas/providers/local';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { openStackForTests, type OpenStackForTests } from '../support/openstack.ts';
import { startKaasServer, type KaasServer } from '../support/kaasctl.ts';
import { kubectl, startTestServer } from '../support/apiserver.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const RUN = `kaas-p-${randomBytes(3).toString('hex')}`;
const ZONE = `${RUN}.example.`;
const TIMEOUTS = { timeoutMs: 90_000 }; // per request: nova-api answers slowly on a loaded machine

let os: OpenStackForTests;
let admin: OpenStack;
let member: OpenStack;
/** A second project: its quota is lowered while the others deploy. */
let quotaMember: OpenStack;
let memberCloud: CloudConfig;
const cleanups: (() => Promise<void>)[] = [];
const clusters: string[] = [];

function osCluster(
  name: string,
  cp: number,
  workers: number,
  settings: Record<string, unknown> = {},
): Cluster {
  const c = withDefaults({
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name, namespace: 'default' },
    spec: {
      provider: {
        type: 'openstack',
        openstack: {
          region: os.admin.region ?? 'RegionOne',
          externalNetwork: os.fixtures.externalNetwork,
          image: os.fixtures.image,
          flavors: { controlPlane: os.fixtures.flavor, workers: os.fixtures.flavor },
          dnsZone: ZONE,
          ...settings,
        },
      },
      controlPlane: { replicas: cp },
      nodePools: [{ name: 'workers', replicas: workers, diskGiB: 10 }],
      auth: { clusterAdminRoleIds: ['admin'] },
      credentialsRef: { name: 'os' },
    },
  } as never);
  c.metadata.uid = randomUUID();
  clusters.push(c.metadata.uid);
  return c;
}

const providerOptions: Omit<OpenStackProviderOptions, 'os' | 'settings' | 'cluster'> = {
  waitTimeoutMs: 300_000,
  pollMs: 300,
};

function sub(graph: ResourceGraph, ids: string[]): ResourceGraph {
  return { ...graph, nodes: graph.nodes.filter((n) => ids.includes(n.id)) };
}

/** Every object carrying the cluster's tag, counted per service straight from its API. */
async function countTagged(osx: OpenStack, uid: string): Promise<Record<string, number>> {
  const q = { tags: encodeTags(ownershipTags(uid)).join(',') };
  const n = osx.neutron;
  const rs: number[] = [];
  for (const z of await osx.designate.listZones())
    for (const r of await osx.designate.listRecordsets(z.id, { type: 'A' }))
      if (tagsFromText(r.description)[tagKeys.clusterUid] === uid) rs.push(1);
  return {
    networks: (await n.listNetworks(q)).length,
    subnets: (await n.listSubnets(q)).length,
    routers: (await n.listRouters(q)).length,
    securityGroups: (await n.listSecurityGroups(q)).length,
    floatingIps: (await n.listFloatingIps(q)).length,
    servers: (await osx.nova.listServers(q)).length,
    serverGroups: (await osx.nova.listServerGroups()).filter((g) => g.name.includes(uid)).length,
    loadBalancers: (await osx.octavia.listLoadBalancers(q)).filter((l) => l.provisioning_status !== 'DELETED')
      .length,
    records: rs.length,
    volumes: (await osx.cinder.listVolumesByMetadata(ownershipTags(uid))).length,
  };
}

const total = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0);

function sh(script: string, timeoutMs = 300_000): Promise<string> {
  return new Promise((res, rej) =>
    execFile('bash', ['-c', script], { cwd: ROOT, timeout: timeoutMs }, (err, stdout, stderr) =>
      err ? rej(new Error(`${script}: ${err.message}\n${stderr}`)) : res(stdout),
    ),
  );
}
const octaviaApi = (fn: string): Promise<string> =>
  sh(`KAAS_OPENSTACK_SERVICES=octavia; . scripts/openstack/services.sh; ${fn}`);

async function projectCloud(ks: KeystoneAdmin, suffix: string): Promise<CloudConfig> {
  const project = await ks.createProject({ name: `${RUN}-${suffix}`, description: 'kaas provider tests' });
  const password = randomBytes(12).toString('hex');
  const user = await ks.createUser({ name: `${RUN}-${suffix}`, password, defaultProjectId: project.id });
  for (const role of ['member', 'load-balancer_member']) {
    const r = await ks.findRole(role);
    if (r) await ks.assignRole({ projectId: project.id, userId: user.id, roleId: r.id });
  }
  cleanups.push(async () => {
    await ks.deleteUser(user.id).catch(() => undefined);
    await ks.deleteProject(project.id).catch(() => undefined);
  });
  return {
    ...os.member,
    credentials: { type: 'password', user: { id: user.id }, password },
    scope: { project: { id: project.id } },
  };
}

before(async () => {
  os = await openStackForTests(['glance', 'placement', 'neutron', 'nova', 'octavia', 'designate', 'cinder']);
  admin = OpenStack.fromCloud(os.admin, TIMEOUTS);
  if (os.source === 'local') {
    await admin.nova.ensureFlavor({
      name: os.fixtures.flavor,
      id: os.fixtures.flavor,
      vcpus: 1,
      ramMb: 512,
      diskGb: 1,
    });
    await admin.glance.ensureImage({
      name: os.fixtures.image,
      visibility: 'public',
      data: new Uint8Array(1024 * 1024),
    });
    const ext = await admin.neutron.ensureNetwork({
      name: os.fixtures.externalNetwork,
      external: true,
      shared: false,
      provider: { networkType: 'flat', physicalNetwork: 'public' },
    });
    await admin.neutron.ensureSubnet({
      name: `${os.fixtures.externalNetwork}-subnet`,
      networkId: ext.id,
      cidr: '203.0.113.0/24',
      enableDhcp: false,
    });
    const ks = new KeystoneAdmin(admin.session.keystone, async () => (await admin.session.token()).token);
    memberCloud = await projectCloud(ks, 'a');
    quotaMember = OpenStack.fromCloud(await projectCloud(ks, 'q'), TIMEOUTS);
  } else {
    memberCloud = os.member;
    quotaMember = OpenStack.fromCloud(os.member, TIMEOUTS);
  }
  member = OpenStack.fromCloud(memberCloud, TIMEOUTS);
  const zone = await member.designate.ensureZone({ name: ZONE, email: 'ops@example.org', ttl: 300 });
  cleanups.unshift(async () => member.designate.deleteZone(zone.id).catch(() => undefined));
});

after(async () => {
  // whatever a failed test left, by the clusters' tags
  for (const [osx, uids] of [[member, clusters] as const, [quotaMember, clusters] as const]) {
    if (!osx) continue;
    const p = new OpenStackProvider({ os: osx, ...providerOptions });
    for (const uid of uids) await destroy(new MemoryLedger(), p, { clusterUid: uid }).catch(() => undefined);
  }
  for (const c of cleanups) await c();
  await member?.close();
  await quotaMember?.close();
  await admin?.close();
  await os?.release();
});

describe('the OpenStack provider on real services', () => {
  runProviderConformance('openstack', async () => {
    const cluster = osCluster('conf', 1, 1);
    // small: no root volumes, no control plane floating IP (the suite creates nodes one by one)
    const provider = OpenStackProvider.forCluster(member, cluster, {
      ...providerOptions,
      rootVolumes: false,
      controlPlaneFloatingIps: false,
    });
    return { provider, cluster };
  });

  test('preconfigure names every missing piece in one report', async () => {
    const c = osCluster('missing', 1, 1, {
      image: `${RUN}-no-image`,
      flavors: { controlPlane: `${RUN}-no-flavor`, workers: os.fixtures.flavor },
      externalNetwork: `${RUN}-no-net`,
      dnsZone: `${RUN}-nozone.example.`,
    });
    // the server's flags for the nodes (kaasctl server's serverFlagProblems) join the cloud's
    const flags = '--kaas-url https://127.0.0.1:6443 is loopback: restart the server with --kaas-url';
    const p = OpenStackProvider.forCluster(member, c, { ...providerOptions, bootstrapCheck: () => [flags] });
    const report = await p.preconfigure(p.plan(c));
    assert.equal(report.ok, false);
    const text = report.problems.map((x) => x.message).join('\n');
    for (const piece of [
      flags,
      `${RUN}-no-image`,
      `${RUN}-no-flavor`,
      `${RUN}-no-net`,
      `${RUN}-nozone.example.`,
    ])
      assert.ok(text.includes(piece), `${piece} in:\n${text}`);
    assert.ok(
      report.problems.every((x) => x.code === 'InvalidSpec'),
      text,
    );
    assert.equal(report.requested.instances, 2);
  });

  test('1 control plane + 2 workers: deployed, seen in every service with its tags, a node replaced, destroyed to 0', async () => {
    const c = osCluster('journey', 1, 2);
    const uid = c.metadata.uid!;
    const p = OpenStackProvider.forCluster(member, c, providerOptions);
    const graph = p.plan(c);
    const report = await p.preconfigure(graph);
    assert.ok(report.ok, report.problems.map((x) => x.message).join('; '));
    const ledger = new MemoryLedger();
    const r = await deploy(graph, p, ledger, { callTimeoutMs: 600_000 });
    assert.ok(r.ok, r.failures.map((f) => `${f.id}: ${f.error.message}`).join('; '));
    assert.equal(ledger.entries.length, graph.nodes.length);

    const q = { tags: encodeTags(ownershipTags(uid)).join(',') };
    // neutron
    const [net] = await member.neutron.listNetworks(q);
    assert.ok(net);
    const [router] = await member.neutron.listRouters(q);
    assert.equal(router?.external_gateway_info?.network_id, (await p.externalNetwork()).id);
    const groups = await member.neutron.listSecurityGroups(q);
    assert.equal(groups.length, 2);
    const cpGroup = groups.find((g) => g.name.endsWith('-control-plane'))!;
    const ingress = (g: typeof cpGroup): string[] =>
      g.security_group_rules
        .filter((x) => x.direction === 'ingress')
        .map(
          (x) =>
            `${x.protocol}:${x.port_range_min ?? ''}-${x.port_range_max ?? ''}:${x.remote_group_id ? 'self' : (x.remote_ip_prefix ?? 'any')}`,
        )
        .sort();
    assert.deepEqual(ingress(cpGroup), [
      'icmp:-:10.0.0.0/16',
      `tcp:10250-10250:10.0.0.0/16`,
      'tcp:179-179:10.0.0.0/16',
      'tcp:2379-2380:self',
      'tcp:6443-6443:any',
      'udp:4789-4789:10.0.0.0/16',
    ]);
    const fips = await member.neutron.listFloatingIps(q);
    assert.equal(fips.length, 2, 'the API and the control plane node');
    // nova
    const servers = await member.nova.listServers(q);
    assert.equal(servers.length, 3);
    assert.ok(servers.every((s) => s.status === 'ACTIVE'));
    const cp = servers.find((s) => s.metadata['kaas.dev:role'] === 'controlPlane')!;
    assert.ok(cp, 'the control plane server carries its role in metadata');
    const cpGroupNova = (await member.nova.listServerGroups()).find(
      (g) => g.name.includes(uid) && g.name.includes('serverGroup/control-plane'),
    );
    assert.equal(cpGroupNova?.policy, 'anti-affinity');
    assert.deepEqual(cpGroupNova?.members, [cp.id]);
    // octavia: the API load balancer, its 6443 listener, the control plane as its member
    const [lb] = await member.octavia.listLoadBalancers(q);
    assert.equal(lb?.provisioning_status, 'ACTIVE');
    const listeners = await member.octavia.listListeners({ loadbalancer_id: lb.id });
    assert.deepEqual(
      listeners.map((l) => l.protocol_port),
      [6443],
    );
    const [pool] = await member.octavia.listPools({ loadbalancer_id: lb.id });
    const cpIp = r.resources['server/control-plane-0']!.outputs as { ip: string };
    assert.deepEqual(
      (await member.octavia.listMembers(pool!.id)).map((m) => m.address),
      [cpIp.ip],
    );
    // designate: a record per node and the API's, on the API floating IP
    const zone = (await member.designate.findZone(ZONE))!;
    const records = (await member.designate.listRecordsets(zone.id, { type: 'A' })).filter(
      (x) => tagsFromText(x.description)[tagKeys.clusterUid] === uid,
    );
    assert.equal(records.length, 4);
    const apiFip = r.resources['floatingIp/api']!.outputs as { address: string };
    assert.deepEqual(records.find((x) => x.name.startsWith('api.'))?.records, [apiFip.address]);
    // cinder: a root volume per server, in use
    const volumes = await member.cinder.listVolumesByMetadata(ownershipTags(uid));
    assert.equal(volumes.length, 3);
    assert.ok(
      volumes.every((v) => v.status === 'in-use'),
      volumes.map((v) => v.status).join(),
    );
    const counted = await countTagged(member, uid);
    assert.equal(total(counted), graph.nodes.length, JSON.stringify(counted));
    assert.equal((await p.findByTags(ownershipTags(uid))).length, graph.nodes.length);

    // replace the control plane node: its server, floating IP and record go, a deploy makes them
    const replaced = ['dnsRecord/control-plane-0', 'floatingIp/control-plane-0', 'server/control-plane-0'];
    for (const id of replaced) {
      const res = r.resources[id]!;
      await p.delete(res.type, res.cloudId);
    }
    const r2 = await deploy(graph, p, ledger, { callTimeoutMs: 600_000 });
    assert.ok(r2.ok, r2.failures.map((f) => `${f.id}: ${f.error.message}`).join('; '));
    assert.deepEqual([...r2.created].sort(), [...replaced].sort());
    const newCp = r2.resources['server/control-plane-0']!;
    assert.notEqual(newCp.cloudId, cp.id);
    assert.deepEqual(
      (await member.octavia.listMembers(pool!.id)).map((m) => m.address),
      [(newCp.outputs as { ip: string }).ip],
      'the old member left with its server',
    );
    assert.equal(total(await countTagged(member, uid)), graph.nodes.length, 'nothing doubled');

    const d = await destroy(ledger, p, { clusterUid: uid, callTimeoutMs: 600_000 });
    assert.ok(d.ok, d.failures.map((f) => `${f.id}: ${f.error.message}`).join('; '));
    assert.deepEqual(d.remaining, []);
    const left = await countTagged(member, uid);
    assert.equal(total(left), 0, JSON.stringify(left));
  });

  test('a revoked application credential is AuthFailed, in the preflight report and on ensure', async () => {
    const tok = await member.session.token();
    const ks = new KeystoneAdmin(member.session.keystone, async () => tok.token);
    const ac = await ks.createApplicationCredential(tok.token, tok.user.id, { name: `${RUN}-ac` });
    const viaAc = (): OpenStack =>
      new OpenStack(
        new Session({
          authUrl: memberCloud.authUrl,
          credentials: { type: 'application_credential', id: ac.id, secret: ac.secret },
          ...TIMEOUTS,
        }),
      );
    const c = osCluster('revoked', 1, 1);
    const before = viaAc();
    const okReport = await OpenStackProvider.forCluster(before, c, providerOptions).preconfigure(
      OpenStackProvider.forCluster(before, c).plan(c),
    );
    await before.close();
    assert.ok(okReport.ok, okReport.problems.map((x) => x.message).join('; '));
    await ks.deleteApplicationCredential(tok.token, tok.user.id, ac.id);
    const afterRevoke = viaAc();
    try {
      const p = OpenStackProvider.forCluster(afterRevoke, c, providerOptions);
      const graph = p.plan(c);
      const report = await p.preconfigure(graph);
      assert.equal(report.ok, false);
      assert.equal(report.problems[0]?.code, 'AuthFailed', report.problems[0]?.message);
      const network = graph.nodes.find((n) => n.type === 'network')!;
      await assert.rejects(
        p.ensure(network, {}, ownershipTags(c.metadata.uid!, network.id)),
        (e: unknown) => e instanceof CloudError && e.code === 'AuthFailed' && e.resource === network.id,
      );
    } finally {
      await afterRevoke.close();
    }
  });

  test('an exhausted quota is QuotaExceeded naming the quota and the resource, in the report and on create', async () => {
    const c = osCluster('quota', 1, 2, { dnsZone: 'unused.example.' });
    const uid = c.metadata.uid!;
    const p = OpenStackProvider.forCluster(quotaMember, c, { ...providerOptions, rootVolumes: false });
    const graph = sub(p.plan(c), [
      'network/nodes',
      'subnet/nodes',
      'router/main',
      'securityGroup/workers',
      'serverGroup/workers',
      // workers depend on the API load balancer (its VIP is their kubeadm join endpoint)
      'loadBalancer/api',
      'server/workers-0',
      'server/workers-1',
    ]);
    if (os.source !== 'local') return; // lowering a quota needs admin
    const projectId = await quotaMember.session.projectId();
    const before = await admin.nova.quotas(projectId);
    await admin.nova.setQuotas(projectId, { instances: before.instances!.in_use + 1 });
    try {
      const report = await p.preconfigure(graph);
      const q = report.problems.find((x) => x.code === 'QuotaExceeded');
      assert.equal(q?.quota?.quota, 'instances', JSON.stringify(report.problems));
      assert.equal(q?.quota?.shortBy, 1);
      const ledger = new MemoryLedger();
      const r = await deploy(graph, p, ledger, { callTimeoutMs: 600_000 });
      assert.equal(r.ok, false);
      const f = r.failures.find((x) => x.reason === 'QuotaExceeded');
      assert.ok(f, r.failures.map((x) => `${x.id}: ${x.reason} ${x.error.message}`).join('; '));
      assert.match(f.id, /^server\/workers-[01]$/);
      assert.match(f.error.message, /instances/i);
      assert.equal((f.error as CloudError).resource, f.id);
      const d = await destroy(ledger, p, { clusterUid: uid });
      assert.ok(d.ok, d.failures.map((x) => x.error.message).join('; '));
    } finally {
      await admin.nova.setQuotas(projectId, { instances: before.instances!.limit });
    }
    assert.equal(total(await countTagged(quotaMember, uid)), 0);
  });

  test('octavia-api stopped mid-deploy: CloudUnavailable, then the retry converges without a duplicate', async (t) => {
    const c = osCluster('octavia', 1, 1);
    const uid = c.metadata.uid!;
    const local = os.source === 'local';
    // on a cloud of yours the API cannot be stopped: the endpoint is pointed at a closed port
    const broken = local
      ? member
      : new OpenStack(
          Session.fromCloud(memberCloud, {
            ...TIMEOUTS,
            endpointOverrides: { 'load-balancer': 'http://127.0.0.1:9/v2' },
          }),
        );
    const graph = sub(OpenStackProvider.forCluster(member, c).plan(c), [
      'network/nodes',
      'subnet/nodes',
      'loadBalancer/api',
    ]);
    if (local) t.after(() => octaviaApi('launch_octavia && wait_octavia').then(() => undefined));
    const ledger = new MemoryLedger();
    let stopping: Promise<string> | undefined;
    const r = await deploy(graph, OpenStackProvider.forCluster(broken, c, providerOptions), ledger, {
      retry: { maxAttempts: 2, baseDelayMs: 200 },
      onProgress: (e) => {
        if (local && e.id === 'network/nodes' && e.phase === 'done')
          stopping ??= octaviaApi('stop_one octavia-api');
      },
    });
    await stopping;
    assert.equal(r.ok, false);
    assert.equal(r.failures[0]?.id, 'loadBalancer/api', r.failures.map((f) => f.error.message).join('; '));
    assert.equal(r.failures[0]?.reason, 'CloudUnavailable', r.failures[0]?.error.message);
    assert.ok(r.resources['subnet/nodes'], 'what does not need octavia was made');

    if (local) await octaviaApi('launch_octavia && wait_octavia');
    const p = OpenStackProvider.forCluster(member, c, providerOptions);
    const r2 = await deploy(graph, p, ledger, { callTimeoutMs: 600_000 });
    assert.ok(r2.ok, r2.failures.map((f) => `${f.id}: ${f.error.message}`).join('; '));
    assert.equal((await p.findByTags(ownershipTags(uid))).length, 3, 'one load balancer, not two');
    const d = await destroy(ledger, p, { clusterUid: uid });
    assert.ok(d.ok, d.failures.map((f) => f.error.message).join('; '));
    if (!local) await broken.close();
  });
});

/** A client certificate kubeconfig of the test server as the WorkloadApi the reconciler uses. */
async function workloadApiOf(kubeconfig: string): Promise<WorkloadApi> {
  const kc = parseYaml(await readFile(kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const d = (b: string): string => Buffer.from(b, 'base64').toString('utf8');
  return {
    url: kc.clusters[0]!.cluster.server,
    caPem: d(kc.clusters[0]!.cluster['certificate-authority-data']),
    clientCertPem: d(kc.users[0]!.user['client-certificate-data']),
    clientKeyPem: d(kc.users[0]!.user['client-key-data']),
  };
}

describe('destroy removes what the in-cluster controllers made', () => {
  test("LoadBalancer Services and PVCs deleted in-cluster before the ledger's teardown; the CCM's load balancer and floating IP and the CSI volume swept by their names; an API that does not answer is reported, not fatal", async () => {
    // the cluster controller in-process, on an API server whose logical cluster `wl` stands in for
    // the workload cluster's API (the fake compute driver boots no node that could serve one)
    const ts = await startTestServer();
    const manager = new Manager({ server: ts.server, kv: ts.kv, leaderElection: false });
    const logs: string[] = [];
    const wlKc = await ts.kubeconfigFor('wl');
    const wl = await workloadApiOf(await ts.userKubeconfig('kaas-destroy', ['system:masters'], 'wl'));
    const inClusterLeft = async (): Promise<number> => {
      const r = await kubectl(wlKc, ['get', 'services,persistentvolumeclaims', '-A', '-o', 'json']);
      assert.equal(r.code, 0, r.stderr);
      const items = (JSON.parse(r.stdout) as { items: { kind: string; spec: { type?: string } }[] }).items;
      return items.filter((x) => x.kind === 'PersistentVolumeClaim' || x.spec.type === 'LoadBalancer').length;
    };
    /** In-cluster objects left when the ledger's teardown started, per cluster. */
    const atFirstDelete = new Map<string, number>();
    /** Cloud deletes and teardowns (the per-cluster CCM credential's place), in order. */
    const order: string[] = [];
    let teardownFailures = 1;
    // only the node network: the CCM's load balancer needs a subnet, nothing here needs a server
    class Small extends OpenStackProvider {
      override plan(c: Cluster): ResourceGraph {
        const ids = c.metadata.name === 'ccm' ? ['network/nodes', 'subnet/nodes'] : ['network/nodes'];
        return sub(super.plan(c), ids);
      }
      override async delete(...a: Parameters<OpenStackProvider['delete']>): Promise<void> {
        const name = this.cluster!.metadata.name;
        if (!atFirstDelete.has(name)) atFirstDelete.set(name, name === 'ccm' ? await inClusterLeft() : -1);
        order.push(`delete ${name}`);
        return super.delete(...a);
      }
    }
    try {
      await installCRDs(ts.server);
      const cloud = await LocalCloud.open({ store: ts.kv });
      addClusterController({
        manager,
        server: ts.server,
        cloud,
        baseUrl: ts.url,
        pollMs: 200,
        log: (level, msg) => logs.push(`${level} ${msg}`),
        providers: {
          openstack: (c) =>
            new Small({
              ...providerOptions,
              os: member,
              settings: (c.spec.provider as { openstack: OpenStackProviderOptions['settings'] }).openstack,
              cluster: c,
            }),
        },
        // `gone`'s API is a closed port: said, and the destroy goes on
        workloadApi: async (c) => (c.metadata.name === 'ccm' ? wl : { ...wl, url: 'https://127.0.0.1:9' }),
        inClusterCleanupTimeoutMs: 60_000,
        // after the ledger is empty; `gone`'s first one fails: the finalizer stays, it is retried
        externalTeardown: async (c) => {
          order.push(`teardown ${c.metadata.name}`);
          if (c.metadata.name === 'gone' && teardownFailures-- > 0)
            throw new CloudError('CloudUnavailable', 'keystone did not answer (injected)');
        },
      });
      await manager.start();
      await manager.waitUntilRunning();
      for (const doc of [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace: 'default' },
          spec: { type: 'LoadBalancer', ports: [{ port: 80 }], selector: { app: 'web' } },
        },
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data', namespace: 'default' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ]) {
        const r = await kubectl(wlKc, ['apply', '-f', '-'], { input: JSON.stringify(doc) });
        assert.equal(r.code, 0, r.stderr);
      }
      assert.equal(await inClusterLeft(), 2);

      const made: Record<string, string> = {};
      for (const name of ['ccm', 'gone']) {
        const c = osCluster(name, 1, 1);
        const r = await kubectl(ts.kubeconfig, ['apply', '-o', 'json', '-f', '-'], {
          input: JSON.stringify({
            apiVersion: c.apiVersion,
            kind: c.kind,
            metadata: { name, namespace: 'default' },
            spec: c.spec,
          }),
        });
        assert.equal(r.code, 0, r.stderr);
        made[name] = (JSON.parse(r.stdout) as { metadata: { uid: string } }).metadata.uid;
        clusters.push(made[name]);
      }
      const get = async (name: string): Promise<{ status?: Record<string, any> } | undefined> => {
        const r = await kubectl(ts.kubeconfig, ['get', 'clusters.kaas.dev', name, '-o', 'json']);
        if (r.code !== 0) return /NotFound|not found/.test(r.stderr) ? undefined : { status: {} };
        return JSON.parse(r.stdout) as { status?: Record<string, any> };
      };
      const until = async (what: string, ok: () => Promise<boolean>, ms: number): Promise<void> => {
        const deadline = Date.now() + ms;
        while (!(await ok())) {
          if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms\n${logs.join('\n')}`);
          await new Promise((r) => setTimeout(r, 500));
        }
      };
      for (const name of ['ccm', 'gone'])
        await until(
          `${name} InfrastructureReady`,
          async () =>
            ((await get(name))?.status?.conditions ?? []).some(
              (k: any) => k.type === 'InfrastructureReady' && k.status === 'True',
            ),
          300_000,
        );

      // the TokenReview webhook's identity may create TokenReviews in its own cluster, nothing else
      const canI = async (user: string, cluster: string, ...what: string[]): Promise<string> => {
        const r = await kubectl(await ts.userKubeconfig(user, [], cluster), ['auth', 'can-i', ...what]);
        return r.stdout.trim();
      };
      assert.equal(
        await canI('system:kaas:apiserver:ccm', 'ccm', 'create', 'tokenreviews.authentication.k8s.io'),
        'yes',
      );
      assert.equal(await canI('system:kaas:apiserver:ccm', 'ccm', 'list', 'secrets', '-A'), 'no');
      assert.equal(
        await canI('system:kaas:apiserver:ccm', 'ccm', 'get', 'tokenreviews.authentication.k8s.io'),
        'no',
      );
      assert.equal(
        await canI('system:kaas:apiserver:gone', 'ccm', 'create', 'tokenreviews.authentication.k8s.io'),
        'no',
      );

      // what the CCM and cinder CSI of cluster `ccm` would have made, by their conventions
      const uid = made.ccm!;
      const subnetId = ((await get('ccm'))?.status?.resources as { name: string; id: string }[]).find(
        (e) => e.name === 'subnet/nodes',
      )!.id;
      const lb = await member.octavia.createLoadBalancer({
        name: ccmLoadBalancerName(uid, 'default', 'web'),
        vipSubnetId: subnetId,
        description: `Kubernetes external service default/web from cluster ${cloudClusterName(uid)}`,
      });
      const ext = await member.neutron.findNetwork(os.fixtures.externalNetwork);
      const fip = await member.neutron.createFloatingIp({
        floatingNetworkId: ext!.id,
        description: ccmFloatingIpDescription(uid, 'default', 'web'),
      });
      const vol = await member.cinder.createVolume({
        name: `pvc-${randomUUID()}`,
        sizeGb: 1,
        metadata: { [csiClusterKey]: cloudClusterName(uid), 'csi.storage.k8s.io/pvc/name': 'data' },
      });
      await member.octavia.waitForActive(lb.id);

      for (const name of ['ccm', 'gone']) {
        const r = await kubectl(ts.kubeconfig, ['delete', 'clusters.kaas.dev', name, '--wait=false']);
        assert.equal(r.code, 0, r.stderr);
      }
      for (const name of ['ccm', 'gone'])
        await until(`${name} gone`, async () => (await get(name)) === undefined, 600_000);

      assert.equal(
        atFirstDelete.get('ccm'),
        0,
        'the Service and the PVC were gone before the first cloud delete',
      );
      for (const name of ['ccm', 'gone']) {
        const first = order.indexOf(`teardown ${name}`);
        assert.ok(
          first > order.lastIndexOf(`delete ${name}`),
          `teardown after the ledger: ${order.join(', ')}`,
        );
      }
      assert.equal(order.filter((x) => x === 'teardown ccm').length, 1, order.join(', '));
      assert.equal(order.filter((x) => x === 'teardown gone').length, 2, 'a failed teardown is retried');
      assert.equal(await inClusterLeft(), 0);
      // the webhook's RBAC went with the cluster's logical cluster
      const rb = await kubectl(await ts.kubeconfigFor('ccm'), [
        'get',
        'clusterrolebinding',
        'kaas:tokenreview-webhook',
      ]);
      assert.notEqual(rb.code, 0, rb.stdout);
      assert.ok(
        logs.some((l) =>
          /ccm: in-cluster: deleted 1 LoadBalancer Services and 1 PersistentVolumeClaims; all gone/.test(l),
        ),
        logs.join('\n'),
      );
      assert.ok(
        logs.some((l) => /gone: the cluster's API at https:\/\/127\.0\.0\.1:9 did not answer/.test(l)),
        logs.join('\n'),
      );
      // by the controllers' conventions and by tag: nothing left
      const lbs = (await member.octavia.listLoadBalancers()).filter(
        (x) =>
          x.name.startsWith(`kube_service_${cloudClusterName(uid)}_`) && x.provisioning_status !== 'DELETED',
      );
      assert.deepEqual(
        lbs.map((x) => x.name),
        [],
      );
      assert.equal(
        (await member.octavia.listLoadBalancers()).some(
          (x) => x.id === lb.id && x.provisioning_status !== 'DELETED',
        ),
        false,
      );
      assert.equal(
        (await member.neutron.listFloatingIps()).some((x) => x.id === fip.id),
        false,
      );
      const vols = await member.cinder.listVolumesByMetadata({ [csiClusterKey]: cloudClusterName(uid) });
      assert.deepEqual(
        vols.filter((v) => v.status !== 'deleted').map((v) => v.id),
        [],
        `volume ${vol.id}`,
      );
      for (const u of [made.ccm!, made.gone!]) {
        const left = await countTagged(member, u);
        assert.equal(total(left), 0, JSON.stringify(left));
      }
    } finally {
      await manager.stop().catch(() => undefined);
      await ts.stop();
    }
  });
});

describe('kaasctl server --openstack-cloud', () => {
  test('killed -9 mid-deploy and mid-destroy: resumes from the ledger, ControlPlaneReady waits on /readyz, nothing leaks', async () => {
    const dir = await mkdtemp(join(tmpdir(), `${RUN}-srv-`));
    const cloudsYaml = join(dir, 'clouds.yaml');
    const creds = memberCloud.credentials as { type: 'password'; user: { id: string }; password: string };
    const scope = memberCloud.scope?.project as { id: string } | undefined;
    // the nodes' cloud controller manager gets an application credential of its own, never the
    // operator's password (kaasctl server --openstack-ccm-cloud refuses anything else)
    const tok = await member.session.token();
    const ks = new KeystoneAdmin(member.session.keystone, async () => tok.token);
    const ccm = await ks.createApplicationCredential(tok.token, tok.user.id, { name: `${RUN}-ccm` });
    cleanups.unshift(async () =>
      ks.deleteApplicationCredential(tok.token, tok.user.id, ccm.id).catch(() => undefined),
    );
    await writeFile(
      cloudsYaml,
      [
        'clouds:',
        '  kaas-ccm-test:',
        '    auth_type: v3applicationcredential',
        '    auth:',
        `      auth_url: ${memberCloud.authUrl}`,
        `      application_credential_id: ${ccm.id}`,
        `      application_credential_secret: ${ccm.secret}`,
        `    region_name: ${memberCloud.region ?? 'RegionOne'}`,
        '  kaas-provider-test:',
        '    auth:',
        `      auth_url: ${memberCloud.authUrl}`,
        `      user_id: ${creds.user.id}`,
        `      password: ${creds.password}`,
        ...(scope ? [`      project_id: ${scope.id}`] : []),
        `    region_name: ${memberCloud.region ?? 'RegionOne'}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const env = { OS_CLIENT_CONFIG_FILE: cloudsYaml };
    const noUrl = ['--openstack-cloud', 'kaas-provider-test', '--openstack-ccm-cloud', 'kaas-ccm-test'];
    // the nodes never boot on the fake compute driver: any non-loopback URL passes the preflight
    const args = [...noUrl, '--kaas-url', 'https://192.0.2.10:8443'];
    // first without --kaas-url: the server listens on loopback, which nodes cannot reach
    let server: KaasServer | undefined = await startKaasServer(join(dir, 'kaas'), noUrl, env);
    const kc = join(dir, 'kaas', 'admin.kubeconfig');
    try {
      const c = osCluster('srv', 1, 1);
      const manifest = {
        apiVersion: 'kaas.dev/v1alpha1',
        kind: 'Cluster',
        metadata: { name: 'srv', namespace: 'default' },
        spec: {
          provider: c.spec.provider,
          controlPlane: { replicas: 1 },
          nodePools: [{ name: 'workers', replicas: 1, diskGiB: 10 }],
          auth: { clusterAdminRoleIds: ['admin'] },
          credentialsRef: { name: 'os' },
        },
      };
      const made = await kubectl(kc, ['apply', '-o', 'json', '-f', '-'], { input: JSON.stringify(manifest) });
      assert.equal(made.code, 0, made.stderr);
      const uid = (JSON.parse(made.stdout) as { metadata: { uid: string } }).metadata.uid;
      clusters.push(uid);
      const get = async (): Promise<{ status?: Record<string, any> } | undefined> => {
        const r = await kubectl(kc, ['get', 'clusters.kaas.dev', 'srv', '-o', 'json']);
        if (r.code !== 0) return /NotFound|not found/.test(r.stderr) ? undefined : { status: {} };
        return JSON.parse(r.stdout) as { status?: Record<string, any> };
      };
      const until = async (what: string, ok: (c: Awaited<ReturnType<typeof get>>) => boolean, ms: number) => {
        const deadline = Date.now() + ms;
        for (;;) {
          const c = await get();
          if (ok(c)) return c;
          if (Date.now() > deadline)
            throw new Error(`${what}: not after ${ms} ms: ${JSON.stringify(c?.status?.conditions)}`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      };
      const resources = (c: Awaited<ReturnType<typeof get>>): { phase: string }[] =>
        c?.status?.resources ?? [];

      const refused = await until(
        'refused for want of --kaas-url',
        (x) =>
          (x?.status?.conditions ?? []).some(
            (k: any) =>
              k.type === 'InfrastructureReady' && k.status === 'False' && k.reason === 'InvalidSpec',
          ),
        300_000,
      );
      const infra = (refused?.status?.conditions ?? []).find((k: any) => k.type === 'InfrastructureReady');
      assert.match(
        infra?.message ?? '',
        /is loopback: .*restart the server with --kaas-url https:\/\/HOST:PORT/,
      );
      assert.equal(total(await countTagged(member, uid)), 0, 'refused before anything was created');
      await server.stop();
      server = await startKaasServer(join(dir, 'kaas'), args, env);

      // mid-deploy: some resources recorded, others not yet
      await until(
        'some resources created',
        (x) => resources(x).filter((e) => e.phase === 'Created').length >= 3,
        600_000,
      );
      server.child.kill('SIGKILL');
      await server.stop();
      server = await startKaasServer(join(dir, 'kaas'), args, env);
      const ready = await until(
        'InfrastructureReady',
        (x) =>
          (x?.status?.conditions ?? []).some(
            (k: any) => k.type === 'InfrastructureReady' && k.status === 'True',
          ),
        900_000,
      );
      const cpReady = (ready?.status?.conditions ?? []).find((k: any) => k.type === 'ControlPlaneReady');
      assert.equal(cpReady?.status, 'False');
      assert.equal(cpReady?.reason, 'Waiting');
      assert.match(cpReady?.message ?? '', /GET https:\/\/[\d.]+:6443\/readyz/);
      assert.match(ready?.status?.endpoint ?? '', /^https:\/\/[\d.]+:6443$/);
      const planned = OpenStackProvider.forCluster(member, { ...c, metadata: { ...c.metadata, uid } }).plan({
        ...c,
        metadata: { ...c.metadata, uid },
      });
      assert.equal(
        total(await countTagged(member, uid)),
        planned.nodes.length,
        'one object per graph node: nothing made twice',
      );

      // mid-destroy
      const del = await kubectl(kc, ['delete', 'clusters.kaas.dev', 'srv', '--wait=false']);
      assert.equal(del.code, 0, del.stderr);
      await until(
        'destroy under way',
        (x) => x === undefined || resources(x).length < planned.nodes.length,
        600_000,
      );
      server.child.kill('SIGKILL');
      await server.stop();
      server = await startKaasServer(join(dir, 'kaas'), args, env);
      await until('the Cluster gone', (x) => x === undefined, 900_000);
      const left = await countTagged(member, uid);
      assert.equal(total(left), 0, JSON.stringify(left));
    } finally {
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
