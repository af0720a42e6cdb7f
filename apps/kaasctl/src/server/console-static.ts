// The built console app (apps/console/dist) at /console/: hashed assets with a long cache, every
// other path the SPA's index.html (no-cache) so that client-side routes load the app; 503 with
// the build command when it was not built.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const defaultConsoleDist = resolve(dirname(fileURLToPath(import.meta.url)), '../../../console/dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

async function fileAt(path: string): Promise<{ size: number; mtime: Date } | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s : undefined;
  } catch {
    return undefined;
  }
}

function send(req: IncomingMessage, res: ServerResponse, path: string, size: number, cache: string): void {
  res.writeHead(200, {
    'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
    'Content-Length': String(size),
    'Cache-Control': cache,
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(path)
    .on('error', () => res.destroy())
    .pipe(res);
}

export const notBuiltPage =
  '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>KaaS console not built</title></head>' +
  '<body><h1>The console is not built</h1><p>Run <code>npm run build -w @kaas/console</code> ' +
  '(<code>npm start</code> and <code>npm test</code> do it for you), then reload.</p></body></html>';

/** `rel` is the path below /console/ (no leading slash), already free of dot segments. */
export async function serveConsoleFile(
  req: IncomingMessage,
  res: ServerResponse,
  distDir: string,
  rel: string,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('method not allowed\n');
    return;
  }
  const index = join(distDir, 'index.html');
  const indexStat = await fileAt(index);
  if (!indexStat) {
    res.writeHead(503, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(notBuiltPage);
    return;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    decoded = '';
  }
  const candidate = normalize(join(distDir, decoded));
  if (decoded && !decoded.includes('\0') && candidate.startsWith(distDir + sep)) {
    const s = await fileAt(candidate);
    if (s) {
      const immutable = decoded.startsWith('assets/');
      return send(
        req,
        res,
        candidate,
        s.size,
        immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    }
    // a missing asset is a 404, not the app (a stale page asking for an old bundle)
    if (decoded.startsWith('assets/')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
      return;
    }
  }
  send(req, res, index, indexStat.size, 'no-cache');
}
