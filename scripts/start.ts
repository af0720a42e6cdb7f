// `npm start`: runs the KaaS management plane (./.kaas, 127.0.0.1:6443) in the foreground, deploys
// examples/bootstrap.yaml on the local cloud and waits until the cluster is usable, writes its
// kubeconfig to <data dir>/demo.kubeconfig and keeps serving. On an existing data dir the cluster
// is already there: the deploy finds it Ready. Extra arguments go to `kaasctl server`. The deploy
// and kubeconfig steps are kaasctl's own commands, run in this process (loaded while the server
// starts, which saves two Node.js start-ups).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { buildConsoleIfStale } from './console-build.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'apps/kaasctl/src/main.ts');
const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i === -1) return fallback;
  return args[i]!.includes('=') ? args[i]!.slice(name.length + 1) : (args[i + 1] ?? fallback);
};
const dataDir = flag('--data-dir', '.kaas');
const show = (p: string) =>
  relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p) || '.';
const t0 = Date.now();
const node = [process.execPath, '--disable-warning=ExperimentalWarning'] as const;

// the console app at /console/: built first when apps/console/dist is missing or stale
buildConsoleIfStale();

const server = spawn(node[0], [node[1], main, 'server', ...args], {
  stdio: ['ignore', 'pipe', 'inherit'],
  cwd: process.cwd(),
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => server.kill(sig));
server.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
  process.exit();
});

const commands = Promise.all([
  import('../apps/kaasctl/src/commands/cluster.ts'),
  import('../apps/kaasctl/src/commands/lifecycle.ts'),
]);

/** `kaasctl <argv>` for the cluster and kubeconfig commands, in this process; the exit code. */
async function kaasctl(argv: string[]): Promise<number> {
  const [{ clusterCommand }, { kubeconfigCommand }] = await commands;
  const command = argv[0] === 'cluster' ? clusterCommand() : kubeconfigCommand();
  process.exitCode = 0;
  try {
    await command.exitOverride().parseAsync(argv.slice(1), { from: 'user' });
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return code;
}

let url: string | undefined;
let ssoProxyUrl: string | undefined;
let adminKubeconfig = join(dataDir, 'admin.kubeconfig');
const lines = createInterface({ input: server.stdout });
lines.on('line', (line) => {
  console.log(line);
  const sso = /^SSO proxy: (\S+)/.exec(line);
  if (sso) ssoProxyUrl = sso[1]!;
  const kc = /^admin kubeconfig: (\S+)/.exec(line);
  if (kc) adminKubeconfig = kc[1]!;
  const m = /listening on (https:\/\/\S+)/.exec(line);
  if (m && !url) {
    url = m[1]!;
    // the lines right after "listening" (kubeconfig, password) come in the same burst
    setTimeout(() => void deployDemo(url!), 200);
  }
});

async function deployDemo(serverUrl: string): Promise<void> {
  const file = join(root, 'examples/bootstrap.yaml');
  console.log(`\ndeploying ${show(file)} on the local cloud (progress below)...`);
  const code = await kaasctl(['cluster', 'deploy', '-f', file, '--kubeconfig', adminKubeconfig]);
  if (code !== 0) {
    console.log(`\nthe demo cluster is not Ready (kaasctl exited ${code}); the server keeps running.`);
    console.log(`  kaasctl get clusters --kubeconfig ${show(adminKubeconfig)} -o yaml`);
    return;
  }
  const kubeconfig = join(dataDir, 'demo.kubeconfig');
  const kc = await kaasctl([
    'kubeconfig',
    'get',
    'demo',
    '--admin',
    '--data-dir',
    dataDir,
    '--kubeconfig',
    adminKubeconfig,
    '--output-file',
    kubeconfig,
  ]);
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(`\nthe demo cluster is usable ${seconds} s after npm start:`);
  if (kc === 0) console.log(`  kubectl --kubeconfig ${show(kubeconfig)} get nodes`);
  console.log(
    `  node apps/kaasctl/bin/kaasctl get nodes --cluster demo --kubeconfig ${show(adminKubeconfig)}`,
  );
  console.log(`  its Kubernetes API: ${serverUrl}/clusters/demo`);
  console.log(`console: ${serverUrl}/console/ (sign in as admin, or any local user)`);
  if (ssoProxyUrl) console.log(`SSO proxy: ${ssoProxyUrl}`);
  console.log('serving until Ctrl-C (the state stays in the data dir: npm start again resumes)');
}
