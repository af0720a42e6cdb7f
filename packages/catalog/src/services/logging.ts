// Logging: Fluent Bit on every node tails the container logs under /var/log and ships them to Loki
// (single binary, its chunks and index on a PersistentVolumeClaim); Grafana, when monitoring is
// on, gets Loki as a datasource and is the log UI (Explore).
//
// Why Loki and not OpenSearch + Dashboards: Loki runs as a non-root user with a read-only root
// filesystem and needs nothing of the host, so the whole store passes "restricted"; OpenSearch
// needs vm.max_map_count raised on the node (a privileged init container or a node tweak KaaS
// does not own), and several GiB of heap per node. Fluent Bit is the only exception here.
import type { KObject } from '@kaas/apiserver';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { stringify } from 'yaml';
import { imageOf } from '../versions.ts';
import {
  appLabels,
  httpProbe,
  plain,
  resources,
  restrictedContainer,
  restrictedPod,
  scratch,
  selectorLabels,
} from '../kube.ts';
import { namespaceObject } from '../namespaces.ts';
import type { RenderContext, ServiceModule } from '../types.ts';

const svc = 'logging';
export const lokiPort = 3100;

export function lokiConfig(): Record<string, unknown> {
  return {
    auth_enabled: false,
    server: { http_listen_port: lokiPort, grpc_listen_port: 9095, log_level: 'info' },
    common: {
      path_prefix: '/var/loki',
      replication_factor: 1,
      ring: { kvstore: { store: 'inmemory' } },
      storage: { filesystem: { chunks_directory: '/var/loki/chunks', rules_directory: '/var/loki/rules' } },
    },
    schema_config: {
      configs: [
        {
          from: '2024-01-01',
          store: 'tsdb',
          object_store: 'filesystem',
          schema: 'v13',
          index: { prefix: 'index_', period: '24h' },
        },
      ],
    },
    limits_config: { retention_period: '168h', reject_old_samples: true, reject_old_samples_max_age: '168h' },
    compactor: {
      working_directory: '/var/loki/compactor',
      retention_enabled: true,
      delete_request_store: 'filesystem',
    },
    analytics: { reporting_enabled: false },
  };
}

/** Fluent Bit's YAML configuration: tail CRI logs, add Kubernetes metadata, push to Loki. */
export function fluentBitConfig(ctx: RenderContext): Record<string, unknown> {
  return {
    service: {
      flush: 1,
      log_level: 'info',
      http_server: 'on',
      http_listen: '0.0.0.0',
      http_port: 2020,
      health_check: 'on',
    },
    pipeline: {
      inputs: [
        {
          name: 'tail',
          path: '/var/log/containers/*.log',
          'multiline.parser': 'cri',
          tag: 'kube.*',
          db: '/fluent-bit/state/tail.db',
          mem_buf_limit: '16MB',
          skip_long_lines: 'on',
        },
      ],
      filters: [
        {
          name: 'kubernetes',
          match: 'kube.*',
          merge_log: 'on',
          keep_log: 'off',
          labels: 'on',
          annotations: 'off',
        },
      ],
      outputs: [
        {
          name: 'loki',
          match: 'kube.*',
          host: `loki.${ctx.namespace}.svc`,
          port: lokiPort,
          labels: `job=fluent-bit, cluster=${ctx.cluster.metadata.name}, namespace=$kubernetes['namespace_name'], pod=$kubernetes['pod_name'], container=$kubernetes['container_name']`,
          line_format: 'json',
        },
      ],
    },
  };
}

function lokiObjects(ctx: RenderContext): KObject[] {
  const { release, namespace } = ctx;
  const name = 'loki';
  const labels = appLabels(svc, name, release.version);
  const tmp = scratch({ tmp: '/tmp' });
  return [
    plain(
      new ConfigMap({
        metadata: { name: 'loki-config', namespace, labels },
        data: { 'loki.yaml': stringify(lokiConfig()) },
      }),
    ),
    plain(
      new StatefulSet({
        metadata: { name, namespace, labels },
        spec: {
          replicas: 1,
          serviceName: 'loki-headless',
          selector: { matchLabels: selectorLabels(svc, name) },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              // 10001 is the image's loki user
              securityContext: restrictedPod(10001),
              containers: [
                {
                  name,
                  image: imageOf(release, 'loki'),
                  args: ['-config.file=/etc/loki/loki.yaml', '-target=all'],
                  ports: [
                    { name: 'http-metrics', containerPort: lokiPort },
                    { name: 'grpc', containerPort: 9095 },
                  ],
                  readinessProbe: httpProbe('/ready', 'http-metrics'),
                  resources: resources('100m', '256Mi', '1Gi'),
                  securityContext: restrictedContainer({ readOnlyRootFilesystem: true }),
                  volumeMounts: [
                    { name: 'config', mountPath: '/etc/loki', readOnly: true },
                    { name: 'data', mountPath: '/var/loki' },
                    ...tmp.mounts,
                  ],
                },
              ],
              volumes: [{ name: 'config', configMap: { name: 'loki-config' } }, ...tmp.volumes],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: 'data' },
              spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } } },
            },
          ],
        },
      }),
    ),
    plain(
      new Service({
        metadata: { name, namespace, labels },
        spec: {
          selector: selectorLabels(svc, name),
          ports: [{ name: 'http-metrics', port: lokiPort, targetPort: 'http-metrics' }],
        },
      }),
    ),
    plain(
      new Service({
        metadata: { name: 'loki-headless', namespace, labels },
        spec: {
          clusterIP: 'None',
          selector: selectorLabels(svc, name),
          ports: [{ name: 'http-metrics', port: lokiPort, targetPort: 'http-metrics' }],
        },
      }),
    ),
  ];
}

