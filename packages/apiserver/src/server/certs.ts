// The server's own PKI: one CA, a serving certificate and client certificates (CN = user,
// O = groups, as Kubernetes reads them). ECDSA P-256 keeps generation in milliseconds.
import { webcrypto, X509Certificate as NodeX509, createPrivateKey } from 'node:crypto';
import type { webcrypto as wc } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isIP } from 'node:net';
// @peculiar/x509 needs a Reflect metadata polyfill loaded first.
import '@abraham/reflection';
import * as x509 from '@peculiar/x509';

type CryptoKey = wc.CryptoKey;
type CryptoKeyPair = wc.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const dayMs = 24 * 3600 * 1000;

export interface KeyAndCert {
  certPem: string;
  keyPem: string;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  // Convert PKCS#8 to the SEC1 "EC PRIVATE KEY" form only if needed; Node and Go accept PKCS#8.
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, alg, true, ['sign']);
}

function rdn(cn: string, orgs: readonly string[] = []): string {
  const esc = (s: string) => s.replace(/([,+"\\<>;=])/g, '\\$1');
  return [`CN=${esc(cn)}`, ...orgs.map((o) => `O=${esc(o)}`)].join(', ');
}

export async function createCA(commonName = 'kaas-ca'): Promise<KeyAndCert> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: rdn(commonName),
    keys,
    signingAlgorithm: alg,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 10 * 365 * dayMs),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

export interface IssueOptions {
  commonName: string;
  organizations?: readonly string[];
  /** DNS names and IP addresses for a serving certificate. */
  hosts?: readonly string[];
  usage: 'server' | 'client';
  validDays?: number;
}

export async function issueCertificate(ca: KeyAndCert, opts: IssueOptions): Promise<KeyAndCert> {
  const keys = await keyPair();
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importKeyPem(ca.keyPem);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(
      [opts.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
    await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
  ];
  if (opts.hosts?.length) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        opts.hosts.map((h) =>
          isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h },
        ),
        false,
      ),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    subject: rdn(opts.commonName, opts.organizations),
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: alg,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + (opts.validDays ?? 365) * dayMs),
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

/** Reads CN and O from a peer certificate as Kubernetes does (user and groups). */
export function identityFromCertificate(cert: { subject?: Record<string, string | string[]> } | undefined): {
  user: string;
  groups: string[];
} | null {
  const subject = cert?.subject;
  if (!subject) return null;
  const cn = subject.CN;
  const user = Array.isArray(cn) ? cn[0] : cn;
  if (!user) return null;
  const o = subject.O;
  const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
  return { user, groups };
}

export interface ServerPki {
  ca: KeyAndCert;
  serving: KeyAndCert;
  admin: KeyAndCert;
  created: boolean;
}

/**
 * Loads the PKI from `dir`, creating it on first start. The serving certificate is reissued
 * when a requested host is missing from it.
 */
export async function ensurePki(dir: string, hosts: readonly string[]): Promise<ServerPki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = (n: string) => join(dir, n);
  const read = async (n: string) => readFile(p(n), 'utf8').catch(() => undefined);
  let created = false;
  let ca: KeyAndCert;
  const [caCert, caKey] = await Promise.all([read('ca.crt'), read('ca.key')]);
  if (caCert && caKey) {
    ca = { certPem: caCert, keyPem: caKey };
  } else {
    ca = await createCA();
    await writeFile(p('ca.key'), ca.keyPem, { mode: 0o600 });
    await writeFile(p('ca.crt'), ca.certPem);
    created = true;
  }
  const wanted = [...new Set(['127.0.0.1', '::1', 'localhost', ...hosts])];
  let serving: KeyAndCert | undefined;
  const [sCert, sKey] = await Promise.all([read('serving.crt'), read('serving.key')]);
  if (sCert && sKey && !created) {
    const san = new NodeX509(sCert).subjectAltName ?? '';
    if (wanted.every((h) => san.includes(h))) serving = { certPem: sCert, keyPem: sKey };
  }
  if (!serving) {
    serving = await issueCertificate(ca, { commonName: 'kaas-apiserver', hosts: wanted, usage: 'server' });
    await writeFile(p('serving.key'), serving.keyPem, { mode: 0o600 });
    await writeFile(p('serving.crt'), serving.certPem);
  }
  let admin: KeyAndCert;
  const [aCert, aKey] = await Promise.all([read('admin.crt'), read('admin.key')]);
  if (aCert && aKey && !created) {
    admin = { certPem: aCert, keyPem: aKey };
  } else {
    admin = await issueCertificate(ca, {
      commonName: 'kaas-admin',
      organizations: ['system:masters'],
      usage: 'client',
      validDays: 365,
    });
    await writeFile(p('admin.key'), admin.keyPem, { mode: 0o600 });
    await writeFile(p('admin.crt'), admin.certPem);
  }
  return { ca, serving, admin, created };
}
