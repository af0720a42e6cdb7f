// The shape of any Kubernetes object as the console reads it (no DOM here: tests import it in Node).

export interface KMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generation?: number;
  ownerReferences?: { kind: string; name: string }[];
}

export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata: KMeta;
  [field: string]: unknown;
}
