// Monitoring: Prometheus (scrape configuration for the cluster's nodes, API server, exporters and
// the managed services; alert rules labelled with the cluster's name), Alertmanager, Grafana
// (datasources and a cluster dashboard provisioned; sign-in by the SSO proxy's identity headers),
// node-exporter (a DaemonSet in the node agents' namespace: it needs the host) and
// kube-state-metrics. Prometheus and Alertmanager serve under /prometheus/ and /alertmanager/ and
// Grafana under /grafana/, the SSO proxy's route prefixes.
import type { KObject } from '@kaas/apiserver';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
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
import type { PodSecurityException, RenderContext, ServiceModule } from '../types.ts';
import { clusterDashboard } from './dashboard.ts';

const svc = 'monitoring';
export const monitoringPorts = {
  prometheus: 9090,
  alertmanager: 9093,
  grafana: 3000,
  nodeExporter: 9100,
  ksm: 8080,
};

const binding = (name: string, namespace: string, labels: Record<string, string>): KObject =>
  plain(
    new ClusterRoleBinding({
      metadata: { name: `kaas:${name}`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `kaas:${name}` },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    }),
  );

const service = (
  name: string,
  namespace: string,
  labels: Record<string, string>,
  port: number,
  portName = 'http',
) =>
  plain(
    new Service({
      metadata: { name, namespace, labels },
      spec: { selector: selectorLabels(svc, name), ports: [{ name: portName, port, targetPort: portName }] },
    }),
  );

