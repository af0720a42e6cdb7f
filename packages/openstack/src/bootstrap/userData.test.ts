// The rendered user data against cloud-init's own schema (Debian's cloud-init, `cloud-init schema`,
// run as a child process: its exit code and its messages), where the secrets land, and the
// bootstrap script through bash's parser.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { renderNodeUserData, maxUserDataBase64Bytes, type WriteFile } from './userData.ts';
import { testCluster, testSecrets, type TestCluster } from './testing.ts';
import { paths } from './paths.ts';

const run = promisify(execFile);

interface SchemaResult {
  code: number;
  output: string;
}

/** `cloud-init schema --config-file FILE`: exit code and everything it printed. */
async function cloudInitSchema(dir: string, name: string, text: string): Promise<SchemaResult> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, text, { mode: 0o600 });
  try {
    const { stdout, stderr } = await run('cloud-init', ['schema', '--config-file', file], {
      timeout: 60_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err; // not installed, or killed: a real failure
    return { code: e.code, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const filesOf = (userData: string): WriteFile[] =>
  (parse(userData) as { write_files: WriteFile[] }).write_files;

describe('node user data', () => {
  let c: TestCluster;
  let dir: string;
  let variants: Record<string, string>;
  before(async () => {
    c = await testCluster();
    dir = await mkdtemp(join(tmpdir(), 'kaas-userdata-'));
    // the init node without the optional inputs too: a different set of files
    const minimal = structuredClone(c.init);
    delete minimal.clusterCa;
    delete minimal.openstack.caPem;
    delete minimal.tokenReviewWebhook.clientCertPem;
    delete minimal.tokenReviewWebhook.clientKeyPem;
    variants = {
      'init-control-plane': renderNodeUserData(c.init),
      'init-control-plane-minimal': renderNodeUserData(minimal),
      'join-control-plane': renderNodeUserData(c.joinControlPlane),
      worker: renderNodeUserData(c.worker),
    };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('every variant is valid cloud-config for cloud-init schema', async () => {
    const results = await Promise.all(
      Object.entries(variants).map(
        async ([name, text]) => [name, await cloudInitSchema(dir, name, text)] as const,
      ),
    );
    for (const [name, r] of results) {
      assert.equal(r.code, 0, `${name}: cloud-init schema said: ${r.output}`);
      assert.match(r.output, /Valid cloud-config/, name);
      assert.doesNotMatch(r.output, /deprecat|error/i, name);
    }
  });

  it('cloud-init schema does refuse a broken variant (the check can fail)', async () => {
    const broken = variants.worker!.replace(
      '  - path: /etc/kubernetes/kubeadm.yaml',
      '  - paht: /etc/kubernetes/kubeadm.yaml',
    );
    assert.notEqual(broken, variants.worker);
    const r = await cloudInitSchema(dir, 'broken', broken);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /write_files\.4: Additional properties are not allowed \('paht' was unexpected\)/);
  });

  it('starts with #cloud-config, names the host and runs the bootstrap script once', () => {
    for (const text of Object.values(variants)) {
      assert.ok(text.startsWith('#cloud-config\n'));
      const doc = parse(text) as Record<string, unknown>;
      assert.deepEqual(doc.runcmd, [[paths.bootstrapScript]]);
    }
    assert.equal((parse(variants.worker!) as { hostname: string }).hostname, 'demo-workers-0');
  });

  it('secrets are only in root-owned 0600 files, never in the script, a 0644 file or the rest of the config', () => {
    const secrets = [...Object.values(testSecrets), ...c.keyPems.map((k) => k.trim())];
    for (const [name, text] of Object.entries(variants)) {
      const doc = parse(text) as Record<string, unknown> & { write_files: WriteFile[] };
      for (const f of doc.write_files) {
        for (const s of secrets) {
          const base64 = Buffer.from(s).toString('base64');
          if (f.content.includes(s) || f.content.includes(base64))
            assert.equal(f.permissions, '0600', `${name}: a secret is in ${f.path} (${f.permissions})`);
        }
        assert.equal(f.owner, 'root:root');
      }
      const rest = JSON.stringify({ ...doc, write_files: undefined });
      for (const s of secrets) assert.ok(!rest.includes(s), `${name}: a secret outside write_files`);
    }
    // and they are there where they are needed
    const initFiles = filesOf(variants['init-control-plane']!);
    const fileWith = (s: string) => initFiles.filter((f) => f.content.includes(s)).map((f) => f.path);
    assert.deepEqual(fileWith(testSecrets.bootstrapToken), [paths.kubeadmConfig]);
    assert.deepEqual(fileWith(testSecrets.certificateKey), [paths.kubeadmConfig]);
    assert.deepEqual(fileWith(c.init.clusterCa!.keyPem), [paths.caKey]);
  });

  it('the cloud.conf quotes the application credential so any single-line secret survives', () => {
    const conf = filesOf(variants['init-control-plane']!).find((f) => f.path === paths.cloudConf)!;
    assert.equal(conf.permissions, '0600');
    assert.match(
      conf.content,
      /^application-credential-secret="S3CRET-app-cred-\\"quote\\"-\\\\slash-\$dollar-`tick`"$/m,
    );
    assert.match(
      conf.content,
      /^\[LoadBalancer\]\nfloating-network-id="2f7a1c3e-0000-4000-8000-000000000003"$/m,
    );
    assert.match(conf.content, /^ca-file="\/etc\/config\/ca.pem"$/m);
  });

  it('which node gets which files', () => {
    const has = (variant: string, path: string) => filesOf(variants[variant]!).some((f) => f.path === path);
    assert.ok(has('init-control-plane', paths.cloudConf));
    assert.ok(
      !has('join-control-plane', paths.cloudConf),
      'only the init node makes the cloud-config Secret',
    );
    assert.ok(!has('worker', paths.cloudConf));
    assert.ok(
      has('join-control-plane', paths.tokenReviewKubeconfig),
      'every apiserver reads the webhook kubeconfig',
    );
    assert.ok(!has('worker', paths.tokenReviewKubeconfig));
    assert.ok(has('init-control-plane', paths.caKey));
    assert.ok(!has('init-control-plane-minimal', paths.caKey));
    assert.ok(
      !has('join-control-plane', paths.caKey),
      'joining control planes get the CA from kubeadm-certs',
    );
  });

  it('the webhook kubeconfig points at the TokenReview URL with the CA and the client certificate', () => {
    const kc = parse(
      filesOf(variants['join-control-plane']!).find((f) => f.path === paths.tokenReviewKubeconfig)!.content,
    );
    assert.equal(kc.clusters[0].cluster.server, c.init.tokenReviewWebhook.url);
    assert.equal(
      Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString(),
      c.init.tokenReviewWebhook.caPem,
    );
    assert.equal(
      Buffer.from(kc.users[0].user['client-key-data'], 'base64').toString(),
      c.init.tokenReviewWebhook.clientKeyPem,
    );
    assert.equal(kc['current-context'], 'webhook');
  });

  it('kubectl loads the webhook kubeconfig (client-go parses it as kube-apiserver will)', async () => {
    const content = filesOf(variants['init-control-plane']!).find(
      (f) => f.path === paths.tokenReviewKubeconfig,
    )!.content;
    const file = join(dir, 'webhook.kubeconfig');
    await writeFile(file, content, { mode: 0o600 });
    const { stdout } = await run('kubectl', ['--kubeconfig', file, 'config', 'view', '--raw', '-o', 'json'], {
      timeout: 60_000,
    });
    const view = JSON.parse(stdout);
    assert.equal(view['current-context'], 'webhook');
    assert.equal(view.clusters[0].cluster.server, c.init.tokenReviewWebhook.url);
    assert.ok(view.users[0].user['client-certificate-data']);
    // and a broken one is refused by the same loader
    await writeFile(file, content.replace('current-context: webhook', 'current-context: [webhook'), {
      mode: 0o600,
    });
    await assert.rejects(
      run('kubectl', ['--kubeconfig', file, 'config', 'view', '--raw', '-o', 'json'], { timeout: 60_000 }),
    );
  });

  it('the bootstrap script parses in bash, pins the versions and prints no secret', async () => {
    for (const [name, text] of Object.entries(variants)) {
      const script = filesOf(text).find((f) => f.path === paths.bootstrapScript)!;
      assert.equal(script.permissions, '0700');
      const file = join(dir, `${name}.sh`);
      await writeFile(file, script.content);
      await run('bash', ['-n', file]); // rejects on a syntax error
      assert.doesNotMatch(script.content, /set -x|xtrace/);
      // kubeadm's output (join commands with the token) goes to a file created 0600 first
      assert.match(
        script.content,
        /install -m 0600 \/dev\/null '\/var\/log\/kaas\/kubeadm\.log'\n[^]*kubeadm (init|join) .*>>'\/var\/log\/kaas\/kubeadm\.log' 2>&1/,
      );
      assert.match(script.content, /kubeadm=1\.31\.4-1\.1 kubectl=1\.31\.4-1\.1/);
      assert.match(script.content, /pkgs\.k8s\.io\/core:\/stable:\/v1\.31\/deb\//);
      assert.match(script.content, /containerd-1\.7\.27-linux-\$ARCH\.tar\.gz/);
      assert.match(
        script.content,
        name.startsWith('init') ? /kubeadm init --config .* --upload-certs/ : /kubeadm join --config/,
      );
    }
  });

  it('shellcheck finds nothing in any variant (at its strictest severity), and does flag a planted bug', async () => {
    const shellcheck = async (file: string): Promise<SchemaResult> => {
      try {
        const { stdout, stderr } = await run('shellcheck', ['-S', 'style', '-f', 'gcc', file], {
          timeout: 60_000,
        });
        return { code: 0, output: stdout + stderr };
      } catch (err) {
        const e = err as { code?: unknown; stdout?: string; stderr?: string };
        if (typeof e.code !== 'number') throw err;
        return { code: e.code, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
      }
    };
    const scripts = Object.entries(variants).map(([name, text]) => {
      const content = filesOf(text).find((f) => f.path === paths.bootstrapScript)!.content;
      return { name, content };
    });
    for (const { name, content } of scripts) {
      const file = join(dir, `${name}.check.sh`);
      await writeFile(file, content);
      const r = await shellcheck(file);
      assert.equal(r.code, 0, `${name}: ${r.output}`);
    }
    const planted = join(dir, 'planted.sh');
    await writeFile(planted, `${scripts[0]!.content}rm -rf $tmp/leftover\n`);
    const r = await shellcheck(planted);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /SC2086/);
  });

  it('the kubeadm log tail shown on failure has tokens and keys masked (the sed really masks)', async () => {
    const script = filesOf(variants.worker!).find((f) => f.path === paths.bootstrapScript)!.content;
    const sed = /\| (sed -E '[^']+')/.exec(script)?.[1];
    assert.ok(sed, 'the script masks the log tail');
    const sample = `error: kubeadm join --token ${testSecrets.bootstrapToken} --certificate-key ${testSecrets.certificateKey}\n`;
    const { stdout } = await run('bash', ['-c', `printf '%s' "$1" | ${sed}`, 'mask', sample]);
    assert.equal(stdout, 'error: kubeadm join --token <token> --certificate-key <hex>\n');
  });

  it('fits in what Nova accepts, with room to spare', () => {
    for (const [name, text] of Object.entries(variants)) {
      const b64 = Buffer.from(text).toString('base64').length;
      assert.ok(b64 < maxUserDataBase64Bytes * 0.8, `${name}: ${b64} bytes base64`);
    }
  });
});
