// Service account tokens: the TokenRequest API (`kubectl create token SA`, POST
// .../serviceaccounts/NAME/token) issues ES256 JWTs with upstream's claims, and the
// authentication chain accepts them. The signing key lives in the store, so every server on one
// etcd signs and verifies with the same key. Like upstream's bound tokens, a token stops working
// when its service account (or bound pod/secret) is deleted or recreated (uid checked), and it is
// bound to its logical cluster: a token from one cluster is refused by another.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { KVStore } from '../storage/kv.ts';
import { KeyExistsError } from '../storage/kv.ts';
import { errors, StatusError } from '../errors.ts';
import type { KObject } from './objects.ts';

export const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';
const keyPath = '/kaas/serviceaccounts/signing-key';
const clusterClaim = 'kaas.dev/cluster';
const minExpirationSeconds = 600;
const maxExpirationSeconds = 48 * 3600;
const defaultExpirationSeconds = 3600;

export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    secret?: { name: string; uid: string };
  };
  [clusterClaim]: string;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export class ServiceAccountTokens {
  readonly #kv: KVStore;
  readonly #clock: () => number;
  #keys: Promise<{ priv: KeyObject; pub: KeyObject; kid: string }> | undefined;

  constructor(kv: KVStore, clock: () => number = Date.now) {
    this.#kv = kv;
    this.#clock = clock;
  }

  /** The key pair, created once per store (first writer wins). */
  #key(): Promise<{ priv: KeyObject; pub: KeyObject; kid: string }> {
    this.#keys ??= (async () => {
      let { kv } = await this.#kv.get(keyPath);
      if (!kv) {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
        try {
          await this.#kv.create(keyPath, JSON.stringify({ pem, kid: randomUUID() }));
        } catch (e) {
          if (!(e instanceof KeyExistsError)) throw e;
        }
        ({ kv } = await this.#kv.get(keyPath));
      }
      const { pem, kid } = JSON.parse(kv!.value) as { pem: string; kid: string };
      const priv = createPrivateKey(pem);
      return { priv, pub: createPublicKey(priv), kid };
    })().catch((e: unknown) => {
      this.#keys = undefined;
      throw e;
    });
    return this.#keys;
  }

  /** Answers a TokenRequest for `sa` (already read from the store) in `cluster`. */
  async issue(
    cluster: string,
    sa: KObject,
    body: KObject,
    bound?: { kind: 'Pod' | 'Secret'; obj: KObject },
  ): Promise<KObject> {
    const spec = (body.spec ?? {}) as { audiences?: unknown; expirationSeconds?: unknown };
    const causes: { reason: string; field: string; message: string }[] = [];
    const exp = spec.expirationSeconds ?? defaultExpirationSeconds;
    if (typeof exp !== 'number' || !Number.isInteger(exp) || exp < minExpirationSeconds)
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'spec.expirationSeconds',
        message: `Invalid value: ${JSON.stringify(exp)}: may not specify a duration less than ${minExpirationSeconds} seconds`,
      });
    const audiences = spec.audiences ?? [];
    if (
      !Array.isArray(audiences) ||
      !audiences.every((a) => typeof a === 'string' && a.length > 0 && a.length < 1024)
    )
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'spec.audiences',
        message: 'Invalid value: a list of non-empty strings',
      });
    if (causes.length)
      throw errors.invalid('TokenRequest', 'authentication.k8s.io', sa.metadata.name ?? '', causes);
    const now = Math.floor(this.#clock() / 1000);
    const seconds = Math.min(exp as number, maxExpirationSeconds);
    const ns = sa.metadata.namespace as string;
    const name = sa.metadata.name as string;
    const claims: ServiceAccountClaims = {
      iss: serviceAccountIssuer,
      sub: `system:serviceaccount:${ns}:${name}`,
      aud: (audiences as string[]).length ? (audiences as string[]) : [serviceAccountIssuer],
      exp: now + seconds,
      iat: now,
      nbf: now,
      jti: randomUUID(),
      'kubernetes.io': {
        namespace: ns,
        serviceaccount: { name, uid: sa.metadata.uid as string },
        ...(bound?.kind === 'Pod'
          ? { pod: { name: bound.obj.metadata.name as string, uid: bound.obj.metadata.uid as string } }
          : {}),
        ...(bound?.kind === 'Secret'
          ? { secret: { name: bound.obj.metadata.name as string, uid: bound.obj.metadata.uid as string } }
          : {}),
      },
      [clusterClaim]: cluster,
    };
    const { priv, kid } = await this.#key();
    const input = `${b64({ alg: 'ES256', kid, typ: 'JWT' })}.${b64(claims)}`;
    const sig = sign('sha256', Buffer.from(input), { key: priv, dsaEncoding: 'ieee-p1363' });
    return {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name, namespace: ns, creationTimestamp: null as unknown as string },
      spec: {
        audiences: claims.aud,
        expirationSeconds: seconds,
        boundObjectRef: (body.spec as KObject | undefined)?.boundObjectRef ?? null,
      },
      status: {
        token: `${input}.${sig.toString('base64url')}`,
        expirationTimestamp: new Date(claims.exp * 1000).toISOString(),
      },
    };
  }

  /**
   * A JWT of ours, checked: signature, time, audience and cluster. null when it is not a
   * service account token at all (another authenticator may know it); a 401 when it is ours
   * and does not hold. The caller still checks the service account (and bound object) exist.
   */
  async verify(token: string, cluster: string): Promise<ServiceAccountClaims | null> {
    const parts = token.split('.');
    if (parts.length !== 3 || !token.startsWith('eyJ') || token.length > 8192) return null;
    let header: { alg?: string; kid?: string };
    let claims: ServiceAccountClaims;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as typeof header;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as ServiceAccountClaims;
    } catch {
      return null;
    }
    if (claims?.iss !== serviceAccountIssuer) return null;
    const { pub, kid } = await this.#key();
    const ok =
      header.alg === 'ES256' &&
      header.kid === kid &&
      verify(
        'sha256',
        Buffer.from(`${parts[0]}.${parts[1]}`),
        { key: pub, dsaEncoding: 'ieee-p1363' },
        Buffer.from(parts[2]!, 'base64url'),
      );
    if (!ok) throw errors.unauthorized('Unauthorized: invalid service account token signature');
    const now = Math.floor(this.#clock() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= now)
      throw errors.unauthorized(
        'Unauthorized: service account token expired; request a new one (kubectl create token)',
      );
    if (typeof claims.nbf === 'number' && claims.nbf > now + 60)
      throw errors.unauthorized('Unauthorized: service account token not valid yet');
    if (!Array.isArray(claims.aud) || !claims.aud.includes(serviceAccountIssuer))
      throw errors.unauthorized(
        `Unauthorized: service account token is not for this API server (audience ${serviceAccountIssuer})`,
      );
    if (claims[clusterClaim] !== cluster)
      throw errors.unauthorized('Unauthorized: service account token is for another cluster');
    if (!claims['kubernetes.io']?.serviceaccount?.uid)
      throw errors.unauthorized('Unauthorized: malformed service account token');
    return claims;
  }
}

export function isStatus401(e: unknown): boolean {
  return e instanceof StatusError && e.code === 401;
}