/** Prometheus's configuration: what it scrapes, with `cluster` on every series. */
export function prometheusConfig(ctx: RenderContext): Record<string, unknown> {
  const { cluster, namespace, nodeNamespace } = ctx;
  const inCluster = {
    scheme: 'https',
    authorization: { credentials_file: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
    tls_config: {
      ca_file: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
      insecure_skip_verify: false,
    },
  };
  const serviceNamespaces = [...new Set([namespace, nodeNamespace, ctx.namespaceOf('ingressNginx')])];
  return {
    global: {
      scrape_interval: '30s',
      evaluation_interval: '30s',
      external_labels: {
        cluster: cluster.metadata.name,
        kaas_namespace: cluster.metadata.namespace ?? 'default',
      },
    },
    alerting: {
      alertmanagers: [
        {
          path_prefix: '/alertmanager/',
          static_configs: [{ targets: [`alertmanager.${namespace}.svc:${monitoringPorts.alertmanager}`] }],
        },
      ],
    },
    rule_files: ['/etc/prometheus/rules/*.yml'],
    scrape_configs: [
      {
        job_name: 'prometheus',
        metrics_path: '/prometheus/metrics',
        static_configs: [{ targets: [`localhost:${monitoringPorts.prometheus}`] }],
      },
      {
        job_name: 'kubernetes-apiservers',
        kubernetes_sd_configs: [{ role: 'endpoints', namespaces: { names: ['default'] } }],
        ...inCluster,
        relabel_configs: [
          {
            source_labels: ['__meta_kubernetes_service_name', '__meta_kubernetes_endpoint_port_name'],
            action: 'keep',
            regex: 'kubernetes;https',
          },
        ],
      },
      {
        job_name: 'kubernetes-nodes',
        kubernetes_sd_configs: [{ role: 'node' }],
        ...inCluster,
        relabel_configs: [{ action: 'labelmap', regex: '__meta_kubernetes_node_label_(.+)' }],
      },
      {
        job_name: 'kubernetes-cadvisor',
        kubernetes_sd_configs: [{ role: 'node' }],
        ...inCluster,
        metrics_path: '/metrics/cadvisor',
      },
      {
        // node-exporter, kube-state-metrics and every managed service: Service ports named metrics or http-metrics
        job_name: 'kaas-services',
        kubernetes_sd_configs: [{ role: 'endpoints', namespaces: { names: serviceNamespaces } }],
        relabel_configs: [
          {
            source_labels: ['__meta_kubernetes_endpoint_port_name'],
            action: 'keep',
            regex: 'metrics|http-metrics',
          },
          { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
          { source_labels: ['__meta_kubernetes_service_name'], target_label: 'job' },
          { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
        ],
      },
    ],
  };
}

/** Alert rules for the cluster; every alert names it in `cluster` (an external label) and the summary. */
export function alertRules(ctx: RenderContext): Record<string, unknown> {
  const name = ctx.cluster.metadata.name;
  const rule = (alert: string, expr: string, forDuration: string, severity: string, summary: string) => ({
    alert,
    expr,
    for: forDuration,
    labels: { severity, cluster: name },
    annotations: { summary: `${name}: ${summary}` },
  });
  return {
    groups: [
      {
        name: 'kaas-cluster',
        rules: [
          rule(
            'KaaSNodeNotReady',
            'kube_node_status_condition{condition="Ready",status="true"} == 0',
            '5m',
            'critical',
            'node {{ $labels.node }} is not Ready',
          ),
          rule(
            'KaaSTargetDown',
            'up == 0',
            '5m',
            'warning',
            '{{ $labels.job }} target {{ $labels.instance }} is down',
          ),
          rule(
            'KaaSManagedServiceUnavailable',
            'kube_deployment_status_replicas_available{namespace=~"kaas-system|ingress-nginx"} < kube_deployment_spec_replicas{namespace=~"kaas-system|ingress-nginx"}',
            '10m',
            'critical',
            'managed Deployment {{ $labels.namespace }}/{{ $labels.deployment }} is not fully available',
          ),
          rule(
            'KaaSDaemonSetNotScheduled',
            'kube_daemonset_status_desired_number_scheduled - kube_daemonset_status_number_available > 0',
            '10m',
            'warning',
            'DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} is missing pods',
          ),
          rule(
            'KaaSPodCrashLooping',
            'increase(kube_pod_container_status_restarts_total[15m]) > 3',
            '5m',
            'warning',
            'pod {{ $labels.namespace }}/{{ $labels.pod }} restarts repeatedly',
          ),
          rule(
            'KaaSNodeFilesystemAlmostFull',
            'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay"} < 0.10',
            '15m',
            'warning',
            'filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} has less than 10% left',
          ),
          rule(
            'KaaSNodeMemoryPressure',
            'node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.05',
            '10m',
            'warning',
            'node {{ $labels.instance }} has less than 5% memory available',
          ),
          rule(
            'KaaSBackupFailed',
            'increase(velero_backup_failure_total[24h]) > 0',
            '0m',
            'critical',
            'a Velero backup failed in the last 24 hours',
          ),
          rule(
            'KaaSAPIServerErrors',
            'sum(rate(apiserver_request_total{code=~"5.."}[5m])) / sum(rate(apiserver_request_total[5m])) > 0.05',
            '10m',
            'critical',
            'more than 5% of API requests fail',
          ),
        ],
      },
    ],
  };
}

function prometheusObjects(ctx: RenderContext): KObject[] {
  const { release, namespace } = ctx;
  const name = 'prometheus';
  const labels = appLabels(svc, name, release.version);
  const tmp = scratch({ tmp: '/tmp' });
  return [
    plain(new ServiceAccount({ metadata: { name, namespace, labels } })),
    plain(
      new ClusterRole({
        metadata: { name: `kaas:${name}`, labels },
        rules: [
          {
            apiGroups: [''],
            resources: ['nodes', 'nodes/metrics', 'services', 'endpoints', 'pods'],
            verbs: ['get', 'list', 'watch'],
          },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
          { nonResourceURLs: ['/metrics', '/metrics/cadvisor'], verbs: ['get'] },
        ],
      }),
    ),
    binding(name, namespace, labels),
    plain(
      new ConfigMap({
        metadata: { name: 'prometheus-config', namespace, labels },
        data: { 'prometheus.yml': stringify(prometheusConfig(ctx)) },
      }),
    ),
    plain(
      new ConfigMap({
        metadata: { name: 'prometheus-rules', namespace, labels },
        data: { 'kaas-cluster.yml': stringify(alertRules(ctx)) },
      }),
    ),
    plain(
      new PersistentVolumeClaim({
        metadata: { name: 'prometheus-data', namespace, labels },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } } },
      }),
    ),
    plain(
      new Deployment({
        metadata: { name, namespace, labels },
        spec: {
          replicas: 1,
          strategy: { type: 'Recreate' },
          selector: { matchLabels: selectorLabels(svc, name) },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: name,
              securityContext: restrictedPod(65534),
              containers: [
                {
                  name,
                  image: imageOf(release, 'prometheus'),
                  args: [
                    '--config.file=/etc/prometheus/prometheus.yml',
                    '--storage.tsdb.path=/prometheus',
                    '--storage.tsdb.retention.time=15d',
                    '--web.external-url=/prometheus/',
                    '--web.enable-lifecycle',
                  ],
                  ports: [{ name: 'http', containerPort: monitoringPorts.prometheus }],
                  readinessProbe: httpProbe('/prometheus/-/ready', 'http'),
                  resources: resources('200m', '512Mi', '2Gi'),
                  securityContext: restrictedContainer({ readOnlyRootFilesystem: true }),
                  volumeMounts: [
                    { name: 'config', mountPath: '/etc/prometheus', readOnly: true },
                    { name: 'rules', mountPath: '/etc/prometheus/rules', readOnly: true },
                    { name: 'data', mountPath: '/prometheus' },
                    ...tmp.mounts,
                  ],
                },
              ],
              volumes: [
                { name: 'config', configMap: { name: 'prometheus-config' } },
                { name: 'rules', configMap: { name: 'prometheus-rules' } },
                { name: 'data', persistentVolumeClaim: { claimName: 'prometheus-data' } },
                ...tmp.volumes,
              ],
            },
          },
        },
      }),
    ),
    service(name, namespace, labels, monitoringPorts.prometheus),
  ];
}

