// Builds the console app (`npm run build -w @kaas/console`) when apps/console/dist is missing or
// older than its sources, so that `kaasctl server` serves the current app at /console/. Run by
// scripts/start.ts and scripts/test.sh; `node scripts/console-build.ts` alone does the same.
// Exit code / result: 0 built or up to date or no app to build, 1 the build failed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const app = join(root, 'apps/console');

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const e of readdirSync(path)) if (e !== 'node_modules') max = Math.max(max, newest(join(path, e)));
  return max;
}

/** 'built' | 'fresh' | 'absent' | 'failed' */
export function buildConsoleIfStale(log: (line: string) => void = console.log): string {
  if (!existsSync(join(app, 'package.json'))) {
    log('console: apps/console (@kaas/console) is not there yet; not building it (/console/ answers 503)');
    return 'absent';
  }
  const built = existsSync(join(app, 'dist/index.html')) ? statSync(join(app, 'dist/index.html')).mtimeMs : 0;
  const sources = Math.max(
    ...['src', 'index.html', 'vite.config.ts', 'package.json', 'public'].map((p) => newest(join(app, p))),
  );
  if (built && built >= sources) return 'fresh';
  log(
    `console: ${built ? 'dist is older than apps/console/src' : 'no apps/console/dist'}; npm run build -w @kaas/console`,
  );
  const r = spawnSync('npm', ['run', 'build', '-w', '@kaas/console'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    log('console: the build failed (above); /console/ answers 503 until it is built');
    return 'failed';
  }
  return 'built';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = buildConsoleIfStale() === 'failed' ? 1 : 0;
}
