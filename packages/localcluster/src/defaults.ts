// What every local cluster starts with: its namespaces and the default StorageClass, whose
// provisioner makes each volume a real directory on the management host.
import { annDefaultStorageClass } from '@kaas/apiserver';
import type { KObject } from '@kaas/apiserver';
import type { InProcessClient } from '@kaas/controllers';
import { isAlreadyExists } from '@kaas/controllers';

/** The provisioner of the local cloud's volumes (directories under `<dataDir>/volumes`). */
export const localVolumeProvisioner = 'kaas.dev/local-volume';
export const defaultNamespaceNames = [
  'default',
  'kube-public',
  'kube-system',
  'kube-node-lease',
  'kaas-system',
];

export function standardStorageClass(): KObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'standard', annotations: { [annDefaultStorageClass]: 'true' } },
    provisioner: localVolumeProvisioner,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
    allowVolumeExpansion: false,
  };
}

/**
 * Creates what is missing of the cluster's defaults: namespaces default, kube-public,
 * kube-system, kube-node-lease, kaas-system and the default StorageClass `standard`. Existing
 * objects are left as they are (an administrator may have changed them). Idempotent.
 */
export async function ensureClusterDefaults(
  client: Pick<InProcessClient, 'create'>,
  cluster: string,
): Promise<void> {
  const create = (obj: KObject) =>
    client.create(cluster, obj).catch((e: unknown) => {
      if (!isAlreadyExists(e)) throw e;
    });
  for (const name of defaultNamespaceNames)
    await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await create(standardStorageClass());
}