function alertmanagerObjects(ctx: RenderContext): KObject[] {
  const { release, namespace, cluster } = ctx;
  const name = 'alertmanager';
  const labels = appLabels(svc, name, release.version);
  const writable = scratch({ data: '/alertmanager', tmp: '/tmp' });
  const config = {
    route: {
      receiver: 'default',
      group_by: ['cluster', 'alertname'],
      group_wait: '30s',
      repeat_interval: '4h',
    },
    // a receiver without integrations: alerts show in the UI; add webhook/email receivers here
    receivers: [{ name: 'default' }],
    templates: [],
    inhibit_rules: [
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ['cluster', 'alertname'],
      },
    ],
  };
  return [
    plain(
      new ConfigMap({
        metadata: {
          name: 'alertmanager-config',
          namespace,
          labels,
          annotations: { 'kaas.dev/cluster': cluster.metadata.name },
        },
        data: { 'alertmanager.yml': stringify(config) },
      }),
    ),
    plain(
      new Deployment({
        metadata: { name, namespace, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: selectorLabels(svc, name) },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              securityContext: restrictedPod(65534),
              containers: [
                {
                  name,
                  image: imageOf(release, 'alertmanager'),
                  args: [
                    '--config.file=/etc/alertmanager/alertmanager.yml',
                    '--storage.path=/alertmanager',
                    '--web.external-url=/alertmanager/',
                    '--cluster.listen-address=',
                  ],
                  ports: [{ name: 'http', containerPort: monitoringPorts.alertmanager }],
                  readinessProbe: httpProbe('/alertmanager/-/ready', 'http'),
                  resources: resources('20m', '64Mi', '256Mi'),
                  securityContext: restrictedContainer({ readOnlyRootFilesystem: true }),
                  volumeMounts: [
                    { name: 'config', mountPath: '/etc/alertmanager', readOnly: true },
                    ...writable.mounts,
                  ],
                },
              ],
              volumes: [{ name: 'config', configMap: { name: 'alertmanager-config' } }, ...writable.volumes],
            },
          },
        },
      }),
    ),
    service(name, namespace, labels, monitoringPorts.alertmanager),
  ];
}

