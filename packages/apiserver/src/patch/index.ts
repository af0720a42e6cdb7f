// The three patch types kubectl and controllers send. Anything else is 415.
import jsonpatch from 'fast-json-patch';
import { errors, StatusError } from '../errors.ts';
import { strategicMergePatch } from './strategic.ts';

export const supportedPatchTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
] as const;

export interface PatchTarget {
  apiVersion: string;
  kind: string;
  isCustomResource: boolean;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7396: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: Record<string, unknown> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (e) {
    throw errors.badRequest(`the patch is not valid JSON: ${(e as Error).message}`);
  }
}

export function applyPatch(contentType: string, original: object, body: string, target: PatchTarget): object {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  switch (type) {
    case 'application/json-patch+json': {
      const ops = parse(body);
      if (!Array.isArray(ops)) throw errors.badRequest('a JSON patch must be an array of operations');
      const bad = jsonpatch.validate(ops as jsonpatch.Operation[], structuredClone(original));
      if (bad) {
        if (bad.name === 'TEST_OPERATION_FAILED') {
          throw new StatusError(
            422,
            'Invalid',
            `the JSON patch test operation failed: ${bad.message.split('\n')[0]}`,
          );
        }
        throw errors.badRequest(`invalid JSON patch: ${bad.message.split('\n')[0]}`);
      }
      try {
        return jsonpatch.applyPatch(structuredClone(original), ops as jsonpatch.Operation[], false, false)
          .newDocument;
      } catch (e) {
        throw errors.badRequest(
          `the JSON patch could not be applied: ${(e as Error).message.split('\n')[0]}`,
        );
      }
    }
    case 'application/merge-patch+json': {
      const p = parse(body);
      if (!isObj(p)) throw errors.badRequest('a merge patch must be a JSON object');
      return mergePatch(original, p) as object;
    }
    case 'application/strategic-merge-patch+json': {
      if (target.isCustomResource) {
        throw errors.unsupportedMediaType(contentType, [
          'application/json-patch+json',
          'application/merge-patch+json',
        ]);
      }
      const p = parse(body);
      if (!isObj(p)) throw errors.badRequest('a strategic merge patch must be a JSON object');
      return strategicMergePatch(original, p, target.kind) as object;
    }
    default:
      throw errors.unsupportedMediaType(contentType, supportedPatchTypes);
  }
}
