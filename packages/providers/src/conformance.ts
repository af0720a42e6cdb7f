// The provider contract as tests: every provider runs this suite (the local cloud in
// local/conformance.test.ts; OpenStack against a real cloud when one is reachable). Imports
// node:test: never import it from production code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from '@kaas/api';
import {
  ownershipTags,
  resourceTypes,
  tagKeys,
  type Inputs,
  type Provider,
  type ResourceGraph,
} from './contract.ts';
import { checkGraph, topologicalOrder } from './graph.ts';

export interface ConformanceSubject {
  provider: Provider;
  /** A small valid Cluster for this provider, with a unique metadata.uid. */
  cluster: Cluster;
  cleanup?: () => Promise<void>;
}

/** Registers the contract's tests for a provider; `make` gives each test a fresh subject. */
export function runProviderConformance(name: string, make: () => Promise<ConformanceSubject>): void {
  const withSubject = (
    title: string,
    fn: (s: ConformanceSubject, graph: ResourceGraph) => Promise<void>,
  ): void => {
    test(`${name} conformance: ${title}`, async () => {
      const s = await make();
      try {
        await fn(s, s.provider.plan(s.cluster));
      } finally {
        await s.cleanup?.();
      }
    });
  };

  withSubject('plan is pure, stable and a valid graph', async (s, graph) => {
    assert.deepEqual(checkGraph(graph), []);
    assert.equal(graph.provider, s.provider.type);
    assert.equal(graph.clusterUid, s.cluster.metadata.uid);
    assert.deepEqual(s.provider.plan(s.cluster), graph);
    for (const n of graph.nodes) assert.ok((resourceTypes as readonly string[]).includes(n.type), n.id);
  });

  withSubject('preconfigure answers with a report', async (s, graph) => {
    const report = await s.provider.preconfigure(graph);
    assert.equal(typeof report.ok, 'boolean');
    assert.equal(report.ok, report.problems.length === 0);
  });

  withSubject('ensure tags, is idempotent, and observe/findByTags/delete agree', async (s, graph) => {
    const uid = graph.clusterUid;
    const order = topologicalOrder(graph.nodes) ?? [];
    const inputs: Inputs = {};
    for (const node of order) {
      const tags = ownershipTags(uid, node.id);
      const made = await s.provider.ensure(node, inputs, tags);
      const seen = await s.provider.observe(node.type, made.cloudId);
      assert.ok(seen, `${node.id} observable after ensure`);
      assert.equal(seen.type, node.type);
      assert.equal(seen.tags[tagKeys.clusterUid], uid);
      assert.equal(seen.tags[tagKeys.resourceId], node.id);
      inputs[node.id] = seen;
      const again = await s.provider.ensure(node, inputs, tags);
      assert.equal(again.cloudId, made.cloudId, `${node.id}: a second ensure adopts`);
    }
    const all = await s.provider.findByTags(ownershipTags(uid));
    assert.equal(all.length, graph.nodes.length, 'one resource per node');
    const one = order[0];
    assert.ok(one);
    assert.deepEqual(
      (await s.provider.findByTags(ownershipTags(uid, one.id))).map((r) => r.cloudId),
      [inputs[one.id]?.cloudId],
    );
    for (const node of [...order].reverse()) {
      const id = inputs[node.id]?.cloudId ?? '';
      await s.provider.delete(node.type, id);
      assert.equal(await s.provider.observe(node.type, id), undefined, `${node.id} gone`);
      await s.provider.delete(node.type, id); // 404 = done
    }
    assert.deepEqual(await s.provider.findByTags(ownershipTags(uid)), []);
  });
}
