export * from './storage/kv.ts';
export * from './storage/open.ts';
export * from './storage/memory.ts';
export * from './storage/sqlite.ts';
export * from './storage/etcd.ts';
export * from './storage/compactor.ts';
export * from './errors.ts';
export * from './admission/types.ts';
export * from './admission/podsecurity.ts';
export * from './volumes/pvbinder.ts';
export * from './registry/types.ts';
export * from './server/apiserver.ts';
export * from './server/certs.ts';
export * from './server/kubeconfig.ts';
export type { KObject, ObjectMeta, OwnerReference } from './server/objects.ts';
export { decodeStored, parseKey, registryRoot, resourcePrefix } from './server/objects.ts';
export { LeaseElector, type LeaseOptions } from './server/lease.ts';
export {
  decodeProtobuf,
  decodeWatchEventFrame,
  encodeProtobuf,
  encodeWatchEventFrame,
  isProtobufKind,
  ProtobufDecodeError,
} from './codec/protobuf/index.ts';
export { clusterAdminRoleIdBinding } from './authz/bootstrap.ts';
export { applyIsNoOp, serverSideApply, type ManagedFieldsEntry } from './patch/apply.ts';
