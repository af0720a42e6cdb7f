// Reproducer for nova-api under overlapping requests (docs/openstack.md, "nova-api and
// overlapping requests"). N server groups and N servers (one per group, as the provider does)
// are created at once, each server then polled with GET /servers/{id}, GET /servers/detail by tag
// and GET /os-server-groups every second until ACTIVE, then all are deleted at once and polled
// until gone: every phase keeps N or more requests in flight. Debian's Zed nova-api as one uwsgi process
// with 4 threads (eventlet patching off) deadlocks on this; one-thread processes behind uwsgi's
// HTTP router do not.
//
//   node scripts/openstack/nova-overlap.ts [--servers 10] [--endpoint http://127.0.0.1:8774/v2.1]
//        [--clouds /var/lib/kaas-openstack/clouds.yaml] [--cloud kaas-local-demo] [--deadline 300]
//
// --endpoint points the compute calls at another nova-api (e.g. a second instance on another
// port, to compare configurations without touching the shared one). Each request has a 60 s
// timeout and is not retried: a hang shows as timeouts, not as a slow success. Exits 1 when any
// request failed or the run passed --deadline seconds. Uses the flavor `kaas.test` and image
// `kaas-test-image` the client tests make; makes and deletes its own network (tagged).
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { cloudFromYaml, fromCloud } from '@kaas/auth';
import { OpenStack } from '@kaas/openstack';
import type { RequestLog } from '@kaas/openstack';

const { values: a } = parseArgs({
  options: {
    servers: { type: 'string', default: '10' },
    endpoint: { type: 'string' },
    clouds: {
      type: 'string',
      default: `${process.env.KAAS_OPENSTACK_STATE_DIR ?? '/var/lib/kaas-openstack'}/clouds.yaml`,
    },
    cloud: { type: 'string', default: 'kaas-local-demo' },
    deadline: { type: 'string', default: '300' },
    flavor: { type: 'string', default: 'kaas.test' },
    image: { type: 'string', default: 'kaas-test-image' },
  },
});
const N = Number(a.servers);
const RUN = `kaas-overlap-${randomBytes(3).toString('hex')}`;
const logs: RequestLog[] = [];
const inFlight = new Set<string>();
const os = OpenStack.fromCloud(fromCloud(cloudFromYaml(a.clouds, a.cloud), a.clouds), {
  timeoutMs: 60_000,
  retry: { attempts: 1 },
  ...(a.endpoint ? { endpointOverrides: { compute: a.endpoint } } : {}),
  log: (e) => logs.push(e),
});
const t0 = Date.now();
const secs = (ms: number): string => (ms / 1000).toFixed(1);
const deadline = setTimeout(
  () => {
    console.log(
      `DEADLINE: ${a.deadline} s passed with ${inFlight.size} phase(s) unfinished: ${[...inFlight].join(', ')}`,
    );
    report();
    process.exit(1);
  },
  Number(a.deadline) * 1000,
);

function report(): void {
  const nova = logs.filter((l) => l.service === 'compute');
  const ms = nova.map((l) => l.durationMs).sort((x, y) => x - y);
  const q = (p: number): number => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? 0;
  const failed = nova.filter((l) => l.error !== undefined || (l.status ?? 0) >= 500);
  console.log(
    `nova requests ${nova.length}, failed ${failed.length}; latency p50 ${secs(q(0.5))} s, ` +
      `p95 ${secs(q(0.95))} s, max ${secs(q(1))} s; wall ${secs(Date.now() - t0)} s`,
  );
  for (const f of failed.slice(0, 5))
    console.log(`  ${f.method} ${f.url}: ${f.status ?? ''} ${f.error ?? ''}`);
}

async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const s = Date.now();
  inFlight.add(name);
  try {
    return await fn();
  } finally {
    inFlight.delete(name);
    console.log(`${name}: ${secs(Date.now() - s)} s`);
  }
}

let ok = true;
const groups: string[] = [];
const net = await os.neutron.ensureNetwork({ name: `${RUN}-net`, tags: [RUN] });
try {
  await os.neutron.ensureSubnet({
    name: `${RUN}-subnet`,
    networkId: net.id,
    cidr: '10.44.0.0/24',
    tags: [RUN],
  });
  const flavor = await os.nova.findFlavor(a.flavor);
  const image = await os.glance.findImage(a.image);
  if (!flavor || !image)
    throw new Error(`flavor ${a.flavor} or image ${a.image} missing (the client tests make them)`);
  console.log(
    `nova ${a.endpoint ?? '(catalog)'}: ${N} servers, microversion ${await os.nova.microversion()}`,
  );
  const ids = await phase(`${N} parallel creates`, () =>
    Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const group = await os.nova.createServerGroup({ name: `${RUN}-${i}`, policy: 'soft-anti-affinity' });
        groups.push(group.id);
        const server = await os.nova.createServer({
          name: `${RUN}-${i}`,
          flavorId: flavor.id,
          imageId: image.id,
          networks: [{ uuid: net.id }],
          tags: [RUN],
          serverGroupId: group.id,
        });
        return server.id;
      }),
    ),
  );
  await phase('all ACTIVE (GET per server + GET /servers/detail, 1 s apart)', () =>
    Promise.all(
      ids.map(async (id) => {
        for (;;) {
          const [s] = await Promise.all([
            os.nova.getServer(id),
            os.nova.listServersByTags([RUN]),
            os.nova.listServerGroups(),
          ]);
          if (s.status === 'ACTIVE') return;
          if (s.status === 'ERROR') throw new Error(`server ${id} ERROR: ${s.fault?.message ?? ''}`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }),
    ),
  );
  await phase(`${N} parallel deletes until gone`, () =>
    Promise.all(
      ids.map(async (id) => {
        await os.nova.deleteServer(id);
        await os.nova.waitForServerGone(id, { timeoutMs: 240_000, intervalMs: 1000 });
      }),
    ),
  );
} catch (e) {
  ok = false;
  console.log(`FAILED: ${(e as Error).message}`);
} finally {
  clearTimeout(deadline);
  report();
  // cleanup through the same endpoint, retried this time
  const clean = OpenStack.fromCloud(fromCloud(cloudFromYaml(a.clouds, a.cloud), a.clouds));
  for (const s of await clean.nova.listServersByTags([RUN]).catch(() => [])) {
    await clean.nova.deleteServer(s.id);
    await clean.nova.waitForServerGone(s.id, { timeoutMs: 240_000 }).catch(() => undefined);
  }
  for (const g of groups) await clean.nova.deleteServerGroup(g).catch(() => undefined);
  for (const s of await clean.neutron.listSubnets({ tags: RUN }).catch(() => []))
    await clean.neutron.deleteSubnet(s.id);
  await clean.neutron.deleteNetwork(net.id);
  await Promise.all([clean.close(), os.close()]);
}
if (logs.some((l) => l.service === 'compute' && (l.error !== undefined || (l.status ?? 0) >= 500)))
  ok = false;
process.exit(ok ? 0 : 1);
