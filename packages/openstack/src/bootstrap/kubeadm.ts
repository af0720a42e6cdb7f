import type { NodeBootstrapInput } from './input.ts';
/** The multi-document kubeadm v1beta4 configuration. Not implemented yet (being filled in). */
export function renderKubeadmConfig(input: NodeBootstrapInput): string {
  throw new Error(`renderKubeadmConfig(${input.nodeName}): not implemented yet`);
}
