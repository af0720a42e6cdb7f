// Keeps a Cluster's node bootstrap token valid (docs/openstack.md, "Bootstrap token refresh").
// The token in `<cluster>-node-bootstrap` (nodeBootstrap.ts) goes into every new server's user
// data; kubeadm registers it at `kubeadm init` with a 24 h TTL, so a node added or replaced later
// than that could not join. Before the current token gets within `refreshBeforeMs` of its expiry,
// a pass of the reconciler:
//
//   1. makes the next token and records it in the Secret beside the current one
//      (`bootstrap-token-next`, `bootstrap-token-next-expires`): new servers still get the current one;
//   2. puts it in place in the cluster (a `kube-system/bootstrap-token-<id>` Secret, what
//      `kubeadm token create` writes), through `register`;
//   3. only then makes it the current one (`bootstrap-token`, `bootstrap-token-expires`).
//
// The old token is never deleted: it stays valid in the cluster until its own expiry, so servers
// created with it moments before the switch still join. Every Secret write carries the
// resourceVersion it read: two passes at once cannot both make a next token. A pass that fails
// at step 2 (the cluster's API does not answer) leaves the current token in use and says so; the
// next pass retries with the same next token (or a new one, if the recorded one would no longer
// last `refreshBeforeMs`). Step 1 before 2 makes a crash harmless: the
// recorded next token is registered again (idempotent) or, if it never was, simply registered.
import { request } from 'node:https';
import type { Cluster } from '@kaas/api';
import { isConflict, type InProcessClient } from '@kaas/controllers';
import { newBootstrapToken } from '@kaas/openstack/provider';
import { nodeBootstrapSecretName } from './nodeBootstrap.ts';

/** kubeadm's default, and the TTL the init node's InitConfiguration gives the first token. */
export const BOOTSTRAP_TOKEN_TTL_MS = 24 * 3600_000;
/** A node's user data must stay usable while it boots, installs and joins: hours, not minutes. */
export const BOOTSTRAP_TOKEN_REFRESH_BEFORE_MS = 8 * 3600_000;

export const tokenKeys = {
  current: 'bootstrap-token',
  currentExpires: 'bootstrap-token-expires',
  next: 'bootstrap-token-next',
  nextExpires: 'bootstrap-token-next-expires',
} as const;

/** Puts a token in place in the workload cluster; idempotent (the same token twice is fine). */
export type TokenRegistrar = (token: string, expiresAt: Date, signal?: AbortSignal) => Promise<void>;

export interface RefreshOptions {
  client: Pick<InProcessClient, 'get' | 'update'>;
  cluster: Cluster;
  register: TokenRegistrar;
  now?: () => number;
  ttlMs?: number;
  refreshBeforeMs?: number;
  /** After a failed registration (default 1 min). */
  retryMs?: number;
  newToken?: () => string;
  signal?: AbortSignal;
}

export interface RefreshResult {
  /** The token new servers get now, and when it expires. */
  token: string;
  expiresAt: Date;
  /** A token was made current in this pass. */
  refreshed: boolean;
  /** When to look again: the next refresh time, or the retry after a failure. */
  requeueAfterMs: number;
  /** Set when the next token could not be put in place. */
  error?: string;
}

interface SecretObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; creationTimestamp?: string };
  data?: Record<string, string>;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string | undefined =>
  s === undefined || s === '' ? undefined : Buffer.from(s, 'base64').toString('utf8');

/** When the Secret's current token expires: recorded, else its creation + TTL (init runs later, so
 * the real expiry is later than this: refreshing early is the safe side). */
export function currentTokenExpiry(secret: SecretObject, ttlMs = BOOTSTRAP_TOKEN_TTL_MS): Date {
  const recorded = unb64(secret.data?.[tokenKeys.currentExpires]);
  if (recorded !== undefined && !Number.isNaN(Date.parse(recorded))) return new Date(recorded);
  const created = Date.parse(secret.metadata.creationTimestamp ?? '');
  if (Number.isNaN(created))
    throw new Error(
      `Secret ${secret.metadata.name}: neither ${tokenKeys.currentExpires} nor a creationTimestamp to date its bootstrap token`,
    );
  return new Date(created + ttlMs);
}

