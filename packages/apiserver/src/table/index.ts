// meta.k8s.io/v1 Table responses (Accept: application/json;as=Table;v=v1;g=meta.k8s.io): what
// `kubectl get` prints. Built-in kinds use upstream's printers, custom resources their CRD's
// additionalPrinterColumns, everything else upstream's default NAME / CREATED AT table.
import type { PrinterColumn, ResourceInfo } from '../registry/types.ts';
import { rfc3339, since } from './duration.ts';
import { evaluateJSONPath, jsonPathText, parseJSONPath } from './jsonpath.ts';
import type { ColumnDefinition, RowCondition } from './printers.ts';
import { printers } from './printers.ts';

export { humanDuration } from './duration.ts';
export { formatLabels, formatLabelSelector } from './printers.ts';
export type { ColumnDefinition } from './printers.ts';

export type IncludeObject = 'None' | 'Object' | 'Metadata';

export interface TableOptions {
  /** What each row carries in `object`: nothing, the object, or its PartialObjectMetadata (kubectl's default). */
  includeObject: IncludeObject;
  /** The list's metadata (resourceVersion, continue, remainingItemCount); {} for a single object. */
  listMeta: Record<string, unknown>;
  /** Clock for AGE cells; Date.now() when absent. */
  nowMs?: number;
}

export interface TableRow {
  cells: unknown[];
  conditions?: RowCondition[];
  object?: object;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: Record<string, unknown>;
  columnDefinitions: ColumnDefinition[];
  rows: TableRow[];
}

const nameDescription =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const creationDescription =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

const nameColumn: ColumnDefinition = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: nameDescription,
  priority: 0,
};

/** rest.NewDefaultTableConvertor: kinds with no printer (Role, ClusterRole, CRDs, LimitRange...). */
const defaultColumns: ColumnDefinition[] = [
  nameColumn,
  { name: 'Created At', type: 'date', format: '', description: creationDescription, priority: 0 },
];

/** The column a CRD gets when it declares none. */
const defaultCustomColumns: readonly PrinterColumn[] = [
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

interface Convertor {
  columns: ColumnDefinition[];
  cells(obj: any, nowMs: number): { cells: unknown[]; conditions?: RowCondition[] };
}

/** apiextensions-apiserver's tableconvertor.cellForJSONValue. */
function cellForJSONValue(type: string, value: unknown, nowMs: number): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'string':
      return typeof value === 'string' ? value : null;
    case 'date':
      if (typeof value !== 'string') return null;
      return Number.isNaN(Date.parse(value)) ? '<invalid>' : since(value, nowMs);
    default:
      return null;
  }
}

function customConvertor(columns: readonly PrinterColumn[]): Convertor {
  const defs: ColumnDefinition[] = [nameColumn];
  const paths: (ReturnType<typeof parseJSONPath> | undefined)[] = [];
  for (const c of columns) {
    defs.push({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
      priority: c.priority ?? 0,
    });
    try {
      paths.push(parseJSONPath(c.jsonPath));
    } catch {
      paths.push(undefined); // an unparsable column prints <none>, as upstream's fallback does
    }
  }
  return {
    columns: defs,
    cells(obj, nowMs) {
      const cells: unknown[] = [String(obj?.metadata?.name ?? '')];
      columns.forEach((c, i) => {
        const p = paths[i];
        const results = p ? evaluateJSONPath(p, obj) : [];
        if (results.length === 0) {
          cells.push(null);
          return;
        }
        const value = results[0];
        cells.push(c.type === 'string' ? jsonPathText(value) : cellForJSONValue(c.type, value, nowMs));
      });
      return { cells };
    },
  };
}

function convertorFor(info: ResourceInfo): Convertor {
  if (info.custom) {
    return customConvertor(
      info.custom.printerColumns.length ? info.custom.printerColumns : defaultCustomColumns,
    );
  }
  const p = printers.get(`${info.group}/${info.kind}`);
  if (p) return { columns: p.columns, cells: (obj, now) => p.print(obj, now) };
  return {
    columns: defaultColumns,
    cells: (obj) => ({
      cells: [String(obj?.metadata?.name ?? ''), rfc3339(obj?.metadata?.creationTimestamp)],
    }),
  };
}

function partialObjectMetadata(obj: any): object {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj?.metadata ?? {} };
}

/** The columns kubectl will print for `info` (cells always include the wide, priority-1 ones). */
export function columnsFor(info: ResourceInfo): ColumnDefinition[] {
  return convertorFor(info).columns;
}

/** A meta.k8s.io/v1 Table of `items`, as upstream's server-side printing produces it. */
export function toTable(info: ResourceInfo, items: readonly object[], opts: TableOptions): Table {
  const conv = convertorFor(info);
  const nowMs = opts.nowMs ?? Date.now();
  const rows: TableRow[] = items.map((obj) => {
    const printed = conv.cells(obj, nowMs);
    const row: TableRow = { cells: printed.cells };
    if (printed.conditions) row.conditions = printed.conditions;
    if (opts.includeObject === 'Object') row.object = obj;
    else if (opts.includeObject === 'Metadata') row.object = partialObjectMetadata(obj);
    return row;
  });
  const metadata: Record<string, unknown> = {};
  for (const k of ['resourceVersion', 'continue', 'remainingItemCount', 'selfLink'] as const) {
    const v = opts.listMeta[k];
    if (v !== undefined && v !== '') metadata[k] = v;
  }
  // A single object's table carries the object's resourceVersion (kubectl get NAME -w watches from it).
  const only = items.length === 1 ? (items[0] as { metadata?: { resourceVersion?: unknown } }) : undefined;
  if (metadata.resourceVersion === undefined && typeof only?.metadata?.resourceVersion === 'string') {
    metadata.resourceVersion = only.metadata.resourceVersion;
  }
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata, columnDefinitions: conv.columns, rows };
}
