// Registration data of the management API's kinds, in the shape the API server's resource
// registry takes (one row per kind), and as a CustomResourceDefinition for running the
// controllers against a real Kubernetes management cluster.
import type { z } from 'zod';
import { ClusterSchema, group, version } from './cluster.ts';
import { BackupSchema, BackupScheduleSchema, RestoreSchema } from './backup.ts';
import { toStructuralSchema, type JSONSchemaProps } from './openapi.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0: always shown; 1: only with -o wide. */
  priority?: number;
  format?: string;
}

export interface KindInfo {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  verbs: readonly (
    'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch'
  )[];
  shortNames: readonly string[];
  categories: readonly string[];
  subresources: readonly 'status'[];
  protobuf: false;
  schema: z.ZodType;
  custom: {
    crdName: string;
    schema: JSONSchemaProps;
    storage: true;
    printerColumns: readonly PrinterColumn[];
  };
}

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

/**
 * kubectl's columns. NAME is not listed: kubectl always prints metadata.name first. AGE is, because
 * declaring any column drops the implicit one.
 */
export const clusterPrinterColumns: readonly PrinterColumn[] = [
  {
    name: 'Provider',
    type: 'string',
    jsonPath: '.spec.provider.type',
    description: 'local, openstack or eks',
  },
  {
    name: 'Version',
    type: 'string',
    jsonPath: '.spec.kubernetesVersion',
    description: 'Desired Kubernetes version',
  },
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'The Ready condition',
  },
  { name: 'Nodes', type: 'integer', jsonPath: '.status.nodes.ready', description: 'Nodes Ready' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  {
    name: 'Desired',
    type: 'integer',
    jsonPath: '.status.nodes.desired',
    description: 'Nodes wanted',
    priority: 1,
  },
  {
    name: 'Reason',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
    description: 'Why the cluster is (not) Ready',
    priority: 1,
  },
  { name: 'Endpoint', type: 'string', jsonPath: '.status.endpoint', priority: 1 },
];

function row(input: {
  kind: string;
  plural: string;
  shortNames: string[];
  schema: z.ZodType;
  printerColumns: readonly PrinterColumn[];
}): KindInfo {
  return {
    group,
    version,
    kind: input.kind,
    listKind: `${input.kind}List`,
    plural: input.plural,
    singular: input.kind.toLowerCase(),
    // Namespaced like Cluster API: see docs/adr/0002-node-pools.md.
    namespaced: true,
    verbs: allVerbs,
    shortNames: input.shortNames,
    categories: ['kaas'],
    subresources: ['status'],
    protobuf: false,
    schema: input.schema,
    custom: {
      crdName: `${input.plural}.${group}`,
      schema: toStructuralSchema(input.schema),
      storage: true,
      printerColumns: input.printerColumns,
    },
  };
}

const phaseColumn: PrinterColumn = { name: 'Phase', type: 'string', jsonPath: '.status.phase' };
const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** Every kind of kaas.dev/v1alpha1. Backup, Restore and BackupSchedule: docs/backups.md. */
export const kindsTable: readonly KindInfo[] = [
  row({
    kind: 'Cluster',
    plural: 'clusters',
    shortNames: ['kc'],
    schema: ClusterSchema,
    printerColumns: clusterPrinterColumns,
  }),
  row({
    kind: 'Backup',
    plural: 'backups',
    shortNames: ['kb'],
    schema: BackupSchema,
    printerColumns: [
      { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster' },
      phaseColumn,
      { name: 'Objects', type: 'integer', jsonPath: '.status.counts.objects' },
      { name: 'Bytes', type: 'integer', jsonPath: '.status.sizes.volumeBytes' },
      ageColumn,
      { name: 'Bucket', type: 'string', jsonPath: '.spec.storage.s3.bucket', priority: 1 },
    ],
  }),
  row({
    kind: 'Restore',
    plural: 'restores',
    shortNames: ['kr'],
    schema: RestoreSchema,
    printerColumns: [
      { name: 'Backup', type: 'string', jsonPath: '.spec.backupName' },
      phaseColumn,
      { name: 'Verify', type: 'boolean', jsonPath: '.spec.verify' },
      { name: 'Identical', type: 'boolean', jsonPath: '.status.verify.identical' },
      ageColumn,
    ],
  }),
  row({
    kind: 'BackupSchedule',
    plural: 'backupschedules',
    shortNames: ['kbs'],
    schema: BackupScheduleSchema,
    printerColumns: [
      { name: 'Every', type: 'string', jsonPath: '.spec.every' },
      { name: 'Keep', type: 'integer', jsonPath: '.spec.keep' },
      { name: 'Last', type: 'string', jsonPath: '.status.lastBackup' },
      ageColumn,
    ],
  }),
];

export function kindInfo(kind: string): KindInfo | undefined {
  return kindsTable.find((k) => k.kind === kind);
}

/** The apiextensions.k8s.io/v1 CustomResourceDefinition of a kind. */
export function crdFor(info: KindInfo): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: info.custom.crdName },
    spec: {
      group: info.group,
      names: {
        kind: info.kind,
        listKind: info.listKind,
        plural: info.plural,
        singular: info.singular,
        shortNames: [...info.shortNames],
        categories: [...info.categories],
      },
      scope: info.namespaced ? 'Namespaced' : 'Cluster',
      versions: [
        {
          name: info.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: info.custom.schema },
          subresources: { status: {} },
          additionalPrinterColumns: info.custom.printerColumns.map((c) => ({ ...c })),
        },
      ],
    },
  };
}
