// The Kubernetes objects the init node applies after `kubeadm init`: the OpenStack cloud controller
// manager, the cinder CSI driver with a default StorageClass, and Calico's operator configuration.
// Modelled on cloud-provider-openstack's manifests (manifests/controller-manager,
// manifests/cinder-csi-plugin at the pinned tag), tightened where a pod can run without privilege.
// No secret is in here: the cloud-config Secret is made on the node from the 0600 cloud.conf.
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { ICSIDriver } from 'kubernetes-models/storage.k8s.io/v1/CSIDriver';
import type { IStorageClass } from 'kubernetes-models/storage.k8s.io/v1/StorageClass';
import type { IIoK8sApiCoreV1SecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IIoK8sApiCoreV1PodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { IIoK8sApiRbacV1PolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule';
import type { NodeBootstrapInput } from './input.ts';
import { images, kubernetesReleaseOf } from './versions.ts';
import { cloudClusterName } from './cloudNames.ts';

export type KubeObject =
  | IServiceAccount
  | IClusterRole
  | IClusterRoleBinding
  | IDaemonSet
  | IDeployment
  | ICSIDriver
  | IStorageClass;

/** A Calico operator resource (operator.tigera.io/v1): no kubernetes-models type exists for it. */
export interface CalicoObject {
  apiVersion: 'operator.tigera.io/v1';
  kind: 'Installation' | 'APIServer';
  metadata: { name: string };
  spec: Record<string, unknown>;
}

export const cloudConfigSecretName = 'cloud-config';
export const csiDriverName = 'cinder.csi.openstack.org';
export const defaultStorageClassName = 'cinder';

/**
 * Where a pod we render cannot meet Pod Security "restricted", and why (docs/openstack.md lists
 * these; the tests hold every other pod to restricted and these to exactly the rules named).
 */
export const podSecurityExceptions: Record<string, { rules: string[]; reason: string }> = {
  'DaemonSet/openstack-cloud-controller-manager': {
    rules: ['hostNamespaces'],
    reason:
      'host network: the CCM initialises nodes (their addresses, the uninitialized taint) before any pod network exists, so it cannot depend on Calico',
  },
  'DaemonSet/csi-cinder-nodeplugin': {
    // upstream's rule ids at the restricted level (their baseline twins: capabilities, hostPathVolumes)
    rules: [
      'privileged',
      'capabilities_restricted',
      'restrictedVolumes',
      'hostNamespaces',
      'allowPrivilegeEscalation',
      'runAsNonRoot',
    ],
    reason:
      "the node plugin formats and mounts Cinder volumes into the kubelet's directory (privileged, SYS_ADMIN, /var/lib/kubelet and /dev with bidirectional propagation) and reads the instance ID from the metadata service (host network)",
  },
};

const ns = 'kube-system';

/** Restricted: non-root, no escalation, no capabilities, the runtime's seccomp profile. */
const restrictedContainer: IIoK8sApiCoreV1SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};
const restrictedPod = (uid: number): IIoK8sApiCoreV1PodSecurityContext => ({
  runAsNonRoot: true,
  runAsUser: uid,
  runAsGroup: uid,
  seccompProfile: { type: 'RuntimeDefault' },
});

const sa = (name: string): IServiceAccount => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name, namespace: ns },
});

const role = (name: string, rules: IIoK8sApiRbacV1PolicyRule[]): IClusterRole => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name },
  rules,
});

const binding = (name: string, roleName: string, serviceAccount: string): IClusterRoleBinding => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
  subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: ns }],
});

const rule = (apiGroups: string[], resources: string[], verbs: string[]): IIoK8sApiRbacV1PolicyRule => ({
  apiGroups,
  resources,
  verbs,
});
const leases = rule(
  ['coordination.k8s.io'],
  ['leases'],
  ['get', 'watch', 'list', 'delete', 'update', 'create'],
);
const events = rule([''], ['events'], ['list', 'watch', 'create', 'update', 'patch']);

const cloudConfigVolume = { name: 'cloud-config', secret: { secretName: cloudConfigSecretName } };
const cloudConfigMount = { name: 'cloud-config', mountPath: '/etc/config', readOnly: true };

