// @kaas/providers: the provider contract, the resource-graph engine and its ledger. The clouds
// live in subpaths (`@kaas/providers/local`; openstack and eks to come).
export * from './contract.ts';
