// @kaas/openstack against real OpenStack services: by default the local ones from Debian's
// packages (scripts/openstack/, installed and started on demand), or any cloud named by OS_CLOUD /
// OS_AUTH_URL (test/support/openstack.ts). Which services: keystone, glance, neutron and nova
// always (placement with nova); octavia, designate and cinder unless KAAS_OS_TEST_SERVICES leaves
// them out (docs/openstack.md says what each costs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KeystoneAdmin } from '@kaas/auth';
import { CloudError } from '@kaas/providers';
import { OpenStack, Session, compareMicroversions } from '@kaas/openstack';
import type { Network } from '@kaas/openstack';
import { openStackForTests } from '../support/openstack.ts';
import type { OpenStackForTests, OpenStackService } from '../support/openstack.ts';

// octavia, designate and cinder by default; KAAS_OS_TEST_SERVICES="" (or a subset) leaves them out
const EXTRA = (process.env.KAAS_OS_TEST_SERVICES ?? 'octavia designate cinder')
  .split(/[\s,]+/)
  .filter((s): s is OpenStackService => ['octavia', 'designate', 'cinder'].includes(s));
const SERVICES: OpenStackService[] = ['glance', 'placement', 'neutron', 'nova', ...EXTRA];
const RUN = `kaas-t-${randomBytes(3).toString('hex')}`;
const TAG = `kaas-test=${RUN}`;

