// Velero: the server Deployment (the AWS object-store plugin as an init container), its
// BackupStorageLocation pointing at the cluster's object storage (spec.objectStorage, defaults from
// the provider), a daily Schedule, and the CRDs the server needs. Volumes are backed up with CSI
// snapshots (EnableCSI); there is no node agent, so nothing of Velero needs the host.
//
// The CRDs are Velero's kinds with a permissive schema (x-kubernetes-preserve-unknown-fields), not
// upstream's full generated schemas: enough for the server to run and for `kubectl get backups`;
// they are never pruned (deleting a CRD deletes every backup record with it).
import type { Cluster } from '@kaas/api';
import type { KObject } from '@kaas/apiserver';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { imageOf } from '../versions.ts';
import {
  appLabels,
  plain,
  resources,
  restrictedContainer,
  restrictedPod,
  scratch,
  selectorLabels,
} from '../kube.ts';
import type { ServiceModule } from '../types.ts';

const name = 'velero';
export const veleroCredentialsSecret = 'velero-credentials';

const kinds: { kind: string; plural: string; version?: string }[] = [
  { kind: 'Backup', plural: 'backups' },
  { kind: 'BackupRepository', plural: 'backuprepositories' },
  { kind: 'BackupStorageLocation', plural: 'backupstoragelocations' },
  { kind: 'DeleteBackupRequest', plural: 'deletebackuprequests' },
  { kind: 'DownloadRequest', plural: 'downloadrequests' },
  { kind: 'PodVolumeBackup', plural: 'podvolumebackups' },
  { kind: 'PodVolumeRestore', plural: 'podvolumerestores' },
  { kind: 'Restore', plural: 'restores' },
  { kind: 'Schedule', plural: 'schedules' },
  { kind: 'ServerStatusRequest', plural: 'serverstatusrequests' },
  { kind: 'VolumeSnapshotLocation', plural: 'volumesnapshotlocations' },
  { kind: 'DataUpload', plural: 'datauploads', version: 'v2alpha1' },
  { kind: 'DataDownload', plural: 'datadownloads', version: 'v2alpha1' },
];

function crd(k: (typeof kinds)[number], labels: Record<string, string>): KObject {
  const open = { type: 'object' as const, 'x-kubernetes-preserve-unknown-fields': true };
  return plain(
    new CustomResourceDefinition({
      metadata: { name: `${k.plural}.velero.io`, labels: { ...labels, component: 'velero' } },
      spec: {
        group: 'velero.io',
        scope: 'Namespaced',
        names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.kind.toLowerCase() },
        versions: [
          {
            name: k.version ?? 'v1',
            served: true,
            storage: true,
            // no status subresource, as upstream's CRDs (v1.15.2 config/crd/v1/bases): Velero writes
            // status through the object itself, which a status subresource would silently drop
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  apiVersion: { type: 'string' },
                  kind: { type: 'string' },
                  metadata: { type: 'object' },
                  spec: open,
                  status: open,
                },
              },
            },
          },
        ],
      },
    }),
  );
}

/** Where backups go: spec.objectStorage, else the provider's object storage by convention. */
export function backupTarget(cluster: Cluster): {
  bucket: string;
  region: string;
  s3Url?: string;
  pathStyle: boolean;
} {
  const os = cluster.spec.objectStorage;
  const p = cluster.spec.provider;
  const bucket =
    os?.bucket ?? `kaas-${cluster.metadata.namespace ?? 'default'}-${cluster.metadata.name}-backups`;
  if (p.type === 'eks')
    return {
      bucket,
      region: os?.region ?? p.eks.region,
      ...(os?.endpoint ? { s3Url: os.endpoint } : {}),
      pathStyle: !!os?.endpoint,
    };
  if (p.type === 'openstack')
    // Swift's S3 API (s3api middleware): path-style addressing, the cloud's region
    return {
      bucket,
      region: os?.region ?? p.openstack.region,
      ...(os?.endpoint ? { s3Url: os.endpoint } : {}),
      pathStyle: true,
    };
  // the local cloud has no object storage of its own: point at one with spec.objectStorage.endpoint
  return {
    bucket,
    region: os?.region ?? 'local',
    s3Url: os?.endpoint ?? 'http://object-storage.kaas.local:8080',
    pathStyle: true,
  };
}

