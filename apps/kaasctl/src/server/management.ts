// The management API (kaas.dev/v1alpha1) served by the root logical cluster: its kinds are
// registered as CustomResourceDefinitions generated from @kaas/api's schemas, so kubectl, the
// console and the controllers all see the same structural schema and printer columns.
import type { ApiServer } from '@kaas/apiserver';
import { StatusError } from '@kaas/apiserver';
import { crdFor, kindsTable } from '@kaas/api';

export async function installManagementAPI(server: ApiServer): Promise<string[]> {
  const root = await server.clusters.get('root');
  const crdInfo = root.resourceByPlural('apiextensions.k8s.io', 'customresourcedefinitions');
  if (!crdInfo) throw new Error('the API server does not serve CustomResourceDefinitions');
  const scope = { cluster: 'root', info: crdInfo };
  const installed: string[] = [];
  for (const info of kindsTable) {
    const crd = crdFor(info) as { metadata: { name: string }; spec: unknown };
    try {
      await server.rest.create(scope, structuredClone(crd));
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 409)) throw e;
      // Keep the stored definition in step with this binary's schemas.
      await server.rest.guaranteedUpdate(scope, crd.metadata.name, (cur) => ({ ...cur, spec: crd.spec }));
    }
    installed.push(crd.metadata.name);
  }
  return installed;
}
