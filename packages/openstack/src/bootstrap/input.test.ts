// Input checks (every problem, each naming its field, never a secret's value), the per-cluster
// secret helpers (the CA hash against openssl's own pipeline) and the readiness probe.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BootstrapInputError, checkBootstrapInput, type NodeBootstrapInput } from './input.ts';
import { renderNodeUserData } from './userData.ts';
import { renderKubeadmConfig } from './kubeadm.ts';
import { apiReadinessProbe } from './readiness.ts';
import { caCertHashOf, newBootstrapToken, newCertificateKey } from './secrets.ts';
import { testCluster, type TestCluster } from './testing.ts';

const run = promisify(execFile);

/** The error a render throws, for a close look (it must throw). */
function renderError(input: NodeBootstrapInput, render = renderNodeUserData): BootstrapInputError {
  try {
    render(input);
  } catch (err) {
    assert.ok(err instanceof BootstrapInputError, `a BootstrapInputError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the render to throw');
}

describe('bootstrap input', () => {
  let c: TestCluster;
  before(async () => {
    c = await testCluster();
  });

  it('the test cluster is valid as it is', () => {
    for (const input of [c.init, c.joinControlPlane, c.worker])
      assert.deepEqual(checkBootstrapInput(input), []);
  });

  it('a bad secret is reported by field and rule, never by value (message, problems, stack)', () => {
    const leaks = {
      token: 'LEAK1-not-a-token-value',
      key: 'LEAK2-not-a-hex-key',
      appSecret: 'LEAK3\nmultiline-secret',
      caKey: '-----BEGIN PRIVATE KEY-----\nLEAK4!!\n-----END PRIVATE KEY-----\n',
      clientKey: 'LEAK5 not pem',
    };
    const input: NodeBootstrapInput = {
      ...c.init,
      bootstrapToken: leaks.token,
      certificateKey: leaks.key,
      clusterCa: { certPem: c.init.clusterCa!.certPem, keyPem: leaks.caKey },
      tokenReviewWebhook: { ...c.init.tokenReviewWebhook, clientKeyPem: leaks.clientKey },
      openstack: { ...c.init.openstack, applicationCredentialSecret: leaks.appSecret },
    };
    for (const render of [renderNodeUserData, renderKubeadmConfig]) {
      const err = renderError(input, render);
      const everything = [err.message, String(err.stack), JSON.stringify(err), ...err.problems].join('\n');
      for (const leak of Object.values(leaks))
        assert.ok(!everything.includes('LEAK'), `leaked ${leak.slice(0, 5)}`);
      assert.deepEqual(
        err.problems.map((p) => p.split(':')[0]),
        [
          'bootstrapToken',
          'certificateKey',
          'clusterCa.keyPem',
          'tokenReviewWebhook.clientKeyPem',
          'openstack.applicationCredentialSecret',
        ],
      );
      for (const p of err.problems) assert.match(p, /value not shown/);
    }
  });

  it('reports every problem at once, each naming the field and the fix', () => {
    const err = renderError({
      ...c.worker,
      nodeName: 'Bad_Name',
      kubernetesVersion: '1.33',
      controlPlaneEndpoint: 'https://203.0.113.10:6443',
      podCIDR: '10.244.0.1/16',
      caCertHash: undefined,
      labels: { 'node-role.kubernetes.io/worker': '' },
      taints: [{ key: 'a', effect: 'NoScheduling' as 'NoSchedule' }],
    });
    assert.match(err.message, /^node bootstrap for "\(invalid name\)": 7 problem\(s\): /);
    const joined = err.problems.join('\n');
    assert.match(joined, /^nodeName: must be a DNS label/m);
    assert.match(joined, /^kubernetesVersion: must be an exact MAJOR\.MINOR\.PATCH like 1\.31\.4/m);
    assert.match(joined, /^controlPlaneEndpoint: must be host:port/m);
    assert.match(joined, /^podCIDR: has host bits set; did you mean 10\.244\.0\.0\/16\?/m);
    assert.match(joined, /^caCertHash: required on joining nodes/m);
    assert.match(
      joined,
      /^labels\["node-role\.kubernetes\.io\/worker"\]: is in the kubernetes\.io\/k8s\.io namespace, which a kubelet may not set/m,
    );
    assert.match(joined, /^taints\[0\]\.effect: must be NoSchedule, PreferNoSchedule or NoExecute/m);
  });

  it('role rules: init is a control plane; control planes need the certificate key', () => {
    assert.match(
      checkBootstrapInput({ ...c.worker, init: true }).join('\n'),
      /^init: only a controlPlane node runs kubeadm init/m,
    );
    const { certificateKey: _unused, ...noKey } = c.joinControlPlane;
    assert.match(checkBootstrapInput(noKey).join('\n'), /^certificateKey: required on control plane nodes/m);
    assert.deepEqual(checkBootstrapInput(c.worker).length, 0, 'a worker needs no certificate key');
    assert.deepEqual(checkBootstrapInput({ ...c.init, apiServerCertSANs: ['10.0.0.5', 'bad name!'] }), [
      'apiServerCertSANs[1]: must be an IPv4 address or a DNS name',
    ]);
  });

  it('caCertHashOf equals the hash of openssl pubkey | sha256 (kubeadm documented pipeline)', async () => {
    const pem = c.init.clusterCa!.certPem;
    const { stdout } = await run('bash', [
      '-c',
      'printf "%s" "$1" | openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex',
      'hash',
      pem,
    ]);
    const hex = /([0-9a-f]{64})\s*$/.exec(stdout)?.[1];
    assert.ok(hex, stdout);
    assert.equal(caCertHashOf(pem), `sha256:${hex}`);
  });

  it('generated tokens and keys have kubeadm formats and differ each time', () => {
    const tokens = new Set(Array.from({ length: 50 }, newBootstrapToken));
    assert.equal(tokens.size, 50);
    for (const t of tokens) assert.match(t, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const key = newCertificateKey();
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.notEqual(key, newCertificateKey());
    assert.deepEqual(
      checkBootstrapInput({ ...c.init, bootstrapToken: newBootstrapToken(), certificateKey: key }),
      [],
    );
  });

  it('the readiness probe is /readyz through the load balancer, and refuses a non-endpoint', () => {
    const probe = apiReadinessProbe('203.0.113.10:6443');
    assert.equal(probe.url, 'https://203.0.113.10:6443/readyz');
    assert.equal(probe.expectStatus, 200);
    assert.equal(
      apiReadinessProbe('api.demo.kaas.example.com:443').url,
      'https://api.demo.kaas.example.com:443/readyz',
    );
    assert.throws(() => apiReadinessProbe('https://x/'), /must be host:port/);
  });
});
