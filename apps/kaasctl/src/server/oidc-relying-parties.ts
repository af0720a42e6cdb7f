// Relying parties of the server's OIDC issuer that run elsewhere (a standalone `kaasctl sso-proxy`),
// given by the operator: their registrations (--oidc-client FILE) and the CAs the issuer trusts
// when it calls them back with back-channel logout tokens (--oidc-backchannel-ca FILE). The
// in-process console and SSO proxy need neither: they are registered in code and serve with the
// server's own certificate.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { OidcClient } from '@kaas/auth';
import { parse as parseYaml } from 'yaml';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

async function readFlagFile(flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      `${flag} ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message)}`,
      { cause: e },
    );
  }
}

/**
 * The certificates of every file (each a PEM bundle of one or more CA certificates), joined into
 * one bundle; every certificate is parsed, so a file that is not PEM fails here, at start.
 */
export async function loadBackchannelCas(files: readonly string[]): Promise<string> {
  const flag = '--oidc-backchannel-ca';
  const out: string[] = [];
  for (const file of files) {
    const text = await readFlagFile(flag, file);
    const certs = text.match(PEM_CERT) ?? [];
    if (!certs.length)
      throw new Error(
        `${flag} ${file}: no PEM certificate in it (expected "-----BEGIN CERTIFICATE-----" blocks: the CA that signed the relying party's TLS certificate, or that certificate itself when self-signed)`,
      );
    certs.forEach((pem, i) => {
      try {
        new X509Certificate(pem);
      } catch (e) {
        throw new Error(
          `${flag} ${file}: certificate ${i + 1}: not a valid X.509 certificate (${(e as Error).message})`,
          {
            cause: e,
          },
        );
      }
    });
    out.push(...certs);
  }
  return out.join('\n');
}

const KEYS = new Set([
  'clientId',
  'clientSecret',
  'clientSecretFile',
  'redirectUris',
  'postLogoutRedirectUris',
  'backchannelLogoutUri',
  'name',
]);

/**
 * One confidential client per file: the YAML `kaasctl sso-proxy --print-client` prints, with the
 * proxy's client secret (clientSecret, or clientSecretFile relative to the file). Every problem
 * of a file is reported at once.
 */
export async function loadOidcClientFile(file: string): Promise<OidcClient> {
  const flag = '--oidc-client';
  const text = await readFlagFile(flag, file);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`${flag} ${file}: not YAML (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new Error(`${flag} ${file}: expected a mapping (the output of kaasctl sso-proxy --print-client)`);
  const o = doc as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(o)) if (!KEYS.has(k)) problems.push(`${k}: unknown key`);
  const str = (k: string): string | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !v) problems.push(`${k}: must be a non-empty string`);
    return typeof v === 'string' ? v : undefined;
  };
  const https = (k: string, v: string) => {
    let u: URL | undefined;
    try {
      u = new URL(v);
    } catch {
      /* below */
    }
    if (u?.protocol !== 'https:') problems.push(`${k}: ${JSON.stringify(v)} must be an https URL`);
  };
  const urls = (k: string, required: boolean): string[] => {
    const v = o[k];
    if (v === undefined) {
      if (required) problems.push(`${k}: required (at least one URL)`);
      return [];
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string') || (required && !v.length)) {
      problems.push(`${k}: must be a list of URLs`);
      return [];
    }
    for (const x of v) https(k, x);
    return v;
  };
  const clientId = str('clientId');
  if (o.clientId === undefined) problems.push('clientId: required');
  let clientSecret = str('clientSecret');
  const secretFile = str('clientSecretFile');
  if (clientSecret !== undefined && secretFile !== undefined)
    problems.push('clientSecret, clientSecretFile: give one of them');
  if (secretFile !== undefined) {
    const path = resolve(dirname(file), secretFile);
    clientSecret = (
      await readFile(path, 'utf8').catch(() => {
        problems.push(`clientSecretFile: cannot read ${path}`);
        return '';
      })
    ).trim();
  }
  if (clientSecret === undefined && secretFile === undefined)
    problems.push("clientSecret: required (or clientSecretFile): the proxy's oidc.clientSecret");
  else if (clientSecret !== undefined && (clientSecret.length < 16 || clientSecret.startsWith('<')))
    problems.push(
      "clientSecret: the proxy's oidc.clientSecret (>= 16 characters), not the placeholder --print-client shows",
    );
  const redirectUris = urls('redirectUris', true);
  const postLogoutRedirectUris = urls('postLogoutRedirectUris', false);
  const backchannelLogoutUri = str('backchannelLogoutUri');
  if (backchannelLogoutUri !== undefined) https('backchannelLogoutUri', backchannelLogoutUri);
  const name = str('name');
  if (problems.length) throw new Error(`${flag} ${file}:\n  ${problems.join('\n  ')}`);
  return {
    clientId: clientId!,
    clientSecret: clientSecret!,
    redirectUris,
    postLogoutRedirectUris,
    ...(backchannelLogoutUri !== undefined ? { backchannelLogoutUri } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}

export async function loadOidcClientFiles(files: readonly string[]): Promise<OidcClient[]> {
  const out: OidcClient[] = [];
  for (const f of files) {
    const c = await loadOidcClientFile(f);
    const dup = out.find((x) => x.clientId === c.clientId);
    if (dup)
      throw new Error(`--oidc-client ${f}: clientId ${JSON.stringify(c.clientId)} is registered twice`);
    out.push(c);
  }
  return out;
}

/** The issuer's log line when a call-back fails on TLS, with what to do about it. */
export function backchannelHint(
  msg: string,
  fields: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (msg !== 'oidc: back-channel logout failed') return fields;
  return {
    ...fields,
    hint: "the relying party's sessions stay valid until they refresh: if its TLS certificate is not signed by this server's CA, give its CA with --oidc-backchannel-ca FILE (docs/sso-proxy.md)",
  };
}
