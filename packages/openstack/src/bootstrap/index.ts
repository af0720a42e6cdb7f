// Node bootstrap for the OpenStack provider (issue 6): the cloud-init user data that turns a fresh
// Debian/Ubuntu server into a kubeadm control plane or worker node. Pure rendering: no cloud calls,
// no clock, no randomness (the provider generates the token and keys and passes them in).
export type { NodeBootstrapInput } from './input.ts';
export { renderNodeUserData } from './userData.ts';
export { renderKubeadmConfig } from './kubeadm.ts';
export { componentVersions } from './versions.ts';
export { apiReadinessProbe } from './readiness.ts';
