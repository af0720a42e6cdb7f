// Validation of rendered objects against upstream's schemas, through kubernetes-models (its
// validate() checks a model against the Kubernetes OpenAPI definitions). Kinds without a model
// (Velero's custom resources) are checked against the CRD the catalog renders for them.
import type { KObject } from '@kaas/apiserver';
import { ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { IngressClass } from 'kubernetes-models/networking.k8s.io/v1/IngressClass';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

type ModelClass = new (data: never) => { validate(): void };

const models: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/IngressClass': IngressClass,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': ValidatingWebhookConfiguration,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': CustomResourceDefinition,
};

/** The kubernetes-models class of a kind, or undefined for custom resources. */
export function modelFor(obj: Pick<KObject, 'apiVersion' | 'kind'>): ModelClass | undefined {
  return models[`${obj.apiVersion}/${obj.kind}`];
}

/**
 * Throws when `obj` breaks its kind's schema: upstream's through kubernetes-models, or for a custom
 * resource the presence of its CRD among `crds` (served group, version and kind) and a spec object.
 */
export function validateObject(obj: KObject, crds: readonly KObject[] = []): void {
  const Model = modelFor(obj);
  if (Model) {
    new Model(obj as never).validate();
    return;
  }
  const [group, version] = String(obj.apiVersion).split('/');
  const crd = crds.find(
    (c) =>
      c.spec?.group === group &&
      c.spec?.names?.kind === obj.kind &&
      (c.spec?.versions as { name: string; served: boolean }[]).some((v) => v.name === version && v.served),
  );
  if (!crd)
    throw new Error(`${obj.apiVersion} ${obj.kind} ${obj.metadata.name}: no model and no CRD serves it`);
  if (!obj.spec || typeof obj.spec !== 'object')
    throw new Error(`${obj.kind} ${obj.metadata.name}: spec must be an object`);
}
