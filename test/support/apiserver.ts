// Starts a real KaaS API server in-process over HTTPS on port 0, with its own PKI and an admin
// kubeconfig, for integration tests that drive it with kubectl and client-node.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import type { AdmissionPlugin, KVStore } from '@kaas/apiserver';
import { ApiServer, ensurePki, issueCertificate, openStore, renderKubeconfig } from '@kaas/apiserver';

export interface TestServer {
  url: string;
  dir: string;
  kubeconfig: string;
  server: ApiServer;
  kv: KVStore;
  /** Kubeconfig for a logical cluster of this server. */
  kubeconfigFor(cluster: string): Promise<string>;
  /** Kubeconfig with a client certificate from the server's CA: CN = user, O = groups. */
  userKubeconfig(user: string, groups?: string[], cluster?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestServer(
  opts: { kv?: KVStore; admission?: AdmissionPlugin[] } = {},
): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-it-'));
  const kv = opts.kv ?? (await openStore({ kind: 'sqlite', path: join(dir, 'kaas.db') }));
  const pki = await ensurePki(join(dir, 'pki'), []);
  const server = new ApiServer({
    kv,
    tls: { certPem: pki.serving.certPem, keyPem: pki.serving.keyPem, caPem: pki.ca.certPem },
    admission: opts.admission,
  });
  const addr = await server.listen('127.0.0.1', 0);
  const url = `https://127.0.0.1:${addr.port}`;
  const write = async (name: string, server: string, client = pki.admin) => {
    const path = join(dir, name);
    await writeFile(
      path,
      renderKubeconfig({ server, caPem: pki.ca.certPem, clusterName: 'kaas', userName: 'user', client }),
    );
    return path;
  };
  const kubeconfig = await write('admin.kubeconfig', url);
  return {
    url,
    dir,
    kubeconfig,
    server,
    kv,
    kubeconfigFor: (cluster) => write(`${cluster}.kubeconfig`, `${url}/clusters/${cluster}`),
    async userKubeconfig(user, groups = [], cluster) {
      const client = await issueCertificate(pki.ca, {
        commonName: user,
        organizations: groups,
        usage: 'client',
      });
      return write(
        `${user}-${cluster ?? 'root'}.kubeconfig`,
        cluster ? `${url}/clusters/${cluster}` : url,
        client,
      );
    },
    async stop() {
      await server.close();
      await kv.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a real kubectl (default the one on PATH; `version` picks kubectl.1.NN beside it). */
export function kubectl(
  kubeconfig: string,
  args: string[],
  opts: { input?: string; version?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<KubectlResult> {
  const bin = opts.version ? kubectlPath(opts.version) : 'kubectl';
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      ['--kubeconfig', kubeconfig, ...args],
      {
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, HOME: join(kubeconfig, '..'), ...opts.env },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) {
      child.stdin?.end(opts.input);
    }
  });
}

export function kubectlPath(version: string): string {
  return `/usr/lib/google-cloud-sdk/bin/kubectl.${version}`;
}
