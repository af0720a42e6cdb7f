// The admission chain: plugins that see every write after defaulting and before validation and
// storage, and may refuse it (by throwing a StatusError) or attach warnings. Upstream's validating
// admission, without webhooks: plugins are in-process and configured by the operator.
import type { ResourceInfo } from '../registry/types.ts';
import type { KObject } from '../server/objects.ts';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

/** Who made the request, as authentication saw it. */
export interface AdmissionUser {
  username: string;
  uid?: string;
  groups: string[];
}

export interface AdmissionAttributes {
  operation: AdmissionOperation;
  cluster: string;
  /** The object's namespace; undefined for cluster-scoped kinds. */
  namespace?: string;
  /** The object's name (already generated from generateName on CREATE). */
  name: string;
  resource: ResourceInfo;
  /** 'status', 'scale', 'finalize' ... or undefined for the main resource. */
  subresource?: string;
  /** The object as it will be stored; undefined on DELETE. */
  object?: KObject;
  /** The stored object; undefined on CREATE. */
  oldObject?: KObject;
  /**
   * The requesting user. Undefined for in-process callers (the server's own controllers and
   * bootstrap), which act with the server's authority.
   */
  user?: AdmissionUser;
  dryRun: boolean;
  /** Reads a Namespace object of this cluster; undefined when it does not exist. */
  getNamespace(name: string): Promise<KObject | undefined>;
  /** Adds a Warning header to the response (kubectl prints it as `Warning: ...`). */
  warn(message: string): void;
}

export interface AdmissionPlugin {
  readonly name: string;
  /** Resolves to admit; throws a StatusError (usually 403 Forbidden) to refuse. */
  admit(attrs: AdmissionAttributes): Promise<void>;
}

/** Runs the plugins in order; the first refusal ends the request. */
export async function runAdmission(
  plugins: readonly AdmissionPlugin[],
  attrs: AdmissionAttributes,
): Promise<void> {
  for (const p of plugins) await p.admit(attrs);
}
