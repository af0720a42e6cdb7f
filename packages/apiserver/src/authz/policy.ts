// Per-cluster RBAC policy loaded from the store and kept until an RBAC object changes.
import type { Binding, Policy, Role } from './rbac.ts';
import { RbacAuthorizer } from './rbac.ts';

export const rbacGroup = 'rbac.authorization.k8s.io';
export const rbacPlurals = ['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings'] as const;

export type PolicyLoader = (plural: (typeof rbacPlurals)[number]) => Promise<object[]>;

export class PolicyCache {
  readonly #load: PolicyLoader;
  #current: Promise<RbacAuthorizer> | undefined;
  #generation = 0;

  constructor(load: PolicyLoader) {
    this.#load = load;
  }

  invalidate(): void {
    this.#generation++;
    this.#current = undefined;
  }

  authorizer(): Promise<RbacAuthorizer> {
    if (this.#current) return this.#current;
    const gen = this.#generation;
    const p = (async () => {
      const [roles, clusterRoles, roleBindings, clusterRoleBindings] = await Promise.all(
        rbacPlurals.map((r) => this.#load(r)),
      );
      const policy: Policy = {
        roles: roles as Role[],
        clusterRoles: clusterRoles as Role[],
        roleBindings: roleBindings as Binding[],
        clusterRoleBindings: clusterRoleBindings as Binding[],
      };
      return new RbacAuthorizer(policy);
    })();
    this.#current = p;
    // A change that raced the load must not be lost: drop the result if invalidated meanwhile.
    p.then(
      () => {
        if (gen !== this.#generation && this.#current === p) this.#current = undefined;
      },
      () => {
        if (this.#current === p) this.#current = undefined;
      },
    );
    return p;
  }
}
