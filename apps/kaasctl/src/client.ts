// A small HTTPS JSON client for kaasctl's calls outside the Kubernetes API (the auth routes):
// the server and credentials come from a kubeconfig (client-node applies certificates, tokens and
// exec plugins exactly as for API calls) or from a URL and a CA file.
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import http from 'node:http';
import * as k8s from '@kubernetes/client-node';

export const exitCodes = { ok: 0, failed: 1, usage: 2, invalid: 3, unreachable: 4, denied: 5 } as const;

export const defaultKubeconfig = './.kaas/admin.kubeconfig';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly exitCode: number;
  readonly retryAfter: string | undefined;

  /** status 0: the request never got an answer (or was never sent) */
  constructor(status: number, message: string, opts: { retryAfter?: string; exitCode?: number } = {}) {
    super(message);
    this.status = status;
    this.retryAfter = opts.retryAfter;
    this.exitCode =
      opts.exitCode ??
      (status === 401 || status === 403
        ? exitCodes.denied
        : status === 0
          ? exitCodes.usage
          : exitCodes.failed);
  }
}

export interface Endpoint {
  server: string;
  /** https.RequestOptions with the CA and any client credentials applied */
  options: https.RequestOptions;
}

/** The management API's address and credentials from a kubeconfig. */
export async function endpointFromKubeconfig(path: string): Promise<Endpoint> {
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (e) {
    throw new ApiError(
      0,
      `cannot read the kubeconfig ${path} (${(e as Error).message.split('\n')[0]}): start the server (npm start) or pass --kubeconfig`,
    );
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ApiError(0, `${path}: no current context with a cluster`);
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  // a kubeconfig for a logical cluster points at /clusters/NAME; the auth routes live at the root
  return { server: cluster.server.replace(/\/clusters\/[^/]+\/?$/, '').replace(/\/$/, ''), options };
}

/** A server URL and an optional CA bundle file, without client credentials. */
export async function endpointFromUrl(server: string, caFile?: string): Promise<Endpoint> {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new ApiError(
      0,
      `--server ${JSON.stringify(server)}: expected a URL such as https://127.0.0.1:6443`,
    );
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new ApiError(0, `--server ${server}: must be https://`);
  const options: https.RequestOptions = {};
  if (caFile) {
    try {
      options.ca = await readFile(caFile, 'utf8');
    } catch (e) {
      throw new ApiError(0, `--ca-file ${caFile}: ${(e as Error).message}`);
    }
  }
  return { server: u.origin, options };
}

export async function requestJson(
  ep: Endpoint,
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<any> {
  const url = new URL(path, ep.server + '/');
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string | number> = {
    ...(ep.options.headers as Record<string, string> | undefined),
    Accept: 'application/json',
    ...extraHeaders,
  };
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(payload);
  }
  const mod = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { ...ep.options, method, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: any;
        try {
          parsed = text ? JSON.parse(text) : {};
        } catch {
          parsed = { message: text.slice(0, 500) };
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(parsed);
        else {
          const retry = res.headers['retry-after'];
          reject(
            new ApiError(
              status,
              `${parsed?.message ?? `HTTP ${status}`}${retry ? ` (retry after ${retry}s)` : ''}`,
              { ...(retry ? { retryAfter: retry } : {}) },
            ),
          );
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${ep.server} within 30 s`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET/.test(e.code ?? '')) {
        reject(
          new ApiError(
            0,
            `cannot reach ${ep.server} (${e.code}): is \`kaasctl server\` (npm start) running?`,
            {
              exitCode: exitCodes.unreachable,
            },
          ),
        );
      } else reject(new ApiError(0, `${ep.server}: ${e.message}`, { exitCode: exitCodes.failed }));
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Prints an error and returns the exit code a script can act on. */
export function reportError(e: unknown): number {
  if (e instanceof ApiError) {
    console.error(`error: ${e.message}`);
    return e.exitCode;
  }
  console.error(`error: ${(e as Error)?.message ?? String(e)}`);
  return exitCodes.failed;
}
