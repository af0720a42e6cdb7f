import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.ts';
import { ResourceRegistry } from '../registry/registry.ts';
import { fieldSelectorMatches, fieldValue, parseFieldSelector } from './fields.ts';

const reg = new ResourceRegistry();
const pods = reg.lookup('', 'v1', 'pods')!;
const configmaps = reg.lookup('', 'v1', 'configmaps')!;

test('parseFieldSelector: terms, operators and escapes', () => {
  const cases: [string, [string, string, string][]][] = [
    ['', []],
    ['metadata.name=web', [['metadata.name', '=', 'web']]],
    ['metadata.name==web', [['metadata.name', '==', 'web']]],
    ['metadata.name!=web', [['metadata.name', '!=', 'web']]],
    [
      'status.phase=Running,metadata.namespace!=kube-system',
      [
        ['metadata.namespace', '!=', 'kube-system'],
        ['status.phase', '=', 'Running'],
      ],
    ],
    ['metadata.name=a\\,b\\=c\\\\d', [['metadata.name', '=', 'a,b=c\\d']]],
    ['metadata.name=', [['metadata.name', '=', '']]],
  ];
  for (const [sel, want] of cases) {
    assert.deepEqual(
      parseFieldSelector(sel, pods).map((r) => [r.field, r.op, r.value]),
      want,
      sel,
    );
  }
});

test('parseFieldSelector: malformed selectors and unsupported fields are 400s', () => {
  const cases: [string, typeof pods, string][] = [
    ['metadata.name', pods, "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ['metadata.name=a\\b', pods, 'invalid field selector: invalid escape sequence: \\b'],
    ['spec.foo=x', pods, 'field label not supported: spec.foo'],
    [
      'data.x=y',
      configmaps,
      '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"',
    ],
  ];
  for (const [sel, info, message] of cases) {
    assert.throws(
      () => parseFieldSelector(sel, info),
      (e: unknown) => e instanceof StatusError && e.code === 400 && e.message === message,
      sel,
    );
  }
  assert.doesNotThrow(() => parseFieldSelector('spec.foo=x'), 'without a kind, any field parses');
});

test('fieldValue: upstream selectable-field values per kind', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns' },
    spec: { nodeName: 'n1', restartPolicy: 'Always' },
    status: { phase: 'Running', podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::5' }] },
  };
  const cases: [unknown, string, string, Parameters<typeof fieldValue>[2]?][] = [
    [pod, 'metadata.name', 'p'],
    [pod, 'metadata.namespace', 'ns'],
    [pod, 'spec.nodeName', 'n1'],
    [pod, 'spec.hostNetwork', 'false'],
    [pod, 'status.podIP', '10.0.0.5'],
    [pod, 'status.nominatedNodeName', ''],
    [{ apiVersion: 'v1', kind: 'Node', spec: {} }, 'spec.unschedulable', 'false'],
    [{ apiVersion: 'v1', kind: 'Node', spec: { unschedulable: true } }, 'spec.unschedulable', 'true'],
    [{ apiVersion: 'batch/v1', kind: 'Job', status: { succeeded: 2 } }, 'status.successful', '2'],
    [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', status: {} }, 'status.replicas', '0'],
    [{ apiVersion: 'v1', kind: 'Event', source: {}, reportingComponent: 'kubelet' }, 'source', 'kubelet'],
    [{ apiVersion: 'v1', kind: 'Event', source: { component: 'sched' } }, 'source', 'sched'],
    [{ apiVersion: 'v1', kind: 'Event', involvedObject: { kind: 'Pod' } }, 'involvedObject.kind', 'Pod'],
    [{ apiVersion: 'v1', kind: 'Secret', type: 'Opaque' }, 'type', 'Opaque'],
    [{ spec: { replicas: 3, enabled: true } }, 'spec.replicas', '3', { group: 'x.io', kind: 'Thing' }],
    [{ spec: { replicas: 3, enabled: true } }, 'spec.enabled', 'true', { group: 'x.io', kind: 'Thing' }],
  ];
  for (const [obj, path, want, info] of cases) assert.equal(fieldValue(obj, path, info), want, path);
});

test('fieldSelectorMatches ANDs requirements, != negates', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, status: { phase: 'Running' } };
  const cases: [string, boolean][] = [
    ['metadata.name=p', true],
    ['metadata.name=q', false],
    ['metadata.name!=q', true],
    ['metadata.name=p,status.phase=Running', true],
    ['metadata.name=p,status.phase!=Running', false],
    ['spec.nodeName=', true],
  ];
  for (const [sel, want] of cases)
    assert.equal(fieldSelectorMatches(parseFieldSelector(sel, pods), pod, pods), want, sel);
});