/** One refresh step per call of the reconciler; see the file comment. */
export async function refreshBootstrapToken(o: RefreshOptions): Promise<RefreshResult> {
  const now = o.now ?? Date.now;
  const ttl = o.ttlMs ?? BOOTSTRAP_TOKEN_TTL_MS;
  const before = o.refreshBeforeMs ?? BOOTSTRAP_TOKEN_REFRESH_BEFORE_MS;
  const namespace = o.cluster.metadata.namespace ?? 'default';
  const name = nodeBootstrapSecretName(o.cluster);
  const ref = { cluster: 'root', apiVersion: 'v1', kind: 'Secret', namespace, name };
  const write = async (
    secret: SecretObject,
    data: Record<string, string>,
  ): Promise<SecretObject | undefined> => {
    try {
      // the resourceVersion read: a concurrent writer makes this a 409, and the caller re-reads
      return (await o.client.update('root', { ...secret, data } as never)) as unknown as SecretObject;
    } catch (e) {
      if (isConflict(e)) return undefined;
      throw e;
    }
  };
  for (let round = 0; ; round++) {
    if (round === 5) throw new Error(`Secret ${namespace}/${name}: changed under every one of 5 updates`);
    const secret = (await o.client.get(ref)) as unknown as SecretObject;
    const data = { ...(secret.data ?? {}) };
    const token = unb64(data[tokenKeys.current]);
    if (token === undefined) throw new Error(`Secret ${namespace}/${name}: no ${tokenKeys.current}`);
    const expiresAt = currentTokenExpiry(secret, ttl);
    const refreshAt = expiresAt.getTime() - before;
    let next = unb64(data[tokenKeys.next]);
    let nextExpires = unb64(data[tokenKeys.nextExpires]);
    // a next token recorded so long ago that it would not last: made again
    const stale = nextExpires !== undefined && Date.parse(nextExpires) - now() < before;
    if (next === undefined || nextExpires === undefined || stale) {
      if (now() < refreshAt) return { token, expiresAt, refreshed: false, requeueAfterMs: refreshAt - now() };
      // 1. record the next token before it exists anywhere else
      next = (o.newToken ?? newBootstrapToken)();
      nextExpires = new Date(now() + ttl).toISOString();
      const moved = await write(secret, {
        ...data,
        [tokenKeys.next]: b64(next),
        [tokenKeys.nextExpires]: b64(nextExpires),
      });
      if (moved === undefined) continue;
      return finish(moved, next, nextExpires, token, expiresAt);
    }
    return finish(secret, next, nextExpires, token, expiresAt);
  }

  async function finish(
    secret: SecretObject,
    next: string,
    nextExpires: string,
    token: string,
    expiresAt: Date,
  ): Promise<RefreshResult> {
    // 2. in place in the cluster
    try {
      await o.register(next, new Date(nextExpires), o.signal);
    } catch (e) {
      return {
        token,
        expiresAt,
        refreshed: false,
        requeueAfterMs: o.retryMs ?? 60_000,
        error: `the next bootstrap token could not be put in place in the cluster (${(e as Error).message}); new nodes keep the current one, which expires ${expiresAt.toISOString()}`,
      };
    }
    // 3. current; on a conflict re-read: another pass may have promoted it already
    for (let s: SecretObject | undefined = secret, round = 0; round < 5; round++) {
      const data = { ...(s.data ?? {}) };
      if (unb64(data[tokenKeys.current]) !== next) {
        if (unb64(data[tokenKeys.next]) !== next) break; // someone else moved on: nothing of ours to promote
        data[tokenKeys.current] = b64(next);
        data[tokenKeys.currentExpires] = b64(nextExpires);
        delete data[tokenKeys.next];
        delete data[tokenKeys.nextExpires];
        const written = await write(s, data);
        if (written !== undefined) break;
      } else break;
      s = (await o.client.get({
        cluster: 'root',
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: secret.metadata.namespace ?? 'default',
        name: secret.metadata.name,
      })) as unknown as SecretObject;
    }
    const at = new Date(nextExpires);
    return {
      token: next,
      expiresAt: at,
      refreshed: true,
      requeueAfterMs: Math.max(0, at.getTime() - before - now()),
    };
  }
}

/** A workload cluster's API as KaaS reaches it (the same shape as @kaas/clusters' WorkloadApi). */
export interface ClusterApi {
  url: string;
  caPem?: string;
  clientCertPem: string;
  clientKeyPem: string;
}

/**
 * The registrar that writes what `kubeadm token create` writes: the Secret
 * `kube-system/bootstrap-token-<id>` of type `bootstrap.kubernetes.io/token`, for authentication
 * and signing, in kubeadm's node group (which its RBAC lets join and get their certificates).
 * 409: that token id exists, i.e. an earlier pass put it there.
 */
export function workloadTokenRegistrar(api: ClusterApi, timeoutMs = 10_000): TokenRegistrar {
  return async (token, expiresAt, signal) => {
    const m = /^([a-z0-9]{6})\.([a-z0-9]{16})$/.exec(token);
    if (!m) throw new Error('not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16}); the value is not shown');
    const [, id, secret] = m as unknown as [string, string, string];
    const body = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'bootstrap.kubernetes.io/token',
      metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
      // data, not stringData: the same bytes whichever API server decodes it
      data: Object.fromEntries(
        Object.entries({
          description: 'node bootstrap token made by KaaS (refreshed before the previous one expired)',
          'token-id': id,
          'token-secret': secret,
          expiration: expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          'usage-bootstrap-authentication': 'true',
          'usage-bootstrap-signing': 'true',
          'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
        }).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
      ),
    });
    const url = `${api.url.replace(/\/$/, '')}/api/v1/namespaces/kube-system/secrets`;
    return new Promise<void>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          cert: api.clientCertPem,
          key: api.clientKeyPem,
          ...(api.caPem ? { ca: api.caPem } : { rejectUnauthorized: false }),
          timeout: timeoutMs,
          ...(signal ? { signal } : {}),
          agent: false,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status < 300 || status === 409) resolve();
            else reject(new Error(`POST ${url}: HTTP ${status} ${text.slice(0, 200)}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`POST ${url}: no answer in ${timeoutMs / 1000} s`)));
      req.on('error', reject);
      req.end(body);
    });
  };
}
