// Inputs for the bootstrap tests: one cluster's three kinds of node, with real certificates (a
// fresh CA per call, made by openssl: importing the API server for its createCA costs each test
// file a second of CPU) and secrets shaped like the real ones but marked, so a test can search any
// output for them.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NodeBootstrapInput } from './input.ts';
import { caCertHashOf } from './secrets.ts';

/** Distinctive secret values: each occurs nowhere else, so finding one outside a 0600 file is a leak. */
export const testSecrets = {
  bootstrapToken: 'zq7k2p.s3cr3tt0k3nzz9x1',
  certificateKey: 'c0ffee'.repeat(10) + 'beef',
  applicationCredentialSecret: 'S3CRET-app-cred-"quote"-\\slash-$dollar-`tick`',
} as const;

export interface TestCluster {
  init: NodeBootstrapInput;
  joinControlPlane: NodeBootstrapInput;
  worker: NodeBootstrapInput;
  /** Key PEMs that must only appear in 0600 files. */
  keyPems: string[];
}

const run = promisify(execFile);

interface KeyAndCert {
  certPem: string;
  keyPem: string;
}

/** A P-256 CA and a client certificate it signed, as kubeadm and KaaS would have them. */
async function testPki(): Promise<{ clusterCa: KeyAndCert; kaasCa: KeyAndCert; client: KeyAndCert }> {
  const dir = await mkdtemp(join(tmpdir(), 'kaas-bootstrap-pki-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    const ca = (name: string) =>
      run('openssl', [
        'req',
        '-x509',
        ...ec,
        '-keyout',
        join(dir, `${name}.key`),
        '-out',
        join(dir, `${name}.crt`),
        '-subj',
        `/CN=${name}`,
        '-days',
        '3650',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]);
    await Promise.all([ca('kubernetes'), ca('kaas-ca')]);
    await run('openssl', [
      'req',
      '-new',
      ...ec,
      '-keyout',
      join(dir, 'client.key'),
      '-out',
      join(dir, 'client.csr'),
      '-subj',
      '/O=system:auth-delegator/CN=kube-apiserver:demo',
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      join(dir, 'client.csr'),
      '-CA',
      join(dir, 'kaas-ca.crt'),
      '-CAkey',
      join(dir, 'kaas-ca.key'),
      '-CAcreateserial',
      '-out',
      join(dir, 'client.crt'),
      '-days',
      '365',
    ]);
    const pair = async (name: string): Promise<KeyAndCert> => ({
      certPem: await readFile(join(dir, `${name}.crt`), 'utf8'),
      keyPem: await readFile(join(dir, `${name}.key`), 'utf8'),
    });
    return {
      clusterCa: await pair('kubernetes'),
      kaasCa: await pair('kaas-ca'),
      client: await pair('client'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function testCluster(kubernetesVersion = '1.31.4'): Promise<TestCluster> {
  const { clusterCa, kaasCa, client } = await testPki();
  const base: NodeBootstrapInput = {
    clusterName: 'demo',
    clusterUid: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
    role: 'controlPlane',
    nodeName: 'demo-control-plane-0',
    init: true,
    kubernetesVersion,
    controlPlaneEndpoint: '203.0.113.10:6443',
    podCIDR: '10.244.0.0/16',
    serviceCIDR: '10.96.0.0/12',
    bootstrapToken: testSecrets.bootstrapToken,
    certificateKey: testSecrets.certificateKey,
    caCertHash: caCertHashOf(clusterCa.certPem),
    clusterCa,
    tokenReviewWebhook: {
      url: 'https://kaas.example.com:6443/clusters/demo/apis/authentication.k8s.io/v1/tokenreviews',
      caPem: kaasCa.certPem,
      clientCertPem: client.certPem,
      clientKeyPem: client.keyPem,
    },
    openstack: {
      authUrl: 'https://keystone.example.com:5000/v3',
      region: 'RegionOne',
      applicationCredentialId: '6c1e4f0a9b2d4e8f8a7b6c5d4e3f2a1b',
      applicationCredentialSecret: testSecrets.applicationCredentialSecret,
      caPem: kaasCa.certPem,
      networkId: '2f7a1c3e-0000-4000-8000-000000000001',
      subnetId: '2f7a1c3e-0000-4000-8000-000000000002',
      floatingNetworkId: '2f7a1c3e-0000-4000-8000-000000000003',
    },
  };
  const worker: NodeBootstrapInput = {
    ...base,
    role: 'worker',
    nodeName: 'demo-workers-0',
    init: false,
    labels: { 'kaas.dev/pool': 'workers', 'node.kubernetes.io/role': 'worker' },
    taints: [{ key: 'kaas.dev/dedicated', value: 'batch', effect: 'NoSchedule' }],
  };
  delete worker.certificateKey;
  return {
    init: base,
    joinControlPlane: { ...base, nodeName: 'demo-control-plane-1', init: false },
    worker,
    keyPems: [clusterCa.keyPem, client.keyPem],
  };
}
