// The TokenReview webhook as the benchmark drives it: its own process, HTTPS, the real token
// service over SQLite with the local identity backend, N issued tokens written to a file for the
// load generator, and a server-side latency record (request in -> response finished) per review.
// GET /bench/stats answers {count, p50, p99, max} in ms and resets the record.
// Prints one JSON line {port, pid, tokensFile} when ready.
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { timingSafeEqual } from 'node:crypto';
import { ApiServer, ensurePki, openStore } from '@kaas/apiserver';
import {
  KvTokenStore,
  LocalUsersBackend,
  MemoryUserStore,
  TokenAuthenticator,
  TokenService,
  bearerAuthenticator,
  reviewToken,
} from '@kaas/auth';

const [dataDir = '', count = '1000'] = process.argv.slice(2);
const callerToken = process.env.KAAS_BENCH_TOKEN ?? '';
if (!dataDir || callerToken.length < 16) {
  console.error('usage: KAAS_BENCH_TOKEN=... node bench/auth-server.ts DATA_DIR [TOKENS]');
  process.exit(2);
}
const kv = await openStore({ kind: 'sqlite', path: join(dataDir, 'kaas.db') });
const pki = await ensurePki(join(dataDir, 'pki'), []);
const local = new LocalUsersBackend({ store: new MemoryUserStore(), scrypt: { logN: 10, r: 8, p: 1 } });
await local.createUser({ name: 'bench', password: 'bench-password-123', roles: ['bench-role'] });
const tokens = new TokenService({ store: new KvTokenStore(kv), backends: [local], defaultTtlMs: 3_600_000 });
const authenticator = new TokenAuthenticator({ tokens, positiveTtlMs: 60_000, maxEntries: 100_000 });
const signedIn = await local.authenticate({
  type: 'password',
  username: 'bench',
  password: 'bench-password-123',
});
const issued: string[] = [];
for (let i = 0; i < Number(count); i++)
  issued.push((await tokens.issue(signedIn, { audience: 'root' })).token);
const tokensFile = join(dataDir, 'tokens.txt');
await writeFile(tokensFile, issued.join('\n') + '\n', { mode: 0o600 });

const want = Buffer.from(`Bearer ${callerToken}`);
const samples: number[] = [];
const server = new ApiServer({
  kv,
  tls: { certPem: pki.serving.certPem, keyPem: pki.serving.keyPem, caPem: pki.ca.certPem },
  authenticators: [
    async (req) => {
      const got = Buffer.from(req.headers.authorization ?? '');
      return got.length === want.length && timingSafeEqual(got, want)
        ? { username: 'kube-apiserver', groups: ['system:masters'] }
        : null;
    },
    bearerAuthenticator(authenticator),
  ],
  routes: [
    {
      prefix: '/bench/stats',
      async handle(_req, res) {
        const s = [...samples].sort((a, b) => a - b);
        samples.length = 0;
        const q = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ count: s.length, p50: q(50), p99: q(99), max: s[s.length - 1] ?? NaN }));
      },
    },
  ],
});
server.clusters.virtual.set('authentication.k8s.io/TokenReview', async (cluster, _info, body) =>
  reviewToken(body, { audience: cluster.name, authenticator }),
);
server.server.prependListener('request', (req, res) => {
  if (!req.url?.includes('tokenreviews')) return;
  const t0 = process.hrtime.bigint();
  res.once('finish', () => samples.push(Number(process.hrtime.bigint() - t0) / 1e6));
});
const addr = await server.listen('127.0.0.1', 0);
console.log(JSON.stringify({ port: addr.port, pid: process.pid, tokensFile }));
const stop = async () => {
  authenticator.close();
  await server.close();
  await kv.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
