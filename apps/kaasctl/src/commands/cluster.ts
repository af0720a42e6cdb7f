// `kaasctl cluster deploy -f bootstrap.yaml` and `kaasctl get clusters`: the bootstrap file is
// validated completely (every problem, with file:line:column) before anything is created, then
// its objects are written to the management API, which is the source of truth.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { formatProblem, parseBootstrap } from '@kaas/api';
import { printTable } from '../output.ts';
import { ProgressPrinter, parseTimeout, toApiError, waitForReady } from './lifecycle.ts';

export const exitCodes = { ok: 0, failed: 1, usage: 2, invalid: 3, unreachable: 4 } as const;

const defaultKubeconfig = './.kaas/admin.kubeconfig';

function loadKubeconfig(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

function describeError(e: unknown, kubeconfig: string): { message: string; code: number } {
  const err = e as { code?: number | string; body?: unknown; message?: string };
  const text = `${String(err.code ?? '')} ${err.message ?? ''}`;
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(text)) {
    return {
      message: `cannot reach the management API from ${kubeconfig}: is \`kaasctl server\` (npm start) running?`,
      code: exitCodes.unreachable,
    };
  }
  if (/ENOENT/.test(text)) {
    return {
      message: `no kubeconfig at ${kubeconfig}: start the server (npm start) or pass --kubeconfig`,
      code: exitCodes.usage,
    };
  }
  const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body ?? '');
  return { message: `${err.message ?? String(e)} ${body}`.trim(), code: exitCodes.failed };
}

