// @kaas/openstack: our OpenStack REST client (docs/openstack.md). A Session authenticates with
// keystone and carries every request; the service clients are thin, typed and idempotent-friendly.
export * from './backoff.ts';
export * from './errors.ts';
export * from './session.ts';
