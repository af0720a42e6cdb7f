// @kaas/openstack: our OpenStack REST client (docs/openstack.md). A Session authenticates with
// keystone and carries every request; the service clients are thin, typed and idempotent-friendly.
export * from './backoff.ts';
export * from './errors.ts';
export * from './session.ts';
export * from './resource.ts';
export * from './neutron.ts';
export * from './nova.ts';
export * from './glance.ts';
export * from './octavia.ts';
export * from './designate.ts';
export * from './cinder.ts';
export * from './applicationCredentials.ts';
export { OpenStack } from './openstack.ts';
