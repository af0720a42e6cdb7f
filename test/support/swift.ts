// Real S3-compatible object storage for tests: OpenStack Swift from Debian's packages with its
// s3api middleware (scripts/swift/), on 127.0.0.1. Installed on first use (root), started when not
// answering, shared by concurrent test processes through lease files; release() (call it in
// `after`) stops the servers by their pids once no live lease remains and this run started them.
// Each test gets a bucket of its own, emptied and deleted on release.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@kaas/backup';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPTS = join(ROOT, 'scripts/swift');
const STATE_DIR = process.env.KAAS_SWIFT_STATE_DIR ?? '/var/lib/kaas-swift';
const LEASES = join(STATE_DIR, 'leases');

/** tempauth's account:user and key (scripts/swift/lib.sh); loopback only. */
export const swiftCredentials = { accessKeyId: 'kaas:backup', secretAccessKey: 'kaas-backup-secret' };

export interface SwiftForTests {
  endpoint: string;
  region: string;
  /** a fresh bucket of this test's */
  bucket: string;
  s3: S3Client;
  /** a client for another bucket name (not created) */
  client(bucket: string, creds?: { accessKeyId: string; secretAccessKey: string }): S3Client;
  release(): Promise<void>;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((ok, fail) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err)
        fail(
          new Error(
            `${cmd} ${args.join(' ')} failed (${err.message.split('\n')[0]}): ${String(stderr).trim().split('\n').slice(-15).join('\n')}`,
          ),
        );
      else ok(String(stdout));
    });
  });
}

const procStart = async (pid: string) =>
  (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).split(' ')[21] ?? '';

async function liveLeases(): Promise<string[]> {
  const live: string[] = [];
  for (const f of await readdir(LEASES).catch(() => [] as string[])) {
    const want = await readFile(join(LEASES, f), 'utf8').catch(() => '');
    if (want && (await procStart(f)) === want) live.push(f);
    else await rm(join(LEASES, f), { force: true });
  }
  return live;
}

export async function swiftForTests(): Promise<SwiftForTests> {
  if (process.getuid?.() !== 0)
    throw new Error(
      'swiftForTests: scripts/swift/ needs root to install and start Swift; run the tests as root',
    );
  const pid = String(process.pid);
  await mkdir(LEASES, { recursive: true });
  await writeFile(join(LEASES, pid), await procStart(pid));
  const wasRunning = existsSync(join(STATE_DIR, 'pids', 'proxy.pid'));
  let endpoint: string;
  try {
    // the install waits for the dpkg lock (other installs on the machine): up to 20 min
    endpoint = (await run('bash', [join(SCRIPTS, 'start.sh')], 20 * 60_000)).trim().split('\n').pop()!;
  } catch (e) {
    await rm(join(LEASES, pid), { force: true });
    throw new Error(
      `swiftForTests: could not install/start Swift: ${(e as Error).message}\nLogs: ${STATE_DIR}/logs`,
    );
  }
  if (!wasRunning) await writeFile(join(STATE_DIR, 'started-by-tests'), pid);
  const region = 'us-east-1';
  const client = (bucket: string, creds = swiftCredentials) =>
    new S3Client({ endpoint, bucket, region, credentials: creds });
  const bucket = `kaas-test-${pid}-${randomBytes(3).toString('hex')}`;
  const s3 = client(bucket);
  // the proxy can answer before its account and container servers do (500/503 for a few seconds
  // after a start, seen once in a CI run): retry the first write for up to 30 s
  for (let started = Date.now(); ;) {
    try {
      await s3.createBucket();
      break;
    } catch (e) {
      const status = (e as { status?: number }).status ?? 0;
      if (status < 500 || Date.now() - started > 30_000) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return {
    endpoint,
    region,
    bucket,
    s3,
    client,
    async release() {
      for (const o of await s3.list('').catch(() => [])) await s3.deleteObject(o.key).catch(() => undefined);
      for (const u of await s3.listMultipartUploads('').catch(() => []))
        await s3.abortMultipartUpload(u.key, u.uploadId);
      await s3.deleteBucket().catch(() => undefined);
      await rm(join(LEASES, pid), { force: true });
      if ((await liveLeases()).length === 0 && existsSync(join(STATE_DIR, 'started-by-tests'))) {
        await rm(join(STATE_DIR, 'started-by-tests'), { force: true });
        await run('bash', [join(SCRIPTS, 'stop.sh')], 60_000);
      }
    },
  };
}
