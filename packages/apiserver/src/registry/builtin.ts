// The built-in kinds of Kubernetes 1.32 that this server serves, as data. Names, short names,
// categories, verbs and field selectors follow upstream's discovery documents and registry
// strategies (pkg/registry/*/strategy.go GetAttrs), so kubectl's RESTMapper resolves the same
// arguments it would against a real cluster.
import type { NameFormat, ResourceInfo, Verb } from './types.ts';
import { allVerbs } from './types.ts';

const rw: readonly Verb[] = allVerbs;
/** Namespaces have no DELETE collection upstream. */
const noCollection: readonly Verb[] = allVerbs.filter((v) => v !== 'deletecollection');
const createOnly: readonly Verb[] = ['create'];

interface Row {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  verbs?: readonly Verb[];
  shortNames?: readonly string[];
  categories?: readonly string[];
  status?: boolean;
  scale?: ResourceInfo['scale'];
  fieldSelectors?: readonly string[];
  nameFormat?: NameFormat;
  virtual?: boolean;
  protobuf?: boolean;
}

function row(r: Row): ResourceInfo {
  const subresources: ('status' | 'scale')[] = [];
  if (r.status) subresources.push('status');
  if (r.scale) subresources.push('scale');
  const info: ResourceInfo = {
    group: r.group,
    version: r.version,
    kind: r.kind,
    listKind: `${r.kind}List`,
    plural: r.plural,
    singular: r.kind.toLowerCase(),
    namespaced: r.namespaced,
    verbs: r.verbs ?? rw,
    protobuf: r.protobuf ?? true,
  };
  if (r.shortNames) info.shortNames = r.shortNames;
  if (r.categories) info.categories = r.categories;
  if (subresources.length) info.subresources = subresources;
  if (r.scale) info.scale = r.scale;
  if (r.fieldSelectors) info.fieldSelectors = r.fieldSelectors;
  if (r.nameFormat) info.nameFormat = r.nameFormat;
  if (r.virtual) info.virtual = true;
  return info;
}

const all = ['all'] as const;
const apiExtensions = ['api-extensions'] as const;

/** Scale for the apps kinds: the selector is read from spec.selector (a LabelSelector object). */
const appsScale = {
  specReplicasPath: '.spec.replicas',
  statusReplicasPath: '.status.replicas',
  labelSelectorPath: '.spec.selector',
} as const;

const eventFields = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
] as const;

