import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '@kaas/apiserver';
import { matchesNodeSelection, schedule, tolerates, unschedulableMessage, usageOf } from './scheduling.ts';

const ready = { conditions: [{ type: 'Ready', status: 'True' }] };
const node = (
  name: string,
  o: { cpu?: string; taints?: any[]; labels?: Record<string, string> } = {},
): KObject => ({
  metadata: { name, labels: o.labels ?? {} },
  spec: { taints: o.taints },
  status: { ...ready, allocatable: { cpu: o.cpu ?? '2', memory: '4Gi', pods: '110' } },
});
const cp = node('cp', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });
const pod = (spec: Record<string, unknown> = {}): KObject => ({
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'a', image: 'x' }], ...spec },
});
const empty = () => usageOf([]);

test('upstream message: taints and insufficient cpu, counts sorted', () => {
  const p = pod({ containers: [{ name: 'a', resources: { requests: { cpu: '8' } } }] });
  const r = schedule(p, [cp, node('w1'), node('w2'), node('w3')], empty);
  assert.equal(
    'message' in r && r.message,
    '0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu.',
  );
});

test('least allocated spreads; ties by pod count then name', () => {
  const used = new Map([['w1', usageOf([pod()])]]);
  const r = schedule(pod(), [node('w1'), node('w2')], (n) => used.get(n) ?? empty());
  assert.deepEqual(r, { node: 'w2' });
  assert.deepEqual(schedule(pod(), [cp, node('w1')], empty), { node: 'w1' });
});

test('tolerations, nodeSelector, required affinity, unschedulable and not-ready nodes', () => {
  const t = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };
  assert.ok(tolerates([{ key: t.key, operator: 'Exists', effect: 'NoSchedule' }], t));
  assert.ok(tolerates([{ operator: 'Exists' }], t));
  assert.ok(!tolerates([{ key: t.key, operator: 'Exists', effect: 'NoExecute' }], t));
  assert.ok(
    tolerates([{ key: 'k', operator: 'Equal', value: 'v' }], { key: 'k', value: 'v', effect: 'NoSchedule' }),
  );
  assert.deepEqual(schedule(pod({ tolerations: [{ operator: 'Exists' }] }), [cp], empty), { node: 'cp' });
  const ssd = node('ssd', { labels: { disk: 'ssd', zone: 'a' } });
  const hdd = node('hdd', { labels: { disk: 'hdd' } });
  assert.deepEqual(schedule(pod({ nodeSelector: { disk: 'ssd' } }), [hdd, ssd], empty), { node: 'ssd' });
  const aff = (op: string, values?: string[]) =>
    pod({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: op, values }] }],
          },
        },
      },
    });
  assert.ok(matchesNodeSelection(aff('In', ['a']), ssd));
  assert.ok(!matchesNodeSelection(aff('In', ['a']), hdd));
  assert.ok(matchesNodeSelection(aff('NotIn', ['a']), hdd));
  assert.ok(matchesNodeSelection(aff('Exists'), ssd));
  assert.ok(matchesNodeSelection(aff('DoesNotExist'), hdd));
  const r = schedule(pod({ nodeSelector: { disk: 'nvme' } }), [hdd, ssd], empty);
  assert.equal(
    'message' in r && r.message,
    "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
  );
  const cordoned = { ...node('c'), spec: { unschedulable: true } };
  const notReady = { ...node('nr'), status: { allocatable: { cpu: '2' } } };
  const r2 = schedule(pod(), [cordoned, notReady], empty);
  assert.equal(
    'message' in r2 && r2.message,
    '0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable.',
  );
  assert.equal(unschedulableMessage(0, new Map()), 'no nodes available to schedule pods');
});

test('resources: requests of pods on the node against allocatable cpu, memory and pods', () => {
  const big = pod({ containers: [{ name: 'a', resources: { requests: { cpu: '1500m', memory: '3Gi' } } }] });
  const u = usageOf([big]);
  const r = schedule(big, [node('w1')], () => u);
  assert.equal(
    'message' in r && r.message,
    '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.',
  );
  const full = { ...node('f'), status: { ...ready, allocatable: { cpu: '2', memory: '1Gi', pods: '1' } } };
  const r2 = schedule(pod(), [full], () => usageOf([pod()]));
  assert.equal('message' in r2 && r2.message, '0/1 nodes are available: 1 Too many pods.');
});