function grafanaObjects(ctx: RenderContext): KObject[] {
  const { release, namespace, cluster } = ctx;
  const name = 'grafana';
  const labels = appLabels(svc, name, release.version);
  const writable = scratch({ data: '/var/lib/grafana', tmp: '/tmp' });
  const ini = [
    '[server]',
    'root_url = %(protocol)s://%(domain)s/grafana/',
    'serve_from_sub_path = true',
    '[paths]',
    'data = /var/lib/grafana',
    'provisioning = /etc/grafana/provisioning',
    '[analytics]',
    'reporting_enabled = false',
    'check_for_updates = false',
    // the SSO proxy signs users in and passes who they are; clients cannot set these headers
    '[auth.proxy]',
    'enabled = true',
    'header_name = X-Forwarded-Preferred-Username',
    'header_property = username',
    'headers = Email:X-Forwarded-Email Groups:X-Forwarded-Groups',
    'auto_sign_up = true',
    '[auth]',
    'disable_login_form = true',
    '[auth.basic]',
    'enabled = false',
    '[security]',
    'disable_initial_admin_creation = true',
    'cookie_secure = true',
    '[users]',
    'auto_assign_org_role = Viewer',
    '',
  ].join('\n');
  const datasources = [
    {
      name: 'Prometheus',
      type: 'prometheus',
      uid: 'prometheus',
      access: 'proxy',
      isDefault: true,
      url: `http://prometheus.${namespace}.svc:${monitoringPorts.prometheus}/prometheus`,
    },
    {
      name: 'Alertmanager',
      type: 'alertmanager',
      uid: 'alertmanager',
      access: 'proxy',
      url: `http://alertmanager.${namespace}.svc:${monitoringPorts.alertmanager}/alertmanager`,
      jsonData: { implementation: 'prometheus', handleGrafanaManagedAlerts: false },
    },
    ...(ctx.enabled('logging')
      ? [
          {
            name: 'Loki',
            type: 'loki',
            uid: 'loki',
            access: 'proxy',
            url: `http://loki.${ctx.namespaceOf('logging')}.svc:3100`,
          },
        ]
      : []),
  ];
  return [
    plain(
      new ConfigMap({
        metadata: { name: 'grafana-config', namespace, labels },
        data: {
          'grafana.ini': ini,
          'datasources.yaml': stringify({ apiVersion: 1, datasources }),
          'dashboards.yaml': stringify({
            apiVersion: 1,
            providers: [
              {
                name: 'kaas',
                folder: 'KaaS',
                type: 'file',
                disableDeletion: true,
                allowUiUpdates: false,
                options: { path: '/var/lib/grafana-dashboards' },
              },
            ],
          }),
        },
      }),
    ),
    plain(
      new ConfigMap({
        metadata: { name: 'grafana-dashboards', namespace, labels },
        data: { 'kaas-cluster.json': JSON.stringify(clusterDashboard(cluster.metadata.name)) },
      }),
    ),
    plain(
      new Deployment({
        metadata: { name, namespace, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: selectorLabels(svc, name) },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              // 472 is the image's grafana user
              securityContext: restrictedPod(472),
              containers: [
                {
                  name,
                  image: imageOf(release, 'grafana'),
                  env: [{ name: 'GF_PATHS_CONFIG', value: '/etc/grafana/grafana.ini' }],
                  ports: [{ name: 'http', containerPort: monitoringPorts.grafana }],
                  readinessProbe: httpProbe('/api/health', 'http'),
                  resources: resources('50m', '128Mi', '512Mi'),
                  securityContext: restrictedContainer({ readOnlyRootFilesystem: true }),
                  volumeMounts: [
                    {
                      name: 'config',
                      mountPath: '/etc/grafana/grafana.ini',
                      subPath: 'grafana.ini',
                      readOnly: true,
                    },
                    {
                      name: 'config',
                      mountPath: '/etc/grafana/provisioning/datasources/kaas.yaml',
                      subPath: 'datasources.yaml',
                      readOnly: true,
                    },
                    {
                      name: 'config',
                      mountPath: '/etc/grafana/provisioning/dashboards/kaas.yaml',
                      subPath: 'dashboards.yaml',
                      readOnly: true,
                    },
                    { name: 'dashboards', mountPath: '/var/lib/grafana-dashboards', readOnly: true },
                    ...writable.mounts,
                  ],
                },
              ],
              volumes: [
                { name: 'config', configMap: { name: 'grafana-config' } },
                { name: 'dashboards', configMap: { name: 'grafana-dashboards' } },
                ...writable.volumes,
              ],
            },
          },
        },
      }),
    ),
    service(name, namespace, labels, monitoringPorts.grafana),
  ];
}