export const builtinResources: readonly ResourceInfo[] = [
  // core/v1
  row({
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    verbs: noCollection,
    shortNames: ['ns'],
    status: true,
    fieldSelectors: ['status.phase'],
    nameFormat: 'label',
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'Node',
    plural: 'nodes',
    namespaced: false,
    shortNames: ['no'],
    status: true,
    fieldSelectors: ['spec.unschedulable'],
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespaced: true,
    shortNames: ['po'],
    categories: all,
    status: true,
    fieldSelectors: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.podIPs',
      'status.nominatedNodeName',
    ],
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    shortNames: ['svc'],
    categories: all,
    status: true,
    nameFormat: 'dns1035',
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'Endpoints',
    plural: 'endpoints',
    namespaced: true,
    shortNames: ['ep'],
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    namespaced: true,
    shortNames: ['cm'],
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    namespaced: true,
    fieldSelectors: ['type'],
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    namespaced: true,
    shortNames: ['sa'],
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    namespaced: true,
    shortNames: ['ev'],
    fieldSelectors: eventFields,
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'PersistentVolume',
    plural: 'persistentvolumes',
    namespaced: false,
    shortNames: ['pv'],
    status: true,
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    namespaced: true,
    shortNames: ['pvc'],
    status: true,
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'ReplicationController',
    plural: 'replicationcontrollers',
    namespaced: true,
    shortNames: ['rc'],
    categories: all,
    status: true,
    // spec.selector is a plain label map here, not a LabelSelector: Scale leaves the selector out.
    scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
    fieldSelectors: ['status.replicas'],
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'LimitRange',
    plural: 'limitranges',
    namespaced: true,
    shortNames: ['limits'],
  }),
  row({
    group: '',
    version: 'v1',
    kind: 'ResourceQuota',
    plural: 'resourcequotas',
    namespaced: true,
    shortNames: ['quota'],
    status: true,
  }),
  row({ group: '', version: 'v1', kind: 'PodTemplate', plural: 'podtemplates', namespaced: true }),

  // apps/v1
  row({
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    namespaced: true,
    shortNames: ['deploy'],
    categories: all,
    status: true,
    scale: appsScale,
  }),
  row({
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    plural: 'replicasets',
    namespaced: true,
    shortNames: ['rs'],
    categories: all,
    status: true,
    scale: appsScale,
    fieldSelectors: ['status.replicas'],
  }),
  row({
    group: 'apps',
    version: 'v1',
    kind: 'StatefulSet',
    plural: 'statefulsets',
    namespaced: true,
    shortNames: ['sts'],
    categories: all,
    status: true,
    scale: appsScale,
  }),
  row({
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    plural: 'daemonsets',
    namespaced: true,
    shortNames: ['ds'],
    categories: all,
    status: true,
  }),
  row({
    group: 'apps',
    version: 'v1',
    kind: 'ControllerRevision',
    plural: 'controllerrevisions',
    namespaced: true,
  }),

  // batch/v1
  row({
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    plural: 'jobs',
    namespaced: true,
    categories: all,
    status: true,
    fieldSelectors: ['status.successful'],
  }),
  row({
    group: 'batch',
    version: 'v1',
    kind: 'CronJob',
    plural: 'cronjobs',
    namespaced: true,
    shortNames: ['cj'],
    categories: all,
    status: true,
  }),

  // autoscaling/v2
  row({
    group: 'autoscaling',
    version: 'v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    namespaced: true,
    shortNames: ['hpa'],
    categories: all,
    status: true,
  }),

  // events.k8s.io/v1: same objects as core events upstream (one storage); here its own kind.
  row({
    group: 'events.k8s.io',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    namespaced: true,
    shortNames: ['ev'],
  }),

  // rbac.authorization.k8s.io/v1
  ...(['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'] as const).map((kind) =>
    row({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      kind,
      plural: `${kind.toLowerCase()}s`,
      namespaced: !kind.startsWith('Cluster'),
      nameFormat: 'path-segment',
    }),
  ),

  // coordination.k8s.io/v1
  row({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true }),

  // apiextensions.k8s.io/v1. Upstream also speaks protobuf for CRD objects; we do not (the codec
  // covers k8s.io/api kinds), so clients that negotiate fall back to JSON.
  row({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: apiExtensions,
    status: true,
    protobuf: false,
  }),

  // Create-only reviews, never stored.
  ...(
    [
      ['authentication.k8s.io', 'TokenReview', 'tokenreviews', false],
      ['authentication.k8s.io', 'SelfSubjectReview', 'selfsubjectreviews', false],
      ['authorization.k8s.io', 'SubjectAccessReview', 'subjectaccessreviews', false],
      ['authorization.k8s.io', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false],
      ['authorization.k8s.io', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', false],
      ['authorization.k8s.io', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true],
    ] as const
  ).map(([group, kind, plural, namespaced]) =>
    row({
      group,
      version: 'v1',
      kind,
      plural,
      namespaced,
      verbs: createOnly,
      virtual: true,
      nameFormat: 'none',
    }),
  ),

  // networking.k8s.io/v1
  row({
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'Ingress',
    plural: 'ingresses',
    namespaced: true,
    shortNames: ['ing'],
    status: true,
  }),
  row({
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'IngressClass',
    plural: 'ingressclasses',
    namespaced: false,
  }),
  row({
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    namespaced: true,
    shortNames: ['netpol'],
  }),

  // policy/v1
  row({
    group: 'policy',
    version: 'v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    namespaced: true,
    shortNames: ['pdb'],
    status: true,
  }),

  // scheduling.k8s.io/v1
  row({
    group: 'scheduling.k8s.io',
    version: 'v1',
    kind: 'PriorityClass',
    plural: 'priorityclasses',
    namespaced: false,
    shortNames: ['pc'],
  }),

  // discovery.k8s.io/v1
  row({
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    plural: 'endpointslices',
    namespaced: true,
  }),

  // storage.k8s.io/v1
  row({
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'StorageClass',
    plural: 'storageclasses',
    namespaced: false,
    shortNames: ['sc'],
  }),
  row({ group: 'storage.k8s.io', version: 'v1', kind: 'CSIDriver', plural: 'csidrivers', namespaced: false }),
  row({
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'VolumeAttachment',
    plural: 'volumeattachments',
    namespaced: false,
    status: true,
  }),

  // admissionregistration.k8s.io/v1
  row({
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'MutatingWebhookConfiguration',
    plural: 'mutatingwebhookconfigurations',
    namespaced: false,
    categories: apiExtensions,
  }),
  row({
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'ValidatingWebhookConfiguration',
    plural: 'validatingwebhookconfigurations',
    namespaced: false,
    categories: apiExtensions,
  }),

  // certificates.k8s.io/v1
  row({
    group: 'certificates.k8s.io',
    version: 'v1',
    kind: 'CertificateSigningRequest',
    plural: 'certificatesigningrequests',
    namespaced: false,
    shortNames: ['csr'],
    status: true,
    fieldSelectors: ['spec.signerName'],
    nameFormat: 'path-segment',
  }),
];
