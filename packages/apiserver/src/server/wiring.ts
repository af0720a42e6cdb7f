// Connects the generic REST machinery to the data-driven parts: schema validation, patches,
// selectors and Table printing.
import type { ResourceInfo } from '../registry/types.ts';
import { apiVersionOf } from '../registry/types.ts';
import { validateObject } from '../registry/validate.ts';
import { applyPatch } from '../patch/index.ts';
import { matches, parseFieldSelector, parseLabelSelector, fieldValue } from '../selectors/index.ts';
import { toTable } from '../table/index.ts';
import type { KObject } from './objects.ts';
import type { Validation } from './rest.ts';

const unknownFieldReason = 'FieldValueUnknown';

export const validation: Validation = {
  validate(scope, obj, opts) {
    const all = validateObject(scope.info, obj, { strict: opts.strict });
    const unknownFields: string[] = [];
    const causes = [];
    for (const c of all) {
      if (c.reason === unknownFieldReason) unknownFields.push(c.field);
      else causes.push(c);
    }
    return { causes, unknownFields };
  },
  applyPatch(scope, contentType, original, body) {
    return applyPatch(contentType, original, body, {
      apiVersion: apiVersionOf(scope.info),
      kind: scope.info.kind,
      isCustomResource: !scope.info.protobuf && !isBuiltinGroup(scope.info.group),
    }) as KObject;
  },
};

function isBuiltinGroup(group: string): boolean {
  return group === '' || group.endsWith('.k8s.io') || !group.includes('.');
}

/** The label and field selectors of a request as one predicate, or undefined when none. */
export function buildFilter(info: ResourceInfo, q: URLSearchParams): ((o: KObject) => boolean) | undefined {
  const ls = q.get('labelSelector');
  const fs = q.get('fieldSelector');
  const labelSel = ls ? parseLabelSelector(ls) : undefined;
  const fieldSel = fs ? parseFieldSelector(fs, info) : undefined;
  if (!labelSel && !fieldSel) return undefined;
  return (o) => {
    if (labelSel && !matches(labelSel, o.metadata.labels ?? {})) return false;
    if (
      fieldSel &&
      !fieldSel.every((r) =>
        r.op === '!=' ? fieldValue(o, r.field) !== r.value : fieldValue(o, r.field) === r.value,
      )
    )
      return false;
    return true;
  };
}

export function toTableResponse(
  info: ResourceInfo,
  items: KObject[],
  q: URLSearchParams,
  listMeta: Record<string, unknown>,
): object {
  const io = q.get('includeObject');
  const includeObject = io === 'None' || io === 'Object' || io === 'Metadata' ? io : 'Metadata';
  return toTable(info, items, { includeObject, listMeta });
}