export const velero: ServiceModule = {
  key: 'backup',
  render({ cluster, release, namespace }) {
    const labels = appLabels(name, name, release.version);
    const target = backupTarget(cluster);
    const writable = scratch({ plugins: '/plugins', scratch: '/scratch' });
    return {
      objects: [
        ...kinds.map((k) => crd(k, labels)),
        plain(new ServiceAccount({ metadata: { name, namespace, labels } })),
        plain(
          new ClusterRoleBinding({
            // Velero backs up and restores every kind: upstream binds it to cluster-admin
            metadata: { name: `kaas:${name}`, labels },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
            subjects: [{ kind: 'ServiceAccount', name, namespace }],
          }),
        ),
        plain(
          new Deployment({
            metadata: { name, namespace, labels },
            spec: {
              replicas: 1,
              selector: { matchLabels: selectorLabels(name, name) },
              template: {
                metadata: { labels },
                spec: {
                  serviceAccountName: name,
                  securityContext: restrictedPod(65532),
                  initContainers: [
                    {
                      name: 'velero-plugin-for-aws',
                      image: imageOf(release, 'velero-plugin-for-aws'),
                      volumeMounts: [{ name: 'plugins', mountPath: '/target' }],
                      resources: resources('10m', '32Mi', '128Mi'),
                      securityContext: restrictedContainer({ readOnlyRootFilesystem: true }),
                    },
                  ],
                  containers: [
                    {
                      name,
                      image: imageOf(release, 'velero'),
                      command: ['/velero'],
                      args: [
                        'server',
                        '--features=EnableCSI',
                        '--uploader-type=kopia',
                        '--metrics-address=:8085',
                        '--default-backup-storage-location=default',
                      ],
                      env: [
                        {
                          name: 'VELERO_NAMESPACE',
                          valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
                        },
                        { name: 'VELERO_SCRATCH_DIR', value: '/scratch' },
                        { name: 'HOME', value: '/scratch' },
                        { name: 'AWS_SHARED_CREDENTIALS_FILE', value: '/credentials/cloud' },
                      ],
                      ports: [{ name: 'metrics', containerPort: 8085 }],
                      readinessProbe: { httpGet: { path: '/metrics', port: 'metrics' }, periodSeconds: 10 },
                      resources: resources('100m', '128Mi', '512Mi'),
                      // plugins are copied to /plugins and work files go to /scratch (emptyDirs)
                      securityContext: restrictedContainer({ readOnlyRootFilesystem: true }),
                      volumeMounts: [
                        ...writable.mounts,
                        { name: 'credentials', mountPath: '/credentials', readOnly: true },
                      ],
                    },
                  ],
                  volumes: [
                    ...writable.volumes,
                    // the operator's object-storage credentials; optional so Velero starts (and reports
                    // the location Unavailable) before they are given
                    { name: 'credentials', secret: { secretName: veleroCredentialsSecret, optional: true } },
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
              selector: selectorLabels(name, name),
              ports: [{ name: 'metrics', port: 8085, targetPort: 'metrics' }],
            },
          }),
        ),
        {
          apiVersion: 'velero.io/v1',
          kind: 'BackupStorageLocation',
          metadata: { name: 'default', namespace, labels },
          spec: {
            provider: 'aws',
            default: true,
            objectStorage: { bucket: target.bucket, prefix: cluster.metadata.name },
            credential: { name: veleroCredentialsSecret, key: 'cloud' },
            config: {
              region: target.region,
              ...(target.s3Url ? { s3Url: target.s3Url } : {}),
              s3ForcePathStyle: String(target.pathStyle),
              checksumAlgorithm: '',
            },
          },
        },
        {
          apiVersion: 'velero.io/v1',
          kind: 'Schedule',
          metadata: { name: 'daily', namespace, labels },
          spec: {
            schedule: '0 3 * * *',
            useOwnerReferencesInBackup: false,
            template: {
              ttl: '720h0m0s',
              snapshotVolumes: true,
              storageLocation: 'default',
              includedNamespaces: ['*'],
            },
          },
        },
      ],
      readiness: [
        { type: 'endpoints', namespace, service: name },
        {
          type: 'phase',
          apiVersion: 'velero.io/v1',
          kind: 'BackupStorageLocation',
          namespace,
          name: 'default',
          failOn: ['Unavailable'],
        },
      ],
    };
  },
};
