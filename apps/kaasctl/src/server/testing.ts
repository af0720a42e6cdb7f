// Fixtures shared by kaasctl server's tests of its openstack Clusters' bootstrap.

/** An openstack Cluster as a user would apply it: no server-set fields, no defaults filled in. */
export function openStackClusterObject(name: string) {
  return {
    apiVersion: 'kaas.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name, namespace: 'default' },
    spec: {
      provider: {
        type: 'openstack',
        openstack: {
          region: 'RegionOne',
          externalNetwork: 'public',
          image: 'ubuntu-24.04',
          flavors: { controlPlane: 'm1.large', workers: 'm1.xlarge' },
          dnsZone: 'kaas.example.com.',
        },
      },
      nodePools: [{ name: 'workers', replicas: 1 }],
      auth: { clusterAdminRoleIds: ['admin'] },
      credentialsRef: { name: 'os' },
    },
  };
}