export function clusterCommand(): Command {
  const cluster = new Command('cluster').description('Deploy and manage clusters from a bootstrap file.');
  cluster
    .command('deploy')
    .description(
      'Validate a bootstrap file, create or update its clusters, and wait until they are Ready (infrastructure, control plane, nodes, managed services), with progress on stderr.',
    )
    .requiredOption('-f, --file <bootstrap.yaml>', 'the bootstrap file')
    .option('--dry-run', 'only validate the file; create nothing')
    .option('--no-wait', 'return once the clusters are recorded; do not wait for Ready')
    .option('--timeout <duration>', 'how long to wait for Ready (90s, 10m, 1h)', '15m')
    .option('--kubeconfig <path>', 'kubeconfig of the management API', defaultKubeconfig)
    .addHelpText(
      'after',
      `
Examples:
  # Check a file without creating anything (every problem is listed with file:line:column):
  kaasctl cluster deploy -f examples/bootstrap.yaml --dry-run

  # Create the clusters it describes and wait until they are Ready (progress on stderr):
  kaasctl cluster deploy -f examples/bootstrap.yaml

  # Record them and return at once; follow with \`kaasctl get clusters\`:
  kaasctl cluster deploy -f examples/bootstrap.yaml --no-wait

Exit codes: 0 Ready, 1 failed (a coded condition such as QuotaExceeded, with its message) or timed
out, 2 usage, 3 the file is invalid (nothing created), 4 the management API is unreachable.`,
    )
    .action(
      async (o: { file: string; dryRun?: boolean; wait: boolean; timeout: string; kubeconfig: string }) => {
        let timeoutMs: number;
        try {
          timeoutMs = parseTimeout(o.timeout);
        } catch (e) {
          console.error(`error: ${(e as Error).message}`);
          process.exitCode = exitCodes.usage;
          return;
        }
        let text: string;
        try {
          text = await readFile(o.file, 'utf8');
        } catch (e) {
          console.error(`error: cannot read ${o.file}: ${(e as Error).message}`);
          process.exitCode = exitCodes.usage;
          return;
        }
        const { objects, problems } = parseBootstrap(text, basename(o.file));
        if (problems.length) {
          for (const p of problems) console.error(formatProblem(p));
          console.error(
            `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${o.file}; nothing was created.`,
          );
          process.exitCode = exitCodes.invalid;
          return;
        }
        if (o.dryRun) {
          console.log(`${o.file} is valid: ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
          return;
        }
        try {
          const api = loadKubeconfig(o.kubeconfig).makeApiClient(k8s.KubernetesObjectApi);
          for (const obj of objects) {
            const spec = obj as unknown as k8s.KubernetesObject;
            try {
              await api.create(spec);
              console.log(`${obj.kind}/${obj.metadata.name} created`);
            } catch (e) {
              if ((e as { code?: number }).code !== 409) throw e;
              // The file is the source of truth for the spec, labels and annotations it names; what
              // the server keeps in metadata (finalizers, annotations of requested operations) stays.
              // The controllers write the object too, so a conflict is re-read and retried.
              for (let attempt = 1; ; attempt++) {
                const current = (await api.read(
                  spec as Parameters<typeof api.read>[0],
                )) as k8s.KubernetesObject & Record<string, unknown>;
                const meta = current.metadata ?? {};
                try {
                  await api.replace({
                    ...current,
                    ...spec,
                    metadata: {
                      ...meta,
                      labels: { ...meta.labels, ...spec.metadata?.labels },
                      annotations: { ...meta.annotations, ...spec.metadata?.annotations },
                    },
                  });
                  break;
                } catch (err) {
                  if ((err as { code?: number }).code !== 409 || attempt >= 5) throw err;
                }
              }
              console.log(`${obj.kind}/${obj.metadata.name} updated`);
            }
          }
          const clusters = objects.filter((x) => x.kind === 'Cluster');
          if (!o.wait || clusters.length === 0) {
            console.log(
              'The clusters are recorded in the management API; `kaasctl get clusters` shows their conditions.',
            );
            return;
          }
          const customObjects = loadKubeconfig(o.kubeconfig).makeApiClient(k8s.CustomObjectsApi);
          for (const c of clusters) {
            const namespace = c.metadata.namespace ?? 'default';
            console.error(
              `waiting for cluster ${namespace}/${c.metadata.name} to be Ready (timeout ${o.timeout})`,
            );
            const r = await waitForReady(customObjects, namespace, c.metadata.name, {
              timeoutMs,
              progress: new ProgressPrinter(),
            });
            if (r.code !== exitCodes.ok) {
              console.error(`error: ${r.message}`);
              process.exitCode = r.code;
              return;
            }
            console.log(
              `cluster ${namespace}/${c.metadata.name} is Ready: ${r.cluster?.status?.endpoint ?? ''}`,
            );
            console.log(
              `  kaasctl kubeconfig get ${c.metadata.name}${namespace === 'default' ? '' : ` -n ${namespace}`} --admin --output-file .kaas/${c.metadata.name}.kubeconfig`,
            );
          }
        } catch (e) {
          if ((e as Error).name === 'ApiError') {
            console.error(`error: ${(e as Error).message}`);
            process.exitCode = toApiError(e).exitCode;
            return;
          }
          const d = describeError(e, o.kubeconfig);
          console.error(`error: ${d.message}`);
          process.exitCode = d.code;
        }
      },
    );
  return cluster;
}

export function getCommand(): Command {
  const get = new Command('get').description('List resources.');
  get
    .command('clusters')
    .description('List clusters with their provider, version and conditions.')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json', 'yaml'])
        .default('table'),
    )
    .option('-n, --namespace <ns>', 'only clusters in this namespace')
    .option('--kubeconfig <path>', 'kubeconfig of the management API', defaultKubeconfig)
    .addHelpText(
      'after',
      "\nExamples:\n  kaasctl get clusters\n  kaasctl get clusters -o json | jq '.items[].status.conditions'",
    )
    .action(async (o: { output: 'table' | 'json' | 'yaml'; namespace?: string; kubeconfig: string }) => {
      try {
        const api = loadKubeconfig(o.kubeconfig).makeApiClient(k8s.CustomObjectsApi);
        const list = (
          o.namespace
            ? await api.listNamespacedCustomObject({
                group: 'kaas.dev',
                version: 'v1alpha1',
                namespace: o.namespace,
                plural: 'clusters',
              })
            : await api.listClusterCustomObject({
                group: 'kaas.dev',
                version: 'v1alpha1',
                plural: 'clusters',
              })
        ) as { items: Record<string, any>[] };
        if (o.output === 'json') return console.log(JSON.stringify(list, null, 2));
        if (o.output === 'yaml') return console.log(stringify(list));
        const rows = [['NAMESPACE', 'NAME', 'PROVIDER', 'VERSION', 'NODES', 'READY', 'REASON']];
        for (const c of list.items) {
          const ready = (c.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Ready');
          rows.push([
            c.metadata.namespace,
            c.metadata.name,
            c.spec?.provider?.type ?? '',
            c.spec?.kubernetesVersion ?? '',
            c.status?.nodes ? `${c.status.nodes.ready}/${c.status.nodes.desired}` : '-',
            ready?.status ?? 'Unknown',
            ready?.reason ?? 'Pending',
          ]);
        }
        printTable(rows.map((r) => r.map(String)));
      } catch (e) {
        const d = describeError(e, o.kubeconfig);
        console.error(`error: ${d.message}`);
        process.exitCode = d.code;
      }
    });
  return get;
}
