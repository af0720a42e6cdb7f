// The node's #cloud-config: files (secrets 0600, root-owned), the hostname, and one runcmd that
// runs the bootstrap script. Rendered with the yaml library, so no value can break out of its
// string; checked against cloud-init's own schema by the tests (`cloud-init schema`).
import { stringify } from 'yaml';
import { assertBootstrapInput, type NodeBootstrapInput } from './input.ts';
import { renderKubeadmConfig } from './kubeadm.ts';
import { addonManifests } from './manifests.ts';
import { paths } from './paths.ts';
import { addonFiles, cloudCaFile, renderBootstrapScript } from './script.ts';
import {
  kernelModules,
  renderCloudConf,
  renderContainerdConfig,
  renderContainerdUnit,
  renderSysctlConf,
  renderTokenReviewKubeconfig,
} from './files.ts';

/**
 * Nova refuses user data over 65,535 bytes once base64-encoded; the renderer refuses first, with
 * the size, instead of the server create failing with a 400.
 */
export const maxUserDataBase64Bytes = 65535;

export interface WriteFile {
  path: string;
  content: string;
  owner: string;
  permissions: '0600' | '0644' | '0700' | '0755';
}

const secretFile = (path: string, content: string): WriteFile => ({
  path,
  content,
  owner: 'root:root',
  permissions: '0600',
});
const plainFile = (path: string, content: string): WriteFile => ({
  path,
  content,
  owner: 'root:root',
  permissions: '0644',
});

const toYamlStream = (objects: readonly object[]) =>
  objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');

/** The files of one node, in the order cloud-init writes them. */
export function nodeFiles(input: NodeBootstrapInput): WriteFile[] {
  const files: WriteFile[] = [
    plainFile(paths.modules, kernelModules.map((m) => `${m}\n`).join('')),
    plainFile(paths.sysctl, renderSysctlConf()),
    plainFile(paths.containerdConfig, renderContainerdConfig()),
    plainFile(paths.containerdUnit, renderContainerdUnit()),
    secretFile(paths.kubeadmConfig, renderKubeadmConfig(input)),
  ];
  // Every kube-apiserver reads the webhook kubeconfig (a joining control plane too).
  if (input.role === 'controlPlane')
    files.push(secretFile(paths.tokenReviewKubeconfig, renderTokenReviewKubeconfig(input)));
  if (input.init) {
    if (input.clusterCa !== undefined) {
      files.push(plainFile(paths.caCert, input.clusterCa.certPem));
      files.push(secretFile(paths.caKey, input.clusterCa.keyPem));
    }
    files.push(secretFile(paths.cloudConf, renderCloudConf(input)));
    if (input.openstack.caPem !== undefined) files.push(plainFile(cloudCaFile, input.openstack.caPem));
    const addons = addonManifests(input);
    files.push(plainFile(addonFiles.cloudControllerManager, toYamlStream(addons.cloudControllerManager)));
    files.push(plainFile(addonFiles.cinderCsi, toYamlStream(addons.cinderCsi)));
    files.push(plainFile(addonFiles.calico, toYamlStream(addons.calico)));
  }
  files.push({
    path: paths.bootstrapScript,
    content: renderBootstrapScript(input),
    owner: 'root:root',
    permissions: '0700',
  });
  return files;
}

/** The cloud-config as an object (what renderNodeUserData serialises). */
export function nodeCloudConfig(input: NodeBootstrapInput): Record<string, unknown> {
  assertBootstrapInput(input);
  return {
    hostname: input.nodeName,
    preserve_hostname: false,
    manage_etc_hosts: true,
    write_files: nodeFiles(input),
    runcmd: [[paths.bootstrapScript]],
  };
}

/** `#cloud-config` user data for one node. Throws BootstrapInputError (no secret in it) on bad input. */
export function renderNodeUserData(input: NodeBootstrapInput): string {
  const text = `#cloud-config\n${stringify(nodeCloudConfig(input), { lineWidth: 0 })}`;
  const base64Bytes = Math.ceil(Buffer.byteLength(text, 'utf8') / 3) * 4;
  if (base64Bytes > maxUserDataBase64Bytes)
    throw new Error(
      `user data for ${input.nodeName} is ${base64Bytes} bytes base64-encoded; Nova accepts at most ${maxUserDataBase64Bytes}: shorten labels, taints or CA bundles`,
    );
  return text;
}
