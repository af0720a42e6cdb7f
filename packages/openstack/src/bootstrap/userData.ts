import type { NodeBootstrapInput } from './input.ts';
/** The node's `#cloud-config` user data. Not implemented yet (being filled in). */
export function renderNodeUserData(input: NodeBootstrapInput): string {
  throw new Error(`renderNodeUserData(${input.nodeName}): not implemented yet`);
}
