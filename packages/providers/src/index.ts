// @kaas/providers: the provider contract, the resource-graph engine and its ledger. The clouds
// live in subpaths (`@kaas/providers/local`; openstack and eks to come).
export * from './contract.ts';
export { checkGraph, topologicalOrder, criticalPath } from './graph.ts';
export { MemoryLedger } from './ledger.ts';
export { stableSuffix } from './util.ts';
export { serverNodes } from './serverNodes.ts';
export type { ServerPool, ServerNodesOptions } from './serverNodes.ts';
export type { Ledger, LedgerEntry } from './ledger.ts';
export {
  deploy,
  destroy,
  backoffDelayMs,
  defaultRetryPolicy,
  defaultConcurrency,
  defaultCallTimeoutMs,
} from './engine.ts';
export type {
  RetryPolicy,
  StepAction,
  ProgressEvent,
  EngineOptions,
  StepFailure,
  DeployResult,
  DestroyOptions,
  DestroyResult,
} from './engine.ts';
