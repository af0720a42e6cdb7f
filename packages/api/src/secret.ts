// The one core kind a bootstrap file may hold: a v1 Secret with the cloud credentials. Validation
// never puts a value of a Secret into a message.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ObjectMetaSchema, dnsSubdomain, formatted } from './fields.ts';
import { fieldProblem, type FieldProblem } from './problems.ts';
import type { ProviderType } from './cluster.ts';
import { isRecord, zodProblems } from './zodProblems.ts';

const secretKey = formatted(/^[-._a-zA-Z0-9]+$/, 'must be letters, digits, "-", "_" and "."', 'format', 253);
const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const SecretSchema = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Secret'),
  metadata: ObjectMetaSchema.extend({
    name: dnsSubdomain.describe('Secret name; what spec.credentialsRef.name or caBundleRef.name says.'),
  }),
  type: z.string().max(253).optional().describe('Secret type; Opaque when left out.'),
  immutable: z.boolean().optional().describe('As in Kubernetes: the data can no longer change.'),
  data: z
    .record(
      secretKey,
      z.string().refine((s) => s.length % 4 === 0 && base64.test(s), {
        message: 'must be base64 (or move the key to stringData)',
        params: { rule: 'format' },
      }),
    )
    .optional()
    .describe('Keys and base64-encoded values.'),
  stringData: z
    .record(secretKey, z.string())
    .optional()
    .describe('Keys and plain-text values (easier to write; stored like data).'),
});
export type Secret = z.infer<typeof SecretSchema>;

export function validateSecret(value: unknown): FieldProblem[] {
  const parsed = SecretSchema.safeParse(value);
  return parsed.success ? [] : zodProblems(parsed.error, value, SecretSchema, { secret: true });
}

function decodeBase64(text: string): string | undefined {
  try {
    const binary = atob(text);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** A key of the Secret, from stringData or (decoded) data, and the field it was found under. */
export function secretValue(
  secret: unknown,
  key: string,
): { field: 'stringData' | 'data'; value: string | undefined } | undefined {
  const s = isRecord(secret) ? secret : {};
  const stringData = isRecord(s.stringData) ? s.stringData : {};
  const data = isRecord(s.data) ? s.data : {};
  if (Object.hasOwn(stringData, key)) {
    const v = stringData[key];
    return { field: 'stringData', value: typeof v === 'string' ? v : undefined };
  }
  if (Object.hasOwn(data, key)) {
    const v = data[key];
    return { field: 'data', value: typeof v === 'string' ? decodeBase64(v) : undefined };
  }
  return undefined;
}

export function secretKeys(secret: unknown): string[] {
  const s = isRecord(secret) ? secret : {};
  return [
    ...new Set([
      ...Object.keys(isRecord(s.data) ? s.data : {}),
      ...Object.keys(isRecord(s.stringData) ? s.stringData : {}),
    ]),
  ];
}

/** What each provider needs in its credentials Secret, for messages and docs. */
export const credentialKeys = {
  openstack:
    '"clouds.yaml" (an entry named by spec.provider.openstack.cloud), or "auth_url" with "application_credential_id" and "application_credential_secret", or "auth_url" with "username", "password" and "project_id" or "project_name"',
  eks: '"aws_access_key_id" and "aws_secret_access_key" (and "aws_session_token" for temporary credentials)',
  local: 'nothing: the local cloud needs no credentials',
} as const satisfies Record<ProviderType, string>;

/**
 * Problems with a credentials Secret for a provider. `cloud` is the clouds.yaml entry the Cluster
 * asks for. Messages name keys and cloud names, never values.
 */
export function credentialProblems(secret: unknown, provider: ProviderType, cloud: string): FieldProblem[] {
  const keys = new Set(secretKeys(secret));
  const has = (k: string): boolean => keys.has(k);
  const s = isRecord(secret) ? secret : {};
  const where = isRecord(s.stringData) ? ['stringData'] : isRecord(s.data) ? ['data'] : ['metadata', 'name'];
  const missing = (text: string): FieldProblem =>
    fieldProblem(where, 'credentials', `lacks the ${provider} credentials: needs ${text}`);
  if (provider === 'eks') {
    return has('aws_access_key_id') && has('aws_secret_access_key') ? [] : [missing(credentialKeys.eks)];
  }
  if (provider !== 'openstack') return [];
  if (has('clouds.yaml')) {
    const found = secretValue(secret, 'clouds.yaml');
    const path = [found?.field ?? 'stringData', 'clouds.yaml'];
    if (found?.value === undefined)
      return [fieldProblem(path, 'credentials', 'must be UTF-8 text (a clouds.yaml file)')];
    let doc: unknown;
    try {
      doc = parseYaml(found.value, { prettyErrors: false, maxAliasCount: 10, logLevel: 'error' });
    } catch {
      return [fieldProblem(path, 'credentials', 'is not valid YAML')];
    }
    const clouds = isRecord(doc) && isRecord(doc.clouds) ? doc.clouds : undefined;
    if (!clouds) return [fieldProblem(path, 'credentials', 'has no "clouds" mapping')];
    const entry = clouds[cloud];
    if (!isRecord(entry)) {
      const names = Object.keys(clouds)
        .slice(0, 10)
        .map((n) => JSON.stringify(n));
      return [
        fieldProblem(
          path,
          'credentials',
          `has no cloud ${JSON.stringify(cloud)} (spec.provider.openstack.cloud); it has: ${names.join(', ') || 'none'}`,
        ),
      ];
    }
    if (!isRecord(entry.auth) || typeof entry.auth.auth_url !== 'string') {
      return [fieldProblem(path, 'credentials', `cloud ${JSON.stringify(cloud)} has no auth.auth_url`)];
    }
    return [];
  }
  const appCredential = has('application_credential_id') && has('application_credential_secret');
  const password = has('username') && has('password') && (has('project_id') || has('project_name'));
  return has('auth_url') && (appCredential || password) ? [] : [missing(credentialKeys.openstack)];
}
