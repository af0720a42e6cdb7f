// `kaasctl server`: open storage, make sure the PKI and admin kubeconfig exist, serve until a
// signal, then shut down cleanly (watches closed, storage flushed).
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ApiServer, PodSecurityAdmission, ensurePki, openStore, renderKubeconfig } from '@kaas/apiserver';
import { installManagementAPI } from './management.ts';
import type { AuthBackendName } from './auth.ts';
import { defaultAdminRole, setupAuth } from './auth.ts';
import type { OidcClient } from '@kaas/auth';
import { setupConsole } from './console-setup.ts';
import { loadBackchannelCas, loadOidcClientFiles } from './oidc-relying-parties.ts';

export interface ServerFlags {
  dataDir: string;
  listen: string;
  storage: 'sqlite' | 'etcd';
  etcdEndpoints?: string;
  /** identity backends, comma-separated; the first is the default (local) */
  authBackend?: string;
  /** groups bound to cluster-admin on the management cluster (repeatable) */
  adminRoleId?: string[];
  tokenTtl?: string;
  tokenCacheTtl?: string;
  /** clouds.yaml cloud that openstack Clusters are built in (the operator's project) */
  openstackCloud?: string;
  /** clouds.yaml cloud (an application credential) the openstack Clusters' nodes' CCM uses */
  openstackCcmCloud?: string;
  /** KaaS's URL as openstack Clusters' nodes reach it (TokenReview webhook); default: the listen URL */
  kaasUrl?: string;
  /** run the SSO proxy in this process (docs/sso-proxy.md, "Under kaasctl server") */
  ssoProxyConfig?: string;
  ssoProxyPort?: string;
  /** how long a console sign-in lasts (default 8h) */
  consoleSessionTtl?: string;
  /** relying parties elsewhere (a standalone sso-proxy): their registrations, YAML (repeatable) */
  oidcClient?: string[];
  /** CA bundles the issuer trusts when it calls relying parties back (repeatable) */
  oidcBackchannelCa?: string[];
}

const backendNames: readonly AuthBackendName[] = ['local', 'keystone'];

function parseBackends(s: string): AuthBackendName[] {
  const names = s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !backendNames.includes(n as AuthBackendName));
  if (bad.length || !names.length)
    throw new Error(`--auth-backend ${JSON.stringify(s)}: use local, keystone or both (local,keystone)`);
  return [...new Set(names)] as AuthBackendName[];
}

