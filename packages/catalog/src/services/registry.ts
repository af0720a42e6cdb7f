// The container registry: distribution/registry with its blobs on a PersistentVolumeClaim, in-cluster
// only (a ClusterIP Service; expose it with an Ingress of your own). It has no UI, so the SSO proxy
// has no route to it.
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { stringify } from 'yaml';
import { imageOf } from '../versions.ts';
import {
  appLabels,
  httpProbe,
  plain,
  resources,
  restrictedContainer,
  restrictedPod,
  selectorLabels,
} from '../kube.ts';
import type { ServiceModule } from '../types.ts';

const name = 'registry';
export const registryPort = 5000;

export const registry: ServiceModule = {
  key: 'registry',
  render({ release, namespace }) {
    const labels = appLabels(name, name, release.version);
    const config = {
      version: 0.1,
      log: { fields: { service: 'registry' } },
      storage: { filesystem: { rootdirectory: '/var/lib/registry' }, delete: { enabled: true } },
      http: {
        addr: `:${registryPort}`,
        headers: { 'X-Content-Type-Options': ['nosniff'] },
        debug: { addr: ':5001', prometheus: { enabled: true, path: '/metrics' } },
      },
      health: { storagedriver: { enabled: true, interval: '10s', threshold: 3 } },
    };
    return {
      objects: [
        plain(
          new ConfigMap({
            metadata: { name: 'registry-config', namespace, labels },
            data: { 'config.yml': stringify(config) },
          }),
        ),
        plain(
          new PersistentVolumeClaim({
            metadata: { name: 'registry-data', namespace, labels },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } } },
          }),
        ),
        plain(
          new Deployment({
            metadata: { name, namespace, labels },
            spec: {
              replicas: 1,
              // one writer on a ReadWriteOnce volume: the old pod goes before the new one starts
              strategy: { type: 'Recreate' },
              selector: { matchLabels: selectorLabels(name, name) },
              template: {
                metadata: { labels },
                spec: {
                  automountServiceAccountToken: false,
                  securityContext: restrictedPod(1000),
                  containers: [
                    {
                      name,
                      image: imageOf(release, 'registry'),
                      ports: [
                        { name: 'http', containerPort: registryPort },
                        { name: 'metrics', containerPort: 5001 },
                      ],
                      readinessProbe: httpProbe('/', 'http'),
                      resources: resources('50m', '64Mi', '512Mi'),
                      // writes only to its storage directory: the root filesystem stays read-only
                      securityContext: restrictedContainer({ readOnlyRootFilesystem: true }),
                      volumeMounts: [
                        { name: 'data', mountPath: '/var/lib/registry' },
                        { name: 'config', mountPath: '/etc/docker/registry', readOnly: true },
                      ],
                    },
                  ],
                  volumes: [
                    { name: 'data', persistentVolumeClaim: { claimName: 'registry-data' } },
                    { name: 'config', configMap: { name: 'registry-config' } },
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
              ports: [
                { name: 'http', port: registryPort, targetPort: 'http' },
                { name: 'metrics', port: 5001, targetPort: 'metrics' },
              ],
            },
          }),
        ),
      ],
      readiness: [{ type: 'endpoints', namespace, service: name }],
    };
  },
};