function fluentBitObjects(ctx: RenderContext): KObject[] {
  const { release, nodeNamespace: namespace } = ctx;
  const name = 'fluent-bit';
  const labels = appLabels(svc, name, release.version);
  const state = scratch({ state: '/fluent-bit/state' });
  return [
    namespaceObject(namespace, { privileged: true }),
    plain(new ServiceAccount({ metadata: { name, namespace, labels } })),
    plain(
      new ClusterRole({
        metadata: { name: `kaas:${name}`, labels },
        rules: [{ apiGroups: [''], resources: ['namespaces', 'pods'], verbs: ['get', 'list', 'watch'] }],
      }),
    ),
    plain(
      new ClusterRoleBinding({
        metadata: { name: `kaas:${name}`, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `kaas:${name}` },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      }),
    ),
    plain(
      new ConfigMap({
        metadata: { name: 'fluent-bit-config', namespace, labels },
        data: { 'fluent-bit.yaml': stringify(fluentBitConfig(ctx)) },
      }),
    ),
    plain(
      new DaemonSet({
        metadata: { name, namespace, labels },
        spec: {
          selector: { matchLabels: selectorLabels(svc, name) },
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: name,
              tolerations: [{ operator: 'Exists' }],
              // root, to read the kubelet's root-owned 0640 log files; nothing else of restricted is given up
              securityContext: {
                runAsNonRoot: false,
                runAsUser: 0,
                runAsGroup: 0,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              containers: [
                {
                  name,
                  image: imageOf(release, 'fluent-bit'),
                  args: ['-c', '/fluent-bit/etc/fluent-bit.yaml'],
                  ports: [{ name: 'metrics', containerPort: 2020 }],
                  readinessProbe: httpProbe('/api/v1/health', 'metrics'),
                  resources: resources('50m', '64Mi', '256Mi'),
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: false,
                    capabilities: { drop: ['ALL'] },
                    seccompProfile: { type: 'RuntimeDefault' },
                  },
                  volumeMounts: [
                    { name: 'varlog', mountPath: '/var/log', readOnly: true },
                    { name: 'config', mountPath: '/fluent-bit/etc', readOnly: true },
                    ...state.mounts,
                  ],
                },
              ],
              volumes: [
                { name: 'varlog', hostPath: { path: '/var/log', type: 'Directory' } },
                { name: 'config', configMap: { name: 'fluent-bit-config' } },
                // tail offsets: kept for the pod's life (a new pod re-reads what the kubelet still keeps)
                ...state.volumes,
              ],
            },
          },
        },
      }),
    ),
    plain(
      new Service({
        metadata: { name, namespace, labels },
        spec: {
          clusterIP: 'None',
          selector: selectorLabels(svc, name),
          ports: [{ name: 'metrics', port: 2020, targetPort: 'metrics' }],
        },
      }),
    ),
  ];
}

export const logging: ServiceModule = {
  key: 'logging',
  render(ctx) {
    return {
      objects: [...lokiObjects(ctx), ...fluentBitObjects(ctx)],
      readiness: [{ type: 'endpoints', namespace: ctx.namespace, service: 'loki' }],
      podSecurityExceptions: [
        {
          service: svc,
          kind: 'DaemonSet',
          namespace: ctx.nodeNamespace,
          name: 'fluent-bit',
          allows: ['restrictedVolumes', 'runAsNonRoot', 'runAsUser'],
          reason:
            'container logs are files of the node: a read-only hostPath /var/log, read as root because the kubelet writes them root-owned with mode 0640; no capabilities (root without DAC_OVERRIDE reads only what root owns), no privilege escalation, RuntimeDefault seccomp, read-only root filesystem',
        },
      ],
    };
  },
};
