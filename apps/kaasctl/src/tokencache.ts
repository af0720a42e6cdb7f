// Bearer tokens kaasctl obtained, cached per server, cluster and user until shortly before they
// expire (like `aws eks get-token`'s cache). The file is private to the user (0600 in a 0700
// directory) and written atomically; it never holds a password.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface CachedToken {
  server: string;
  cluster: string;
  username: string;
  id: string;
  token: string;
  expiresAt: string;
}

/** Tokens with less than this left are not handed to kubectl. */
export const refreshMarginMs = 60_000;

export function kaasHome(env: Record<string, string | undefined> = process.env): string {
  return env.KAAS_HOME ?? join(homedir(), '.kaas');
}

function cachePath(): string {
  return join(kaasHome(), 'tokens.json');
}

async function load(): Promise<CachedToken[]> {
  try {
    const doc = JSON.parse(await readFile(cachePath(), 'utf8')) as { tokens?: CachedToken[] };
    return Array.isArray(doc.tokens) ? doc.tokens : [];
  } catch {
    return [];
  }
}

async function save(tokens: CachedToken[]): Promise<void> {
  await mkdir(kaasHome(), { recursive: true, mode: 0o700 });
  const tmp = `${cachePath()}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ tokens }, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, cachePath());
}

const same = (a: Pick<CachedToken, 'server' | 'cluster'>, b: Pick<CachedToken, 'server' | 'cluster'>) =>
  a.server === b.server && a.cluster === b.cluster;

/** A live token for the server and cluster (of `username` when given). */
export async function findToken(
  server: string,
  cluster: string,
  username?: string,
  now = Date.now(),
): Promise<CachedToken | undefined> {
  return (await load()).find(
    (t) =>
      same(t, { server, cluster }) &&
      (username === undefined || t.username === username) &&
      Date.parse(t.expiresAt) - now > refreshMarginMs,
  );
}

/** Stores a token, replacing the one for the same server and cluster; drops expired ones. */
export async function storeToken(t: CachedToken, now = Date.now()): Promise<void> {
  const rest = (await load()).filter((x) => !same(x, t) && Date.parse(x.expiresAt) > now);
  await save([...rest, t]);
}

export async function forgetToken(server: string, cluster: string): Promise<CachedToken | undefined> {
  const all = await load();
  const found = all.find((t) => same(t, { server, cluster }));
  if (found) await save(all.filter((t) => t !== found));
  return found;
}