function nodeExporterObjects(ctx: RenderContext): { objects: KObject[]; exception: PodSecurityException } {
  const { release, nodeNamespace: namespace } = ctx;
  const name = 'node-exporter';
  const labels = appLabels(svc, name, release.version);
  const port = monitoringPorts.nodeExporter;
  return {
    objects: [
      namespaceObject(namespace, { privileged: true }),
      plain(
        new DaemonSet({
          metadata: { name, namespace, labels },
          spec: {
            selector: { matchLabels: selectorLabels(svc, name) },
            updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
            template: {
              metadata: { labels },
              spec: {
                automountServiceAccountToken: false,
                hostNetwork: true,
                hostPID: true,
                tolerations: [{ operator: 'Exists' }],
                // everything else of restricted still holds: nobody, no privilege escalation, no capabilities
                securityContext: restrictedPod(65534),
                containers: [
                  {
                    name,
                    image: imageOf(release, 'node-exporter'),
                    args: [
                      '--path.procfs=/host/proc',
                      '--path.sysfs=/host/sys',
                      '--path.rootfs=/host/root',
                      `--web.listen-address=:${port}`,
                      '--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|var/lib/docker/.+|var/lib/kubelet/.+)($|/)',
                    ],
                    ports: [{ name: 'metrics', containerPort: port, hostPort: port }],
                    readinessProbe: httpProbe('/', port),
                    resources: resources('20m', '32Mi', '128Mi'),
                    securityContext: restrictedContainer({ readOnlyRootFilesystem: true }),
                    volumeMounts: [
                      { name: 'proc', mountPath: '/host/proc', readOnly: true },
                      { name: 'sys', mountPath: '/host/sys', readOnly: true },
                      {
                        name: 'root',
                        mountPath: '/host/root',
                        readOnly: true,
                        mountPropagation: 'HostToContainer',
                      },
                    ],
                  },
                ],
                volumes: [
                  { name: 'proc', hostPath: { path: '/proc' } },
                  { name: 'sys', hostPath: { path: '/sys' } },
                  { name: 'root', hostPath: { path: '/' } },
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
            ports: [{ name: 'metrics', port, targetPort: 'metrics' }],
          },
        }),
      ),
    ],
    exception: {
      service: svc,
      kind: 'DaemonSet',
      namespace,
      name,
      allows: ['hostNamespaces', 'hostPorts', 'restrictedVolumes'],
      reason:
        "node metrics are the host's: hostNetwork and hostPID to see the node's interfaces and processes, read-only hostPath /proc, /sys and / for its kernel counters and filesystems, and the hostPort that hostNetwork implies; it still runs as nobody with no capabilities and no privilege escalation",
    },
  };
}

function kubeStateMetricsObjects(ctx: RenderContext): KObject[] {
  const { release, namespace } = ctx;
  const name = 'kube-state-metrics';
  const labels = appLabels(svc, name, release.version);
  const resourcesList = [
    'configmaps',
    'secrets',
    'nodes',
    'pods',
    'services',
    'serviceaccounts',
    'resourcequotas',
    'replicationcontrollers',
    'limitranges',
    'persistentvolumeclaims',
    'persistentvolumes',
    'namespaces',
    'endpoints',
  ];
  return [
    plain(new ServiceAccount({ metadata: { name, namespace, labels } })),
    plain(
      new ClusterRole({
        metadata: { name: `kaas:${name}`, labels },
        rules: [
          { apiGroups: [''], resources: resourcesList, verbs: ['list', 'watch'] },
          {
            apiGroups: ['apps'],
            resources: ['statefulsets', 'daemonsets', 'deployments', 'replicasets'],
            verbs: ['list', 'watch'],
          },
          { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: ['list', 'watch'] },
          { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list', 'watch'] },
          { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['list', 'watch'] },
          {
            apiGroups: ['networking.k8s.io'],
            resources: ['networkpolicies', 'ingresses', 'ingressclasses'],
            verbs: ['list', 'watch'],
          },
          {
            apiGroups: ['storage.k8s.io'],
            resources: ['storageclasses', 'volumeattachments'],
            verbs: ['list', 'watch'],
          },
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['list', 'watch'] },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        ],
      }),
    ),
    binding(name, namespace, labels),
    plain(
      new Deployment({
        metadata: { name, namespace, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: selectorLabels(svc, name) },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: name,
              securityContext: restrictedPod(65534),
              containers: [
                {
                  name,
                  image: imageOf(release, 'kube-state-metrics'),
                  args: [`--port=${monitoringPorts.ksm}`, '--telemetry-port=8081'],
                  ports: [
                    { name: 'http-metrics', containerPort: monitoringPorts.ksm },
                    { name: 'telemetry', containerPort: 8081 },
                  ],
                  readinessProbe: httpProbe('/readyz', 8081),
                  resources: resources('20m', '64Mi', '256Mi'),
                  securityContext: restrictedContainer({ readOnlyRootFilesystem: true }),
                },
              ],
            },
          },
        },
      }),
    ),
    service(name, namespace, labels, monitoringPorts.ksm, 'http-metrics'),
  ];
}

export const monitoring: ServiceModule = {
  key: 'monitoring',
  render(ctx) {
    const node = nodeExporterObjects(ctx);
    const ns = ctx.namespace;
    return {
      objects: [
        ...prometheusObjects(ctx),
        ...alertmanagerObjects(ctx),
        ...grafanaObjects(ctx),
        ...kubeStateMetricsObjects(ctx),
        ...node.objects,
      ],
      readiness: ['prometheus', 'alertmanager', 'grafana', 'kube-state-metrics'].map((service) => ({
        type: 'endpoints' as const,
        namespace: ns,
        service,
      })),
      podSecurityExceptions: [node.exception],
    };
  },
};