function cloudProviderTag(input: NodeBootstrapInput): string {
  const r = kubernetesReleaseOf(input.kubernetesVersion);
  if (!r.ok) throw new Error(`kubernetesVersion: ${r.reason}`);
  return r.release.cloudProviderOpenStack;
}

/** openstack-cloud-controller-manager: nodes, and LoadBalancer Services as Octavia load balancers. */
export function cloudControllerManagerObjects(input: NodeBootstrapInput): KubeObject[] {
  const labels = { 'k8s-app': 'openstack-cloud-controller-manager' };
  const ds: IDaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'openstack-cloud-controller-manager', namespace: ns, labels },
    spec: {
      selector: { matchLabels: labels },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
          securityContext: restrictedPod(1001),
          tolerations: [
            { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' },
            { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
            { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
          ],
          serviceAccountName: 'cloud-controller-manager',
          priorityClassName: 'system-cluster-critical',
          hostNetwork: true,
          containers: [
            {
              name: 'openstack-cloud-controller-manager',
              image: images.cloudControllerManager(cloudProviderTag(input)),
              args: [
                '/bin/openstack-cloud-controller-manager',
                '--v=1',
                `--cluster-name=${cloudClusterName(input.clusterUid)}`,
                '--cloud-config=/etc/config/cloud.conf',
                '--cloud-provider=openstack',
                '--use-service-account-credentials=false',
                '--bind-address=127.0.0.1',
              ],
              securityContext: restrictedContainer,
              resources: { requests: { cpu: '100m', memory: '64Mi' } },
              volumeMounts: [cloudConfigMount],
            },
          ],
          volumes: [cloudConfigVolume],
        },
      },
    },
  };
  return [
    sa('cloud-controller-manager'),
    role('system:cloud-controller-manager', [
      rule(['coordination.k8s.io'], ['leases'], ['get', 'create', 'update']),
      rule([''], ['events'], ['create', 'patch', 'update']),
      rule([''], ['nodes'], ['*']),
      rule([''], ['nodes/status'], ['patch']),
      rule([''], ['services'], ['list', 'patch', 'update', 'watch']),
      rule([''], ['services/status'], ['patch']),
      rule([''], ['serviceaccounts'], ['create', 'get']),
      rule([''], ['serviceaccounts/token'], ['create']),
      rule([''], ['persistentvolumes'], ['*']),
      rule([''], ['endpoints'], ['create', 'get', 'list', 'watch', 'update']),
      rule([''], ['configmaps'], ['get', 'list', 'watch']),
      rule([''], ['secrets'], ['list', 'get', 'watch']),
    ]),
    binding('system:cloud-controller-manager', 'system:cloud-controller-manager', 'cloud-controller-manager'),
    ds,
  ];
}

const csiSocketDir = '/var/lib/csi/sockets/pluginproxy/';