/** 90m, 12h, 3600s or plain seconds. */
export function parseDuration(s: string, flag: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(s.trim());
  if (!m || Number(m[1]) <= 0)
    throw new Error(`${flag} ${JSON.stringify(s)}: a duration such as 3600s, 90m or 12h`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
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
  let backends: AuthBackendName[];
  let tokenTtlSeconds: number | undefined;
  let cacheTtlSeconds: number | undefined;
  let consoleSessionTtlS: number | undefined;
  let ssoProxyPort: number | undefined;
  let backchannelCas = '';
  // the console's and the SSO proxy's registrations are added once their URLs are known
  const oidcClients: OidcClient[] = [];
  try {
    backchannelCas = await loadBackchannelCas(flags.oidcBackchannelCa ?? []);
    oidcClients.push(...(await loadOidcClientFiles(flags.oidcClient ?? [])));
    consoleSessionTtlS = flags.consoleSessionTtl
      ? parseDuration(flags.consoleSessionTtl, '--console-session-ttl')
      : undefined;
    if (flags.ssoProxyPort !== undefined) {
      ssoProxyPort = Number(flags.ssoProxyPort);
      if (!/^\d{1,5}$/.test(flags.ssoProxyPort) || ssoProxyPort > 65535)
        throw new Error(`--sso-proxy-port ${JSON.stringify(flags.ssoProxyPort)}: a port, 0 for any free one`);
    }
    backends = parseBackends(flags.authBackend ?? 'local');
    tokenTtlSeconds = flags.tokenTtl ? parseDuration(flags.tokenTtl, '--token-ttl') : undefined;
    cacheTtlSeconds = flags.tokenCacheTtl
      ? parseDuration(flags.tokenCacheTtl, '--token-cache-ttl')
      : undefined;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
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
  const log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) =>
    console.error(JSON.stringify({ level, msg, ...fields }));
  let auth;
  try {
    auth = await setupAuth(
      kv,
      {
        backends,
        adminRoleIds: flags.adminRoleId?.length ? flags.adminRoleId : [defaultAdminRole],
        ...(process.env.KAAS_ADMIN_PASSWORD ? { adminPassword: process.env.KAAS_ADMIN_PASSWORD } : {}),
        ...(tokenTtlSeconds ? { tokenTtlSeconds } : {}),
        ...(cacheTtlSeconds ? { cacheTtlMs: cacheTtlSeconds * 1000 } : {}),
        oidcClients,
        // its own CA (the in-process console and proxy) plus the operator's, for relying parties elsewhere
        oidcCaPem: backchannelCas ? `${pki.ca.certPem.trimEnd()}\n${backchannelCas}\n` : pki.ca.certPem,
      },
      log,
    );
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    await kv.close();
    return 2;
  }
  const web = setupConsole({
    kv,
    auth,
    oidcClients,
    pki: {
      caPem: pki.ca.certPem,
      caFile: join(dataDir, 'pki', 'ca.crt'),
      certPem: pki.serving.certPem,
      keyPem: pki.serving.keyPem,
    },
    host: host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host,
    ...(flags.ssoProxyConfig ? { ssoProxyConfig: flags.ssoProxyConfig } : {}),
    ...(ssoProxyPort !== undefined ? { ssoProxyPort } : {}),
    ...(consoleSessionTtlS ? { sessionTtlS: consoleSessionTtlS } : {}),
    log,
  });
  const server = new ApiServer({
    kv,
    tls: { certPem: pki.serving.certPem, keyPem: pki.serving.keyPem, caPem: pki.ca.certPem },
    log,
    authenticators: auth.authenticators,
    routes: [...auth.routes, web.route],
    // the seed's pod rules in every cluster: Pod Security "restricted" unless an operator
    // labels a namespace otherwise (cluster users cannot); kube-system is exempt as upstream
    admission: [new PodSecurityAdmission({ exemptions: { namespaces: ['kube-system'] } })],
  });
  const addr = await server.listen(host, port);
  await installManagementAPI(server);
  const shownHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `https://${shownHost}:${addr.port}`;
  let generatedAdminPassword: string | undefined;
  try {
    await web.start(server, url);
    ({ generatedAdminPassword } = await auth.attach(server, url));
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    await web.close();
    auth.close();
    await server.close();
    await kv.close();
    return 1;
  }
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
  // the controllers: Clusters (cloud, nodes, services) and the local clusters' kubelets and
  // workload controllers, on the same store; they run while this process holds the Lease
  // SQLite is one process's file: no standby to elect (and a restart after kill -9 need not wait
  // out the dead holder's Lease); etcd may be shared by several servers
  // (loaded here, not at the top: every other kaasctl command starts faster without them)
  const [
    { Manager },
    { addClusterController, localClusterName },
    { installLocalClusterControllers, ensureClusterDefaults },
    { LocalCloud, ServiceLoadBalancers },
  ] = await Promise.all([
    import('@kaas/controllers'),
    import('@kaas/clusters'),
    import('@kaas/localcluster'),
    import('@kaas/providers/local'),
  ]);
  const manager = new Manager({ server, kv, log, leaderElection: flags.storage === 'etcd' });
  let openstack;
  try {
    openstack = flags.openstackCloud
      ? (await import('./openstack.ts')).openStackProviders({
          cloudName: flags.openstackCloud,
          ...(flags.openstackCcmCloud ? { ccmCloudName: flags.openstackCcmCloud } : {}),
          env: process.env,
          client: manager.client,
          kaasCa: pki.ca,
          kaasUrl: flags.kaasUrl ?? url,
          kaasUrlFromFlag: flags.kaasUrl !== undefined,
        })
      : undefined;
  } catch (e) {
    // a bad clouds.yaml (or a password as --openstack-ccm-cloud): say so and stop, not serve on
    console.error(`error: ${(e as Error).message}`);
    await web.close();
    auth.close();
    await server.close();
    await kv.close();
    return 2;
  }
  const cloud = await LocalCloud.open({ store: kv });
  const clusters = addClusterController({
    manager,
    server,
    cloud,
    baseUrl: url,
    dataDir,
    ensureClusterDefaults,
    log,
    ...(openstack
      ? {
          providers: { openstack: openstack.openstack },
          workloadApi: openstack.workloadApi,
          externalUpkeep: openstack.upkeep,
          externalTeardown: openstack.teardown,
        }
      : {}),
  });
  // the local clusters' kubelets, scheduler and workload controllers act only on logical clusters
  // of a Cluster that is not being deleted: a straggling pass over a destroyed cluster would
  // otherwise bring its default namespaces and roles back (found by the 1,000-cluster bench)
  const liveByKey = new Map<string, string>();
  const live = new Map<string, number>();
  // a local cluster's name -> its Cluster's uid: Services' load balancers carry it as their owner tag
  const uidByName = new Map<string, string>();
  const forget = (key: string) => {
    const name = liveByKey.get(key);
    if (name === undefined) return;
    liveByKey.delete(key);
    const n = (live.get(name) ?? 1) - 1;
    if (n > 0) live.set(name, n);
    else live.delete(name);
  };
  clusters.clusters.addHandler((e) => {
    forget(e.key);
    if (e.type === 'delete' || e.obj.metadata.deletionTimestamp) return;
    const name = localClusterName(e.obj);
    liveByKey.set(e.key, name);
    live.set(name, (live.get(name) ?? 0) + 1);
    if (e.obj.metadata.uid) uidByName.set(name, e.obj.metadata.uid);
  });
  installLocalClusterControllers(manager, {
    dataDir,
    clusters: (name) => live.has(name),
    // Services of type LoadBalancer get a local cloud load balancer, deleted with the Service or
    // by the cluster's destroy (it carries the cluster's ownership tag)
    loadBalancers: new ServiceLoadBalancers({
      cloud,
      clusterUid: (name) => (live.has(name) ? uidByName.get(name) : undefined),
    }),
  });
  // Backup, Restore and BackupSchedule (docs/backups.md): local clusters archived to S3 storage,
  // the others through their Velero, reached like the destroy reaches them (no Secret needed)
  const { addBackupControllers } = await import('@kaas/backup');
  const { workloadApiSource } = await import('./workloadApi.ts');
  addBackupControllers({
    manager,
    server,
    dataDir,
    log,
    workloadApi: workloadApiSource(manager.client, 'kaas:backup'),
  });
  await manager.start();
  console.log(`KaaS API server listening on ${url} (storage: ${flags.storage})`);
  console.log(`admin kubeconfig: ${kubeconfigPath}`);
  if (openstack) console.log(`openstack Clusters are built in ${openstack.source}`);
  console.log(`  kubectl --kubeconfig ${kubeconfigPath} get namespaces`);
  console.log(`identity backends: ${backends.join(', ')} (exchange: POST ${url}/auth/v1/tokens)`);
  console.log(`OpenID Connect issuer: ${url}/oidc`);
  for (const line of web.summary(url)) console.log(line);
  if (generatedAdminPassword) {
    // shown once: only its scrypt hash is kept
    console.log(`local user "admin" created; its password (shown only now): ${generatedAdminPassword}`);
    console.log(
      `  kaasctl auth login --server ${url} --ca-file ${join(dataDir, 'pki', 'ca.crt')} --username admin`,
    );
  }

  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
  console.log('shutting down');
  await manager.stop();
  await web.close();
  auth.close();
  await server.close();
  await kv.close();
  return 0;
}
