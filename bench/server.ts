// The API server as the benchmarks run it: its own process (so the load generator does not share
// its event loop), HTTPS with a fresh PKI, and a bench-only static bearer token (wrk cannot send
// client certificates). Prints one JSON line {port, pid} when ready.
import { join } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { ApiServer, ensurePki, openStore } from '@kaas/apiserver';

const [dataDir = '', storage = 'sqlite', endpoints = ''] = process.argv.slice(2);
const token = process.env.KAAS_BENCH_TOKEN ?? '';
if (!dataDir || token.length < 16) {
  console.error('usage: KAAS_BENCH_TOKEN=... node bench/server.ts DATA_DIR [sqlite|etcd] [ETCD_ENDPOINTS]');
  process.exit(2);
}
const kv = await openStore(
  storage === 'etcd'
    ? { kind: 'etcd', endpoints: endpoints.split(',') }
    : { kind: 'sqlite', path: join(dataDir, 'kaas.db') },
);
const pki = await ensurePki(join(dataDir, 'pki'), []);
const want = Buffer.from(`Bearer ${token}`);
const server = new ApiServer({
  kv,
  tls: { certPem: pki.serving.certPem, keyPem: pki.serving.keyPem, caPem: pki.ca.certPem },
  authenticators: [
    async (req) => {
      const got = Buffer.from(req.headers.authorization ?? '');
      return got.length === want.length && timingSafeEqual(got, want)
        ? { username: 'bench', groups: ['system:masters'] }
        : null;
    },
  ],
});
const addr = await server.listen('127.0.0.1', Number(process.env.KAAS_BENCH_PORT ?? 0));
console.log(JSON.stringify({ port: addr.port, pid: process.pid }));
const stop = async () => {
  await server.close();
  await kv.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
