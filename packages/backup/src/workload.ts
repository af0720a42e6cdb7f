// The Kubernetes API of a workload cluster KaaS does not host (OpenStack, EKS), reached with a
// client certificate from the cluster CA or the admin kubeconfig of a Secret (workloadAccess.ts):
// a small JSON client over node:https (CA, client certificate or bearer token), enough for the
// Velero driving path. Errors are coded as BackupErrors: unreachable -> CloudUnavailable,
// 401/403 -> AuthFailed, 404 -> undefined from get.
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { parse } from 'yaml';
import { BackupError } from './engine.ts';

type Obj = Record<string, any>;

/** Where the admin kubeconfig of a workload cluster is kept (Cluster API's convention). */
export const kubeconfigSecretKey = 'value';
export const kubeconfigSecretName = (cluster: string) => `${cluster}-kubeconfig`;

export interface WorkloadConnection {
  server: string;
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
  insecure?: boolean;
}

/** The current context's cluster and user of a kubeconfig with embedded (data) credentials. */
export function parseKubeconfig(text: string, where: string): WorkloadConnection {
  let kc: Obj;
  try {
    kc = parse(text) as Obj;
  } catch (e) {
    throw new BackupError('InvalidSpec', `${where}: not a kubeconfig (YAML): ${(e as Error).message}`);
  }
  const byName = (list: unknown, name: unknown) =>
    (Array.isArray(list) ? list : []).find((x: Obj) => x?.name === name) as Obj | undefined;
  const ctx = byName(kc?.contexts, kc?.['current-context'])?.context ?? kc?.contexts?.[0]?.context;
  const cluster = byName(kc?.clusters, ctx?.cluster)?.cluster as Obj | undefined;
  const user = (byName(kc?.users, ctx?.user)?.user ?? {}) as Obj;
  if (!cluster?.server)
    throw new BackupError(
      'InvalidSpec',
      `${where}: the kubeconfig's current context names no cluster server`,
    );
  const b64 = (s: unknown) => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : undefined);
  const unsupported = ['client-certificate', 'client-key', 'tokenFile', 'exec', 'auth-provider'].filter(
    (k) => user[k] !== undefined,
  );
  if (unsupported.length && !user['client-certificate-data'] && !user.token)
    throw new BackupError(
      'InvalidSpec',
      `${where}: the kubeconfig's user uses ${unsupported.join(', ')}; KaaS needs embedded credentials (client-certificate-data/client-key-data or token)`,
    );
  return {
    server: String(cluster.server).replace(/\/+$/, ''),
    ...(cluster['certificate-authority-data'] ? { caPem: b64(cluster['certificate-authority-data'])! } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecure: true } : {}),
    ...(user['client-certificate-data'] ? { certPem: b64(user['client-certificate-data'])! } : {}),
    ...(user['client-key-data'] ? { keyPem: b64(user['client-key-data'])! } : {}),
    ...(typeof user.token === 'string' ? { token: user.token } : {}),
  };
}

export class WorkloadClient {
  readonly #c: WorkloadConnection;
  /** The cluster's name, for messages. */
  readonly cluster: string;
  /** How the connection was obtained (workloadAccess.ts), for status and messages. */
  readonly access: string | undefined;
  readonly #timeoutMs: number;

  constructor(c: WorkloadConnection, cluster: string, o: { timeoutMs?: number; access?: string } = {}) {
    this.#c = c;
    this.cluster = cluster;
    this.#timeoutMs = o.timeoutMs ?? 30_000;
    this.access = o.access;
  }

  get server(): string {
    return this.#c.server;
  }

  /** One request; resolves the parsed body of a 2xx, rejects with a coded BackupError otherwise. */
  request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Obj> {
    const url = new URL(this.#c.server + path);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const what = `${method} ${path} on cluster ${this.cluster} (${this.#c.server})`;
    return new Promise((resolve, reject) => {
      const opts = {
        method,
        timeout: this.#timeoutMs,
        agent: false as const,
        headers: {
          accept: 'application/json',
          ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}),
          ...(this.#c.token ? { authorization: `Bearer ${this.#c.token}` } : {}),
        },
        ...(this.#c.caPem ? { ca: this.#c.caPem } : {}),
        ...(this.#c.certPem ? { cert: this.#c.certPem } : {}),
        ...(this.#c.keyPem ? { key: this.#c.keyPem } : {}),
        rejectUnauthorized: !this.#c.insecure,
      };
      const req = (url.protocol === 'http:' ? httpRequest : request)(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Obj = {};
          try {
            parsed = text ? (JSON.parse(text) as Obj) : {};
          } catch {
            parsed = { message: text.slice(0, 300) };
          }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) return resolve(parsed);
          const msg = `${what}: HTTP ${code} ${parsed.message ?? ''}`.trim();
          const reason =
            code === 401 || code === 403
              ? 'AuthFailed'
              : code === 404
                ? 'NotFound'
                : code === 409
                  ? 'Conflict'
                  : code === 422 || code === 400
                    ? 'InvalidSpec'
                    : code >= 500
                      ? 'CloudUnavailable'
                      : 'Internal';
          const err = new BackupError(
            reason,
            reason === 'AuthFailed'
              ? `${msg}: the cluster rejected KaaS's credentials (${this.access ?? 'its admin kubeconfig'}): fix them`
              : msg,
          );
          (err as { status?: number }).status = code;
          reject(err);
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.#timeoutMs / 1000} s`)));
      req.on('error', (e) =>
        reject(
          new BackupError(
            'CloudUnavailable',
            `${what}: the cluster's Kubernetes API is unreachable: ${e.message}`,
          ),
        ),
      );
      req.end(payload);
    });
  }

  /** The object, or undefined when it (or its kind) does not exist. */
  async get(path: string): Promise<Obj | undefined> {
    try {
      return await this.request('GET', path);
    } catch (e) {
      if ((e as { status?: number }).status === 404) return undefined;
      throw e;
    }
  }

  async list(path: string): Promise<Obj[]> {
    return ((await this.get(path))?.items ?? []) as Obj[];
  }

  create(path: string, body: Obj): Promise<Obj> {
    return this.request('POST', path, body);
  }

  mergePatch(path: string, body: Obj): Promise<Obj> {
    return this.request('PATCH', path, body, 'application/merge-patch+json');
  }

  async delete(path: string): Promise<void> {
    try {
      await this.request('DELETE', path);
    } catch (e) {
      if ((e as { status?: number }).status !== 404) throw e;
    }
  }
}

/** The REST path of a velero.io/v1 object (or collection, without a name). */
export function veleroPath(namespace: string, plural: string, name?: string, version = 'v1'): string {
  return `/apis/velero.io/${version}/namespaces/${encodeURIComponent(namespace)}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}
