// `npm start`: runs the KaaS management plane with its defaults (./.kaas, 127.0.0.1:6443) in the
// foreground and prints where the admin kubeconfig is. Extra arguments go to `kaasctl server`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const child = spawn(
  process.execPath,
  [
    '--disable-warning=ExperimentalWarning',
    join(root, 'apps/kaasctl/src/main.ts'),
    'server',
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', cwd: process.cwd() },
);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
