import { stringify } from 'yaml';
import type { KeyAndCert } from './certs.ts';

export interface KubeconfigOptions {
  server: string;
  caPem: string;
  clusterName: string;
  userName: string;
  client?: KeyAndCert;
  token?: string;
  exec?: {
    command: string;
    args: string[];
    env?: { name: string; value: string }[];
    /** whether kubectl lets the plugin prompt on the terminal (default Never) */
    interactiveMode?: 'Never' | 'IfAvailable' | 'Always';
  };
  namespace?: string;
}

/** Renders a kubeconfig with embedded credentials (base64 data fields, as kubectl expects). */
export function renderKubeconfig(o: KubeconfigOptions): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const user: Record<string, unknown> = {};
  if (o.client) {
    user['client-certificate-data'] = b64(o.client.certPem);
    user['client-key-data'] = b64(o.client.keyPem);
  }
  if (o.token) user.token = o.token;
  if (o.exec) {
    user.exec = {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: o.exec.command,
      args: o.exec.args,
      env: o.exec.env ?? null,
      interactiveMode: o.exec.interactiveMode ?? 'Never',
      provideClusterInfo: false,
    };
  }
  const context: Record<string, unknown> = { cluster: o.clusterName, user: o.userName };
  if (o.namespace) context.namespace = o.namespace;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: o.clusterName, cluster: { server: o.server, 'certificate-authority-data': b64(o.caPem) } },
    ],
    users: [{ name: o.userName, user }],
    contexts: [{ name: o.clusterName, context }],
    'current-context': o.clusterName,
    preferences: {},
  });
}