/** The cinder CSI driver (controller Deployment, node DaemonSet, CSIDriver) and a default StorageClass. */
export function cinderCsiObjects(input: NodeBootstrapInput): KubeObject[] {
  const tag = cloudProviderTag(input);
  const sidecar = (name: string, image: string, args: string[]) => ({
    name,
    image,
    args: ['--csi-address=$(ADDRESS)', ...args],
    env: [{ name: 'ADDRESS', value: `${csiSocketDir}csi.sock` }],
    securityContext: restrictedContainer,
    volumeMounts: [{ name: 'socket-dir', mountPath: csiSocketDir }],
  });
  const controllerLabels = { app: 'csi-cinder-controllerplugin' };
  const controller: IDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'csi-cinder-controllerplugin', namespace: ns },
    spec: {
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      selector: { matchLabels: controllerLabels },
      template: {
        metadata: { labels: controllerLabels },
        spec: {
          serviceAccountName: 'csi-cinder-controller-sa',
          priorityClassName: 'system-cluster-critical',
          securityContext: restrictedPod(65532),
          containers: [
            sidecar('csi-attacher', images.csiAttacher, [
              '--timeout=3m',
              '--leader-election=true',
              '--default-fstype=ext4',
            ]),
            sidecar('csi-provisioner', images.csiProvisioner, [
              '--timeout=3m',
              '--default-fstype=ext4',
              '--feature-gates=Topology=true',
              '--extra-create-metadata',
              '--leader-election=true',
            ]),
            sidecar('csi-resizer', images.csiResizer, [
              '--timeout=3m',
              '--handle-volume-inuse-error=false',
              '--leader-election=true',
            ]),
            sidecar('liveness-probe', images.livenessProbe, []),
            {
              name: 'cinder-csi-plugin',
              image: images.cinderCsiPlugin(tag),
              args: [
                '/bin/cinder-csi-plugin',
                '--endpoint=unix://csi/csi.sock',
                '--cloud-config=/etc/config/cloud.conf',
                `--cluster=${cloudClusterName(input.clusterUid)}`,
                '--pvc-annotations',
                '--v=1',
              ],
              ports: [{ containerPort: 9808, name: 'healthz', protocol: 'TCP' }],
              livenessProbe: {
                failureThreshold: 5,
                httpGet: { path: '/healthz', port: 'healthz' },
                initialDelaySeconds: 10,
                timeoutSeconds: 10,
                periodSeconds: 60,
              },
              securityContext: restrictedContainer,
              volumeMounts: [{ name: 'socket-dir', mountPath: '/csi' }, cloudConfigMount],
            },
          ],
          volumes: [{ name: 'socket-dir', emptyDir: {} }, cloudConfigVolume],
        },
      },
    },
  };
  const nodeLabels = { app: 'csi-cinder-nodeplugin' };
  const pluginDir = `/var/lib/kubelet/plugins/${csiDriverName}`;
  const node: IDaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'csi-cinder-nodeplugin', namespace: ns },
    spec: {
      selector: { matchLabels: nodeLabels },
      template: {
        metadata: { labels: nodeLabels },
        spec: {
          tolerations: [{ operator: 'Exists' }],
          serviceAccountName: 'csi-cinder-node-sa',
          priorityClassName: 'system-node-critical',
          // the privileged plugin runs unconfined anyway; the registrar and the probe do not
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          hostNetwork: true,
          containers: [
            {
              name: 'node-driver-registrar',
              image: images.nodeDriverRegistrar,
              args: ['--csi-address=/csi/csi.sock', `--kubelet-registration-path=${pluginDir}/csi.sock`],
              volumeMounts: [
                { name: 'socket-dir', mountPath: '/csi' },
                { name: 'registration-dir', mountPath: '/registration' },
              ],
            },
            {
              name: 'liveness-probe',
              image: images.livenessProbe,
              args: ['--csi-address=/csi/csi.sock'],
              volumeMounts: [{ name: 'socket-dir', mountPath: '/csi' }],
            },
            {
              name: 'cinder-csi-plugin',
              image: images.cinderCsiPlugin(tag),
              securityContext: {
                privileged: true,
                capabilities: { add: ['SYS_ADMIN'] },
                allowPrivilegeEscalation: true,
              },
              args: [
                '/bin/cinder-csi-plugin',
                '--endpoint=unix://csi/csi.sock',
                '--provide-controller-service=false',
                '--cloud-config=/etc/config/cloud.conf',
                // inline ephemeral volumes are made by the node plugin: marked like the controller's
                `--cluster=${cloudClusterName(input.clusterUid)}`,
                '--v=1',
              ],
              ports: [{ containerPort: 9808, name: 'healthz', protocol: 'TCP' }],
              livenessProbe: {
                failureThreshold: 5,
                httpGet: { path: '/healthz', port: 'healthz' },
                initialDelaySeconds: 10,
                timeoutSeconds: 3,
                periodSeconds: 10,
              },
              volumeMounts: [
                { name: 'socket-dir', mountPath: '/csi' },
                { name: 'kubelet-dir', mountPath: '/var/lib/kubelet', mountPropagation: 'Bidirectional' },
                { name: 'pods-probe-dir', mountPath: '/dev', mountPropagation: 'HostToContainer' },
                cloudConfigMount,
              ],
            },
          ],
          volumes: [
            { name: 'socket-dir', hostPath: { path: pluginDir, type: 'DirectoryOrCreate' } },
            {
              name: 'registration-dir',
              hostPath: { path: '/var/lib/kubelet/plugins_registry/', type: 'Directory' },
            },
            { name: 'kubelet-dir', hostPath: { path: '/var/lib/kubelet', type: 'Directory' } },
            { name: 'pods-probe-dir', hostPath: { path: '/dev', type: 'Directory' } },
            cloudConfigVolume,
          ],
        },
      },
    },
  };
  return [
    sa('csi-cinder-controller-sa'),
    role('csi-attacher-role', [
      rule([''], ['persistentvolumes'], ['get', 'list', 'watch', 'patch']),
      rule(['storage.k8s.io'], ['csinodes'], ['get', 'list', 'watch']),
      rule(['storage.k8s.io'], ['volumeattachments'], ['get', 'list', 'watch', 'patch']),
      rule(['storage.k8s.io'], ['volumeattachments/status'], ['patch']),
      leases,
    ]),
    binding('csi-attacher-binding', 'csi-attacher-role', 'csi-cinder-controller-sa'),
    role('csi-provisioner-role', [
      rule([''], ['persistentvolumes'], ['get', 'list', 'watch', 'create', 'delete', 'patch']),
      rule([''], ['persistentvolumeclaims'], ['get', 'list', 'watch', 'update']),
      rule(['storage.k8s.io'], ['storageclasses'], ['get', 'list', 'watch']),
      rule([''], ['nodes'], ['get', 'list', 'watch']),
      rule(['storage.k8s.io'], ['csinodes'], ['get', 'list', 'watch']),
      events,
      rule(['storage.k8s.io'], ['volumeattachments'], ['get', 'list', 'watch']),
      leases,
    ]),
    binding('csi-provisioner-binding', 'csi-provisioner-role', 'csi-cinder-controller-sa'),
    role('csi-resizer-role', [
      rule([''], ['persistentvolumes'], ['get', 'list', 'watch', 'patch']),
      rule([''], ['persistentvolumeclaims'], ['get', 'list', 'watch']),
      rule([''], ['pods'], ['get', 'list', 'watch']),
      rule([''], ['persistentvolumeclaims/status'], ['patch']),
      events,
      leases,
    ]),
    binding('csi-resizer-binding', 'csi-resizer-role', 'csi-cinder-controller-sa'),
    controller,
    sa('csi-cinder-node-sa'),
    role('csi-nodeplugin-role', [
      rule([''], ['events'], ['get', 'list', 'watch', 'create', 'update', 'patch']),
    ]),
    binding('csi-nodeplugin-binding', 'csi-nodeplugin-role', 'csi-cinder-node-sa'),
    node,
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: csiDriverName },
      spec: { attachRequired: true, podInfoOnMount: true, volumeLifecycleModes: ['Persistent', 'Ephemeral'] },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: defaultStorageClassName,
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: csiDriverName,
      reclaimPolicy: 'Delete',
      allowVolumeExpansion: true,
      // The volume is made in the zone of the node its first pod lands on.
      volumeBindingMode: 'WaitForFirstConsumer',
    },
  ];
}