let os: OpenStackForTests;
let admin: OpenStack;
let member: OpenStack;
let external: Network;

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<CloudError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof CloudError, `expected a CloudError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.cloudMessage ?? '', message);
  return caught;
}

before(async () => {
  os = await openStackForTests(SERVICES);
  admin = OpenStack.fromCloud(os.admin);
  member = OpenStack.fromCloud(os.member);
  if (os.source === 'local') {
    // the local cloud's fixtures, made as admin through the client itself (idempotent)
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
    external = await admin.neutron.ensureNetwork({
      name: os.fixtures.externalNetwork,
      external: true,
      shared: false,
      provider: { networkType: 'flat', physicalNetwork: 'public' },
    });
    await admin.neutron.ensureSubnet({
      name: `${os.fixtures.externalNetwork}-subnet`,
      networkId: external.id,
      cidr: '203.0.113.0/24',
      enableDhcp: false,
    });
  } else {
    const found = await member.neutron.findNetwork(os.fixtures.externalNetwork);
    assert.ok(found, `no external network ${os.fixtures.externalNetwork} (KAAS_OS_TEST_EXTERNAL_NETWORK)`);
    external = found;
  }
});

after(async () => {
  // whatever a failed test left behind, found by its tag
  if (member) {
    for (const s of await member.nova.listServersByTags([TAG]).catch(() => []))
      await member.nova.deleteServer(s.id);
    for (const f of await member.neutron.listFloatingIps({ tags: TAG }).catch(() => []))
      await member.neutron.deleteFloatingIp(f.id);
    await member.close();
  }
  await admin?.close();
  await os?.release();
});

describe('keystone', () => {
  test('a project-scoped token with a catalog that has every service the tests use', async () => {
    const token = await member.session.token();
    assert.ok(token.project, 'scoped to a project');
    const types = await member.serviceTypes();
    for (const t of ['identity', 'network', 'compute', 'image'])
      assert.ok(types.includes(t), `${t} in ${types.join(',')}`);
    // region and interface select the endpoint; the client adds the API version
    assert.match(await member.session.endpoint('network'), /\/v2\.0$/);
    assert.match(await member.session.endpoint('image'), /\/v2$/);
    const s = new Session({
      authUrl: os.member.authUrl,
      credentials: os.member.credentials,
      ...(os.member.scope ? { scope: os.member.scope } : {}),
      region: 'NoSuchRegion',
    });
    await expectCode(s.endpoint('network'), 'NotFound');
    await s.close();
  });

  test("token auth rescopes an existing token; a wrong password is AuthFailed with keystone's words", async () => {
    const unscopedSource = await member.session.token();
    const viaToken = new Session({
      authUrl: os.member.authUrl,
      credentials: { type: 'token', token: unscopedSource.token },
      scope: { project: { id: unscopedSource.project!.id } },
    });
    assert.equal((await viaToken.token()).project?.id, unscopedSource.project!.id);
    assert.ok((await viaToken.catalog()).services.length > 0);
    await viaToken.close();

    if (os.member.credentials.type !== 'password') return;
    const bad = new Session({
      authUrl: os.member.authUrl,
      credentials: { ...os.member.credentials, password: 'wrong' },
      ...(os.member.scope ? { scope: os.member.scope } : {}),
    });
    await expectCode(bad.token(), 'AuthFailed', /authenticat/i);
    await bad.close();
  });

  test('an application credential signs in and reaches neutron', async () => {
    const tok = await member.session.token();
    const ks = new KeystoneAdmin(member.session.keystone, async () => tok.token);
    const ac = await ks.createApplicationCredential(tok.token, tok.user.id, { name: `${RUN}-ac` });
    try {
      const s = new Session({
        authUrl: os.member.authUrl,
        credentials: { type: 'application_credential', id: ac.id, secret: ac.secret },
      });
      const t = await s.token();
      assert.equal(t.project?.id, ac.projectId);
      assert.ok(Array.isArray(await new OpenStack(s).neutron.listNetworks({ limit: 1 })));
      await s.close();
    } finally {
      await ks.deleteApplicationCredential(tok.token, tok.user.id, ac.id);
    }
  });
});

describe('neutron', () => {
  test('network, subnet, router + interface, security group + rules, port, floating IP, tags: create, find, delete', async () => {
    const n = member.neutron;
    const net = await n.ensureNetwork({ name: `${RUN}-net`, tags: [TAG, 'kaas-role=nodes'] });
    assert.equal(
      (await n.ensureNetwork({ name: `${RUN}-net`, tags: [TAG] })).id,
      net.id,
      'ensure finds, not creates',
    );
    const subnet = await n.ensureSubnet({
      name: `${RUN}-subnet`,
      networkId: net.id,
      cidr: '10.42.0.0/24',
      tags: [TAG],
      dnsNameservers: ['192.0.2.53'],
    });
    assert.equal(
      (await n.ensureSubnet({ name: `${RUN}-subnet`, networkId: net.id, cidr: '10.42.0.0/24' })).id,
      subnet.id,
    );

    const router = await n.ensureRouter({
      name: `${RUN}-router`,
      externalNetworkId: external.id,
      tags: [TAG],
    });
    assert.equal(router.external_gateway_info?.network_id, external.id);
    await n.addRouterInterface(router.id, subnet.id);
    await n.addRouterInterface(router.id, subnet.id); // already there: done
    const rports = await n.listPorts({ device_id: router.id, device_owner: 'network:router_interface' });
    assert.equal(rports.length, 1);
    assert.equal(rports[0]!.fixed_ips[0]!.subnet_id, subnet.id);

    const sg = await n.ensureSecurityGroup({ name: `${RUN}-sg`, description: 'API', tags: [TAG] });
    const rule = {
      securityGroupId: sg.id,
      direction: 'ingress' as const,
      protocol: 'tcp',
      portRangeMin: 6443,
      portRangeMax: 6443,
      remoteIpPrefix: '0.0.0.0/0',
    };
    const r1 = await n.ensureSecurityGroupRule(rule);
    const r2 = await n.ensureSecurityGroupRule(rule);
    assert.equal(r1.id, r2.id, 'the same rule is not created twice');
    const dup = await expectCode(n.createSecurityGroupRule(rule), 'Conflict', /already exists/i);
    assert.equal(dup.status, 409);

    const port = await n.ensurePort({
      name: `${RUN}-port`,
      networkId: net.id,
      fixedIps: [{ subnetId: subnet.id }],
      securityGroups: [sg.id],
      tags: [TAG],
    });
    assert.deepEqual(port.security_groups, [sg.id]);
    assert.match(port.fixed_ips[0]!.ip_address, /^10\.42\.0\./);

    const fip = await n.ensureFloatingIpForPort({
      floatingNetworkId: external.id,
      portId: port.id,
      tags: [TAG],
    });
    assert.match(fip.floating_ip_address, /^203\.0\.113\./);
    assert.equal(
      (await n.ensureFloatingIpForPort({ floatingNetworkId: external.id, portId: port.id })).id,
      fip.id,
    );
    assert.equal(fip.port_id, port.id);

    // tags: every kind found by the run's tag, and only those
    assert.deepEqual(
      (await n.listNetworks({ tags: TAG })).map((x) => x.id),
      [net.id],
    );
    assert.deepEqual(
      (await n.listNetworks({ tags: `${TAG},kaas-role=nodes` })).map((x) => x.id),
      [net.id],
    );
    assert.deepEqual(
      (await n.listPorts({ tags: TAG })).map((x) => x.id),
      [port.id],
    );
    assert.deepEqual(
      (await n.listFloatingIps({ tags: TAG })).map((x) => x.id),
      [fip.id],
    );
    assert.deepEqual(
      (await n.listSecurityGroups({ tags: TAG })).map((x) => x.id),
      [sg.id],
    );
    assert.deepEqual(
      (await n.listRouters({ tags: TAG })).map((x) => x.id),
      [router.id],
    );
    assert.deepEqual((await n.getTags('networks', net.id)).sort(), [TAG, 'kaas-role=nodes'].sort());

    // in use: neutron's 409 keeps its message
    await expectCode(n.deleteNetwork(net.id), 'Conflict', /in use|ports/i);

    await n.deleteFloatingIp(fip.id);
    await n.deletePort(port.id);
    await n.removeRouterInterface(router.id, subnet.id);
    await n.removeRouterInterface(router.id, subnet.id); // gone already: done
    await n.deleteRouter(router.id);
    await n.deleteSubnet(subnet.id);
    await n.deleteNetwork(net.id);
    await n.deleteSecurityGroup(sg.id);
    // deleting what is gone is done (404 on delete)
    await n.deleteNetwork(net.id);
    await n.deletePort(port.id);
    for (const list of [
      n.listNetworks({ tags: TAG }),
      n.listPorts({ tags: TAG }),
      n.listRouters({ tags: TAG }),
      n.listSecurityGroups({ tags: TAG }),
      n.listFloatingIps({ tags: TAG }),
    ])
      assert.deepEqual(await list, []);
    await expectCode(n.getNetwork(net.id), 'NotFound', /could not be found/);
  });

  test("pagination follows neutron's links across pages", async () => {
    const n = member.neutron;
    const nets = await Promise.all(
      [1, 2, 3].map((i) => n.createNetwork({ name: `${RUN}-page-${i}`, tags: [TAG] })),
    );
    try {
      const paged = await member.session.list<Network>('network', '/networks', 'networks', {
        limit: 2,
        query: { tags: TAG },
      });
      assert.deepEqual(paged.map((x) => x.id).sort(), nets.map((x) => x.id).sort());
    } finally {
      for (const x of nets) await n.deleteNetwork(x.id);
    }
  });

  test("bad input is InvalidSpec; an exhausted quota is QuotaExceeded with neutron's message", async () => {
    const n = member.neutron;
    const net = await n.createNetwork({ name: `${RUN}-q`, tags: [TAG] });
    try {
      await expectCode(
        n.createSubnet({ name: `${RUN}-bad`, networkId: net.id, cidr: '10.300.0.0/24' }),
        'InvalidSpec',
        /cidr|invalid/i,
      );
      if (os.source !== 'local') return; // needs admin to lower a quota
      const projectId = await member.session.projectId();
      const before = await admin.neutron.quotas(projectId);
      const used = before.network!.used;
      await admin.neutron.setQuotas(projectId, { network: used });
      try {
        await expectCode(n.createNetwork({ name: `${RUN}-over` }), 'QuotaExceeded', /quota/i);
      } finally {
        await admin.neutron.setQuotas(projectId, { network: before.network!.limit });
      }
    } finally {
      await n.deleteNetwork(net.id);
    }
  });
});

describe('nova and glance', () => {
  test('microversion negotiated from the version document; flavors; the image found by name', async () => {
    const mv = await member.nova.microversion();
    assert.ok(compareMicroversions(mv, '2.64') >= 0, `microversion ${mv}`);
    const flavors = await member.nova.listFlavors();
    assert.ok(
      flavors.some((f) => f.name === os.fixtures.flavor),
      flavors.map((f) => f.name).join(','),
    );
    const image = await member.glance.findImage(os.fixtures.image);
    assert.ok(image, `image ${os.fixtures.image}`);
    assert.equal(image.status, 'active');
    assert.equal((await member.glance.findImage(image.id))?.id, image.id);
    assert.equal(await member.glance.findImage(`${RUN}-no-such-image`), undefined);
  });

  test('a server with user data, metadata and tags in an anti-affinity group goes ACTIVE on a neutron port, then is deleted', async () => {
    const { neutron: n, nova } = member;
    const flavor = await nova.findFlavor(os.fixtures.flavor);
    const image = await member.glance.findImage(os.fixtures.image);
    assert.ok(flavor && image);
    const net = await n.ensureNetwork({ name: `${RUN}-srv-net`, tags: [TAG] });
    const subnet = await n.ensureSubnet({
      name: `${RUN}-srv-subnet`,
      networkId: net.id,
      cidr: '10.43.0.0/24',
      tags: [TAG],
    });
    const sg = await n.ensureSecurityGroup({ name: `${RUN}-srv-sg`, tags: [TAG] });
    const key = await nova.ensureKeypair({
      name: `${RUN}-key`,
      publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHfJ2v3yE1rYqK8cQmW0r3vV0y8xGQ2mE5y7o5V7n0cA kaas-test',
    });
    const group = await nova.ensureServerGroup({ name: `${RUN}-cp`, policy: 'anti-affinity' });
    assert.equal(group.policy, 'anti-affinity');
    assert.equal((await nova.ensureServerGroup({ name: `${RUN}-cp`, policy: 'anti-affinity' })).id, group.id);
    try {
      const created = await nova.ensureServer({
        name: `${RUN}-cp-0`,
        flavorId: flavor.id,
        imageId: image.id,
        networks: [{ uuid: net.id }],
        securityGroups: [sg.name],
        keyName: key.name,
        userData: '#cloud-config\nruncmd: [["echo", "kaas"]]\n',
        metadata: { 'kaas-cluster': RUN, 'kaas-role': 'control-plane' },
        tags: [TAG, 'kaas-role=control-plane'],
        serverGroupId: group.id,
      });
      const server = await nova.waitForServer(created.id, { timeoutMs: 180_000 });
      assert.equal(server.status, 'ACTIVE');
      assert.equal(
        (await nova.ensureServer({ name: `${RUN}-cp-0`, flavorId: flavor.id })).id,
        server.id,
        'found by name',
      );
      assert.deepEqual((await nova.getTags(server.id)).sort(), [TAG, 'kaas-role=control-plane'].sort());
      assert.equal((await nova.getMetadata(server.id))['kaas-role'], 'control-plane');
      assert.deepEqual(
        (await nova.listServersByTags([TAG])).map((s) => s.id),
        [server.id],
      );
      assert.deepEqual((await nova.findServerGroup(`${RUN}-cp`))?.members, [server.id]);
      // the port is neutron's, on our subnet, with our security group
      const ifaces = await nova.interfaces(server.id);
      assert.equal(ifaces.length, 1);
      const port = await n.getPort(ifaces[0]!.port_id);
      assert.equal(port.fixed_ips[0]!.subnet_id, subnet.id);
      assert.deepEqual(port.security_groups, [sg.id]);
      assert.ok(server.addresses[net.name]?.some((a) => a.addr === port.fixed_ips[0]!.ip_address));

      await nova.deleteServer(server.id);
      await nova.waitForServerGone(server.id, { timeoutMs: 120_000 });
      await nova.deleteServer(server.id); // gone: done
      assert.deepEqual(await nova.listServersByTags([TAG]), []);
      await expectCode(nova.getServer(server.id), 'NotFound', /could not be found/);
      // a flavor that does not exist: nova's 400 as InvalidSpec
      await expectCode(
        nova.createServer({
          name: `${RUN}-bad`,
          flavorId: 'no-such-flavor',
          imageId: image.id,
          networks: [{ uuid: net.id }],
        }),
        'InvalidSpec',
        /flavor/i,
      );
    } finally {
      await nova.deleteServerGroup(group.id);
      await nova.deleteKeypair(key.name);
      // nova releases the server's port asynchronously
      for (
        let i = 0;
        i < 40 && (await n.listPorts({ network_id: net.id, device_owner: 'compute:nova' })).length > 0;
        i++
      )
        await new Promise((r) => setTimeout(r, 250));
      await n.deleteSecurityGroup(sg.id);
      await n.deleteSubnet(subnet.id);
      await n.deleteNetwork(net.id);
    }
    assert.equal(await nova.findKeypair(key.name), undefined);
  });

  test('quotas: compute and network, as limit and in use', async () => {
    const q = await member.nova.quotas();
    assert.ok(q.instances && typeof q.instances.limit === 'number' && typeof q.instances.in_use === 'number');
    const nq = await member.neutron.quotas();
    assert.ok(nq.network && typeof nq.network.limit === 'number');
  });
});

describe(
  'octavia',
  { skip: !EXTRA.includes('octavia') && 'KAAS_OS_TEST_SERVICES leaves octavia out' },
  () => {
    test('load balancer, listener, pool, member, health monitor: ACTIVE, found by name, cascade delete', async () => {
      const { neutron: n, octavia } = member;
      const net = await n.ensureNetwork({ name: `${RUN}-lb-net`, tags: [TAG] });
      const subnet = await n.ensureSubnet({
        name: `${RUN}-lb-subnet`,
        networkId: net.id,
        cidr: '10.44.0.0/24',
        tags: [TAG],
      });
      // a floating IP on the VIP needs a route from the VIP subnet to the external network
      const router = await n.ensureRouter({
        name: `${RUN}-lb-router`,
        externalNetworkId: external.id,
        tags: [TAG],
      });
      await n.addRouterInterface(router.id, subnet.id);
      try {
        const lb = await octavia.ensureLoadBalancer({
          name: `${RUN}-api`,
          vipSubnetId: subnet.id,
          tags: [TAG],
        });
        assert.equal(lb.provisioning_status, 'ACTIVE');
        assert.match(lb.vip_address, /^10\.44\.0\./);
        assert.equal(
          (await octavia.ensureLoadBalancer({ name: `${RUN}-api`, vipSubnetId: subnet.id })).id,
          lb.id,
        );
        const listener = await octavia.ensureListener(lb.id, {
          name: `${RUN}-6443`,
          protocol: 'TCP',
          port: 6443,
        });
        const pool = await octavia.ensurePool(lb.id, {
          name: `${RUN}-cp`,
          protocol: 'TCP',
          listenerId: listener.id,
        });
        const m = await octavia.ensureMember(lb.id, pool.id, {
          address: '10.44.0.10',
          port: 6443,
          subnetId: subnet.id,
        });
        assert.equal(
          (await octavia.ensureMember(lb.id, pool.id, { address: '10.44.0.10', port: 6443 })).id,
          m.id,
        );
        const hm = await octavia.ensureHealthMonitor(lb.id, pool.id, { name: `${RUN}-hm`, type: 'TCP' });
        assert.equal(
          (await octavia.ensureHealthMonitor(lb.id, pool.id, { name: `${RUN}-hm`, type: 'TCP' })).id,
          hm.id,
        );
        // a floating IP on the VIP port (the API endpoint of a cluster)
        const fip = await n.ensureFloatingIpForPort({
          floatingNetworkId: external.id,
          portId: lb.vip_port_id,
          tags: [TAG],
        });
        await n.deleteFloatingIp(fip.id);
        await octavia.deleteLoadBalancer(lb.id);
        assert.equal(await octavia.findLoadBalancer(`${RUN}-api`), undefined);
        await expectCode(
          octavia.createLoadBalancer({
            name: `${RUN}-bad`,
            vipSubnetId: '00000000-0000-0000-0000-000000000000',
          }),
          'InvalidSpec',
        );
        assert.ok(typeof (await octavia.quotas()).load_balancer === 'number');
      } finally {
        const left = await octavia.findLoadBalancer(`${RUN}-api`).catch(() => undefined);
        if (left) await octavia.deleteLoadBalancer(left.id);
        await n.removeRouterInterface(router.id, subnet.id);
        await n.deleteRouter(router.id);
        await n.deleteSubnet(subnet.id);
        await n.deleteNetwork(net.id);
      }
    });
  },
);

describe(
  'designate',
  { skip: !EXTRA.includes('designate') && 'KAAS_OS_TEST_SERVICES leaves designate out' },
  () => {
    test('zone and A recordset: ACTIVE, updated in place, deleted', async () => {
      const d = member.designate;
      const zone = await d.ensureZone({ name: `${RUN}.example.`, email: 'ops@example.org', ttl: 300 });
      try {
        assert.equal(zone.status, 'ACTIVE');
        assert.equal((await d.ensureZone({ name: `${RUN}.example.`, email: 'ops@example.org' })).id, zone.id);
        const rs = await d.ensureRecordset(zone.id, {
          name: `api.${RUN}.example.`,
          type: 'A',
          records: ['203.0.113.10'],
        });
        assert.equal(rs.status, 'ACTIVE');
        const rs2 = await d.ensureRecordset(zone.id, {
          name: `api.${RUN}.example.`,
          type: 'A',
          records: ['203.0.113.11'],
        });
        assert.equal(rs2.id, rs.id);
        assert.deepEqual(rs2.records, ['203.0.113.11']);
        await d.deleteRecordset(zone.id, rs.id);
        await d.deleteRecordset(zone.id, rs.id);
        await expectCode(
          d.createZone({ name: `${RUN}.example.`, email: 'ops@example.org' }),
          'Conflict',
          /duplicate/i,
        );
      } finally {
        await d.deleteZone(zone.id);
      }
    });
  },
);

describe('cinder', { skip: !EXTRA.includes('cinder') && 'KAAS_OS_TEST_SERVICES leaves cinder out' }, () => {
  test('volume created available, found by name and metadata, deleted', async () => {
    const c = member.cinder;
    const vol = await c.ensureVolume({ name: `${RUN}-vol`, sizeGb: 1, metadata: { 'kaas-cluster': RUN } });
    assert.equal(vol.status, 'available');
    assert.equal((await c.ensureVolume({ name: `${RUN}-vol`, sizeGb: 1 })).id, vol.id);
    assert.deepEqual(
      (await c.listVolumesByMetadata({ 'kaas-cluster': RUN })).map((v) => v.id),
      [vol.id],
    );
    await c.deleteVolume(vol.id, { wait: true });
    await c.deleteVolume(vol.id);
    assert.ok((await c.quotas()).volumes);
  });
});
