// apimachinery's field.Error as our FieldCause: the reason names and the message bodies
// (field.Error.ErrorBody) that kubectl prints after the field path.
import type { FieldCause } from './types.ts';

/** Go's %v / %q rendering of a JSON value in a message: strings quoted, numbers and bools bare. */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** JSON type of a value as kube-openapi names it in "must be of type" messages. */
export function jsonType(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function cause(reason: string, field: string, message: string): FieldCause {
  return { reason, field, message };
}

export const fieldError = {
  required: (field: string, detail = '') =>
    cause('FieldValueRequired', field, detail ? `Required value: ${detail}` : 'Required value'),
  invalid: (field: string, value: unknown, detail: string) =>
    cause('FieldValueInvalid', field, `Invalid value: ${goValue(value)}${detail ? `: ${detail}` : ''}`),
  typeInvalid: (field: string, value: unknown, detail: string) =>
    cause('FieldValueTypeInvalid', field, `Invalid value: ${goValue(value)}: ${detail}`),
  notSupported: (field: string, value: unknown, valid: readonly unknown[]) =>
    cause(
      'FieldValueNotSupported',
      field,
      `Unsupported value: ${goValue(value)}${
        valid.length
          ? `: supported values: ${valid.map((v) => JSON.stringify(typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}`
          : ''
      }`,
    ),
  forbidden: (field: string, detail: string) => cause('FieldValueForbidden', field, `Forbidden: ${detail}`),
  tooLong: (field: string, maxBytes: number) =>
    cause(
      'FieldValueTooLong',
      field,
      maxBytes >= 0 ? `Too long: may not be more than ${maxBytes} bytes` : 'Too long: value is too long',
    ),
  tooMany: (field: string, actual: number, max: number) =>
    cause(
      'FieldValueTooMany',
      field,
      `Too many: ${actual >= 0 ? actual : '<omitted>'}: ${max >= 0 ? `must have at most ${max} items` : 'has too many items'}`,
    ),
  duplicate: (field: string, value: unknown) =>
    cause('FieldValueDuplicate', field, `Duplicate value: ${goValue(value)}`),
  unknown: (field: string) => cause('FieldValueUnknown', field, `unknown field ${JSON.stringify(field)}`),
};

export function childPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

export function indexPath(parent: string, i: number): string {
  return `${parent}[${i}]`;
}