/**
 * Calico through the Tigera operator (whose own manifest is applied from the pinned release URL):
 * one IPv4 pool over the pod CIDR, always VXLAN-encapsulated, BGP off, NAT for traffic leaving the
 * pod network. Not VXLANCrossSubnet: unencapsulated pod traffic inside a subnet carries pod source
 * addresses, which Neutron's port security drops unless every port lists the pod CIDR in its
 * allowed address pairs. Nodes must reach each other on UDP 4789 (the security group's job).
 * Network policy is Calico's whole point here: the seed's clusters enforce NetworkPolicy.
 */
export function calicoObjects(input: NodeBootstrapInput): CalicoObject[] {
  return [
    {
      apiVersion: 'operator.tigera.io/v1',
      kind: 'Installation',
      metadata: { name: 'default' },
      spec: {
        calicoNetwork: {
          bgp: 'Disabled',
          ipPools: [
            {
              name: 'default-ipv4-ippool',
              cidr: input.podCIDR,
              blockSize: 26,
              encapsulation: 'VXLAN',
              natOutgoing: 'Enabled',
              nodeSelector: 'all()',
            },
          ],
        },
      },
    },
    { apiVersion: 'operator.tigera.io/v1', kind: 'APIServer', metadata: { name: 'default' }, spec: {} },
  ];
}

/** Every add-on object the init node applies, grouped by the file it is written to. */
export function addonManifests(input: NodeBootstrapInput): {
  cloudControllerManager: KubeObject[];
  cinderCsi: KubeObject[];
  calico: CalicoObject[];
} {
  return {
    cloudControllerManager: cloudControllerManagerObjects(input),
    cinderCsi: cinderCsiObjects(input),
    calico: calicoObjects(input),
  };
}
