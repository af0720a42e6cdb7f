// The cluster dashboard Grafana is provisioned with: nodes, resource use, workloads and the
// managed services, from node-exporter, kube-state-metrics and Prometheus's own `up`.
export function clusterDashboard(cluster: string): Record<string, unknown> {
  const panel = (
    id: number,
    title: string,
    expr: string,
    legend: string,
    x: number,
    y: number,
    type = 'timeseries',
  ) => ({
    id,
    type,
    title,
    datasource: { type: 'prometheus', uid: 'prometheus' },
    gridPos: { x, y, w: 12, h: 8 },
    targets: [{ refId: 'A', expr, legendFormat: legend }],
  });
  return {
    uid: 'kaas-cluster',
    title: `KaaS cluster ${cluster}`,
    tags: ['kaas'],
    schemaVersion: 39,
    time: { from: 'now-6h', to: 'now' },
    refresh: '1m',
    panels: [
      panel(
        1,
        'Nodes Ready',
        'sum(kube_node_status_condition{condition="Ready",status="true"})',
        'Ready',
        0,
        0,
        'stat',
      ),
      panel(
        2,
        'Managed services up',
        'sum by (job) (up{namespace=~"kaas-system.*|ingress-nginx"})',
        '{{job}}',
        12,
        0,
      ),
      panel(
        3,
        'CPU used per node',
        '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
        '{{instance}}',
        0,
        8,
      ),
      panel(
        4,
        'Memory used per node',
        '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes',
        '{{instance}}',
        12,
        8,
      ),
      panel(5, 'Pods per phase', 'sum by (phase) (kube_pod_status_phase)', '{{phase}}', 0, 16),
      panel(
        6,
        'Deployments not fully available',
        'kube_deployment_spec_replicas - kube_deployment_status_replicas_available > 0',
        '{{namespace}}/{{deployment}}',
        12,
        16,
      ),
      panel(
        7,
        'Container restarts (1h)',
        'sum by (namespace) (increase(kube_pod_container_status_restarts_total[1h]))',
        '{{namespace}}',
        0,
        24,
      ),
      panel(8, 'Firing alerts', 'sum by (alertname) (ALERTS{alertstate="firing"})', '{{alertname}}', 12, 24),
    ],
  };
}
