// Checks and orders a resource graph. Pure.
import type { GraphNode, ResourceGraph, ResourceId } from './contract.ts';

/** Every problem with a graph: duplicate ids, dependencies that are not nodes, cycles. */
export function checkGraph(graph: ResourceGraph): string[] {
  const problems: string[] = [];
  const byId = new Map<ResourceId, GraphNode>();
  for (const node of graph.nodes) {
    if (byId.has(node.id)) problems.push(`${node.id}: duplicate id`);
    byId.set(node.id, node);
    if (!node.id.startsWith(`${node.type}/`)) problems.push(`${node.id}: id must start with ${node.type}/`);
  }
  for (const node of graph.nodes) {
    for (const dep of node.dependsOn) {
      if (!byId.has(dep)) problems.push(`${node.id}: depends on ${dep}, which is not in the graph`);
    }
  }
  if (problems.length === 0 && topologicalOrder(graph.nodes) === undefined) {
    problems.push('the graph has a cycle');
  }
  return problems;
}

/** Nodes with every dependency before its dependents; undefined when there is a cycle. */
export function topologicalOrder(nodes: GraphNode[]): GraphNode[] | undefined {
  const remaining = new Map(nodes.map((n) => [n.id, n.dependsOn.length]));
  const dependents = new Map<ResourceId, GraphNode[]>();
  for (const n of nodes) for (const d of n.dependsOn) dependents.set(d, [...(dependents.get(d) ?? []), n]);
  const ready = nodes.filter((n) => n.dependsOn.length === 0);
  const out: GraphNode[] = [];
  while (ready.length > 0) {
    const n = ready.shift() as GraphNode;
    out.push(n);
    for (const d of dependents.get(n.id) ?? []) {
      const left = (remaining.get(d.id) ?? 0) - 1;
      remaining.set(d.id, left);
      if (left === 0) ready.push(d);
    }
  }
  return out.length === nodes.length ? out : undefined;
}

/**
 * The longest chain of `weight` through the graph: the least wall time a run with unlimited
 * parallelism can take when each node takes its weight.
 */
export function criticalPath(nodes: GraphNode[], weight: (id: ResourceId) => number): number {
  const order = topologicalOrder(nodes) ?? [];
  const finish = new Map<ResourceId, number>();
  for (const n of order) {
    const start = Math.max(0, ...n.dependsOn.map((d) => finish.get(d) ?? 0));
    finish.set(n.id, start + weight(n.id));
  }
  return Math.max(0, ...finish.values());
}
