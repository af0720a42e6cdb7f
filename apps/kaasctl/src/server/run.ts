// `kaasctl server`: open storage, make sure the PKI and admin kubeconfig exist, serve until a
// signal, then shut down cleanly (watches closed, storage flushed).
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ApiServer, ensurePki, openStore, renderKubeconfig } from '@kaas/apiserver';
import { installManagementAPI } from './management.ts';

export interface ServerFlags {
  dataDir: string;
  listen: string;
  storage: 'sqlite' | 'etcd';
  etcdEndpoints?: string;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new Error(
      `--listen ${JSON.stringify(listen)}: expected HOST:PORT such as 127.0.0.1:6443 or [::1]:6443`,
    );
  }
  return { host: (m[1] ?? m[2])!, port };
}

export async function runServer(flags: ServerFlags, signal?: AbortSignal): Promise<number> {
  const { host, port } = parseListen(flags.listen);
  const dataDir = resolve(flags.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (flags.storage === 'etcd' && !flags.etcdEndpoints) {
    console.error(
      'error: --storage etcd needs --etcd-endpoints URL[,URL...] (for example http://127.0.0.1:2379)',
    );
    return 2;
  }
  const kv = await openStore(
    flags.storage === 'etcd'
      ? {
          kind: 'etcd',
          endpoints: flags
            .etcdEndpoints!.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : { kind: 'sqlite', path: join(dataDir, 'kaas.db') },
  );
  const pki = await ensurePki(join(dataDir, 'pki'), host === '0.0.0.0' || host === '::' ? [] : [host]);
  const server = new ApiServer({
    kv,
    tls: { certPem: pki.serving.certPem, keyPem: pki.serving.keyPem, caPem: pki.ca.certPem },
    log: (level, msg, fields) => console.error(JSON.stringify({ level, msg, ...fields })),
  });
  const addr = await server.listen(host, port);
  await installManagementAPI(server);
  const shownHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `https://${shownHost}:${addr.port}`;
  const kubeconfigPath = join(dataDir, 'admin.kubeconfig');
  await writeFile(
    kubeconfigPath,
    renderKubeconfig({
      server: url,
      caPem: pki.ca.certPem,
      clusterName: 'kaas',
      userName: 'kaas-admin',
      client: pki.admin,
    }),
    { mode: 0o600 },
  );
  console.log(`KaaS API server listening on ${url} (storage: ${flags.storage})`);
  console.log(`admin kubeconfig: ${kubeconfigPath}`);
  console.log(`  kubectl --kubeconfig ${kubeconfigPath} get namespaces`);

  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
  console.log('shutting down');
  await server.close();
  await kv.close();
  return 0;
}
