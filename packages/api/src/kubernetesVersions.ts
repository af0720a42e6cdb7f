// The Kubernetes versions this release of KaaS deploys. One row per minor version; the newest patch
// we have tested is the ceiling (like the seed's "a version that is specified in the release
// notes"). A minor version without a patch means that newest patch.

export interface KubernetesVersionRow {
  /** MAJOR.MINOR */
  minor: string;
  /** Newest supported patch, MAJOR.MINOR.PATCH. */
  latestPatch: string;
  /** The version a Cluster gets when spec.kubernetesVersion is left out. */
  default: boolean;
}

export const kubernetesVersions: readonly KubernetesVersionRow[] = [
  { minor: '1.33', latestPatch: '1.33.2', default: true },
  { minor: '1.32', latestPatch: '1.32.6', default: false },
  { minor: '1.31', latestPatch: '1.31.10', default: false },
  { minor: '1.30', latestPatch: '1.30.14', default: false },
];

export const defaultKubernetesVersion: string =
  kubernetesVersions.find((row) => row.default)?.minor ?? '1.33';

/** `1.33`, `1.33.2`, `v1.33.2`. RE2-compatible: it is also the CRD's pattern. */
export const kubernetesVersionPattern = /^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?$/;

export interface KubernetesVersion {
  major: number;
  minor: number;
  /** Absent when only MAJOR.MINOR was written. */
  patch?: number;
}

export function parseKubernetesVersion(text: string): KubernetesVersion | undefined {
  const m = kubernetesVersionPattern.exec(text);
  if (!m) return undefined;
  const version: KubernetesVersion = { major: Number(m[1]), minor: Number(m[2]) };
  if (m[4] !== undefined) version.patch = Number(m[4]);
  return version;
}

export type VersionSupport =
  { supported: true; row: KubernetesVersionRow; resolved: string } | { supported: false; reason: string };

/** Is the version in the table? `resolved` is the exact MAJOR.MINOR.PATCH that will be deployed. */
export function checkKubernetesVersion(text: string): VersionSupport {
  const v = parseKubernetesVersion(text);
  const range = `${kubernetesVersions[kubernetesVersions.length - 1]?.minor} to ${kubernetesVersions[0]?.latestPatch}`;
  if (!v)
    return { supported: false, reason: 'must be MAJOR.MINOR or MAJOR.MINOR.PATCH, like 1.33 or 1.33.2' };
  const row = kubernetesVersions.find((r) => r.minor === `${v.major}.${v.minor}`);
  if (!row)
    return { supported: false, reason: `${v.major}.${v.minor} is not supported; supported: ${range}` };
  const latest = parseKubernetesVersion(row.latestPatch)?.patch ?? 0;
  if (v.patch !== undefined && v.patch > latest) {
    return {
      supported: false,
      reason: `${v.major}.${v.minor}.${v.patch} is newer than the newest supported ${row.latestPatch}`,
    };
  }
  return { supported: true, row, resolved: `${v.major}.${v.minor}.${v.patch ?? latest}` };
}
