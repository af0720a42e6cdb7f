import { Command, Option } from 'commander';
import { runServer } from '../server/run.ts';

export function serverCommand(): Command {
  return new Command('server')
    .description('Run the KaaS management plane (Kubernetes-compatible API server) in the foreground.')
    .option('--data-dir <dir>', 'where state, certificates and kubeconfigs live', './.kaas')
    .option('--listen <host:port>', 'address to serve HTTPS on', '127.0.0.1:6443')
    .addOption(
      new Option('--storage <backend>', 'storage backend').choices(['sqlite', 'etcd']).default('sqlite'),
    )
    .option('--etcd-endpoints <urls>', 'comma-separated etcd endpoints (with --storage etcd)')
    .addHelpText(
      'after',
      `
Examples:
  # Start with the embedded SQLite store in ./.kaas and use it with kubectl:
  kaasctl server
  kubectl --kubeconfig .kaas/admin.kubeconfig get namespaces

  # Serve on all interfaces, keep state elsewhere:
  kaasctl server --listen 0.0.0.0:6443 --data-dir /var/lib/kaas

  # Store everything in an etcd cluster (several servers can share it):
  kaasctl server --storage etcd --etcd-endpoints http://10.0.0.1:2379,http://10.0.0.2:2379`,
    )
    .action(
      async (opts: {
        dataDir: string;
        listen: string;
        storage: 'sqlite' | 'etcd';
        etcdEndpoints?: string;
      }) => {
        process.exitCode = await runServer(opts);
      },
    );
}
