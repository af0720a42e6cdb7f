// The admission chain as RestStorage runs it: which operations reach the plugins, with what, and
// what a refusal or a warning does to the request.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError, errors } from '../errors.ts';
import { ApiServer } from '../server/apiserver.ts';
import type { Scope } from '../server/rest.ts';
import { MemoryStore } from '../storage/memory.ts';
import type { AdmissionAttributes, AdmissionPlugin } from './types.ts';

const seen: AdmissionAttributes[] = [];
let refuse: ((a: AdmissionAttributes) => boolean) | undefined;
const recorder: AdmissionPlugin = {
  name: 'recorder',
  async admit(a) {
    seen.push(a);
    if (a.resource.kind === 'ConfigMap' && a.object?.data?.warn) a.warn(`careful with ${a.name}`);
    if (refuse?.(a)) throw errors.forbidden(`${a.operation} of ${a.name} refused`);
  },
};
let laterCalls = 0;
const later: AdmissionPlugin = {
  name: 'later',
  async admit() {
    laterCalls++;
  },
};

let server: ApiServer;
let cm: Scope;
let ns: Scope;
const user = { username: 'alice', groups: ['dev'] };

before(async () => {
  server = new ApiServer({ kv: new MemoryStore(), controllers: false, admission: [recorder, later] });
  const root = await server.clusters.get('root');
  cm = { cluster: 'root', info: root.resourceByPlural('', 'configmaps')!, namespace: 'default' };
  ns = { cluster: 'root', info: root.resourceByPlural('', 'namespaces')! };
});
after(async () => server?.close());
beforeEach(() => {
  seen.length = 0;
  refuse = undefined;
  laterCalls = 0;
});

const summary = (a: AdmissionAttributes) => ({
  operation: a.operation,
  namespace: a.namespace,
  name: a.name,
  subresource: a.subresource,
  user: a.user?.username,
  dryRun: a.dryRun,
  object: a.object?.data,
  oldObject: a.oldObject?.data,
});

async function refused(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StatusError);
    return e;
  }
  assert.fail('expected a refusal');
}

describe('RestStorage runs the admission chain', () => {
  test('create, update, patch, delete each reach every plugin with the user and both objects', async () => {
    const rest = server.rest;
    await rest.create(cm, { metadata: { name: 'a' }, data: { v: '1' } }, { user });
    await rest.update(cm, 'a', { metadata: { name: 'a' }, data: { v: '2' } }, { user });
    await rest.patch(cm, 'a', 'application/merge-patch+json', '{"data":{"v":"3"}}', { user });
    await rest.delete(cm, 'a', { user });
    assert.deepEqual(seen.map(summary), [
      { ...base, operation: 'CREATE', object: { v: '1' }, oldObject: undefined },
      { ...base, operation: 'UPDATE', object: { v: '2' }, oldObject: { v: '1' } },
      { ...base, operation: 'UPDATE', object: { v: '3' }, oldObject: { v: '2' } },
      { ...base, operation: 'DELETE', object: undefined, oldObject: { v: '3' } },
    ]);
    assert.equal(laterCalls, 4);
  });

  test('dry runs are admitted too, and say so', async () => {
    await server.rest.create(cm, { metadata: { name: 'dry' }, data: {} }, { user, dryRun: true });
    assert.equal(seen[0]?.dryRun, true);
    await refused(server.rest.get(cm, 'dry'));
  });

  test('a refusal stops the chain and stores nothing', async () => {
    refuse = (a) => a.operation === 'CREATE';
    const e = await refused(server.rest.create(cm, { metadata: { name: 'no' }, data: {} }, { user }));
    assert.equal(e.code, 403);
    assert.equal(e.message, 'CREATE of no refused');
    assert.equal(laterCalls, 0);
    assert.equal((await refused(server.rest.get(cm, 'no'))).code, 404);
  });

  test('a refused update or delete leaves the object as it was', async () => {
    await server.rest.create(cm, { metadata: { name: 'keep' }, data: { v: '1' } }, { user });
    refuse = (a) => a.operation !== 'CREATE';
    await refused(server.rest.update(cm, 'keep', { metadata: { name: 'keep' }, data: { v: '2' } }, { user }));
    await refused(server.rest.delete(cm, 'keep', { user }));
    assert.deepEqual((await server.rest.get(cm, 'keep')).data, { v: '1' });
  });

  test('status writes name their subresource; generateName is resolved before admission', async () => {
    const created = await server.rest.create(ns, { metadata: { generateName: 'gen-' } }, { user });
    assert.match(seen[0]!.name, /^gen-[a-z0-9]{5}$/);
    assert.equal(seen[0]!.name, created.metadata.name);
    assert.equal(seen[0]!.namespace, undefined);
    await server.rest.update(
      ns,
      created.metadata.name!,
      { ...created, status: { phase: 'Active' } },
      {
        user,
        subresource: 'status',
      },
    );
    assert.equal(seen.at(-1)?.subresource, 'status');
  });

  test('warnings reach WriteOptions.warnings once, even when an update is retried', async () => {
    const warnings: string[] = [];
    await server.rest.create(cm, { metadata: { name: 'w' }, data: { warn: 'yes' } }, { user, warnings });
    await server.rest.guaranteedUpdate(cm, 'w', (cur) => ({ ...cur, data: { warn: 'again' } }), {
      user,
      warnings,
    });
    assert.deepEqual(warnings, ['careful with w']);
  });

  test('getNamespace reads the cluster namespace, undefined when missing', async () => {
    await server.rest.create(ns, { metadata: { name: 'labelled', labels: { a: 'b' } } });
    await server.rest.create(cm, { metadata: { name: 'g' }, data: {} });
    const a = seen.at(-1)!;
    assert.equal(a.user, undefined); // an in-process call
    assert.equal((await a.getNamespace('labelled'))?.metadata.labels?.a, 'b');
    assert.equal(await a.getNamespace('nope'), undefined);
  });
});

const base = {
  namespace: 'default',
  name: 'a',
  subresource: undefined,
  user: 'alice',
  dryRun: false,
};
