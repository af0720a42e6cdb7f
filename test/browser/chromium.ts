// Chromium for the console's journeys (console.test.ts) and bench (bench/console.ts): Debian's /usr/bin/chromium driven by
// playwright-core (no bundled browser download), headless, in a fresh profile that is removed
// afterwards.
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const consoleDist = join(repoRoot, 'apps/console/dist/index.html');

/** Builds the console when dist/ is missing (npm test builds it before the tests; a lone run may not). */
export function ensureConsoleBuilt(): void {
  if (existsSync(consoleDist)) return;
  execFileSync('npm', ['run', 'build', '-w', '@kaas/console'], { cwd: repoRoot, stdio: 'inherit' });
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A persistent context in a new temp profile (so --user-data-dir is ours and thrown away). */
export async function launchChromium(
  opts: { viewport?: { width: number; height: number } } = {},
): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'kaas-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    ignoreHTTPSErrors: true,
    acceptDownloads: true,
    viewport: opts.viewport ?? { width: 1280, height: 720 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
