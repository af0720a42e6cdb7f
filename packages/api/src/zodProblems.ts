// zod issues -> field problems in our vocabulary: a rule code and a message that says what is
// wanted ("must be >= 1"), never zod's wording, and never a Secret's value.
import type { z } from 'zod';
import { didYouMean } from './didYouMean.ts';
import {
  fieldProblem,
  validationRules,
  type FieldProblem,
  type PathSegment,
  type RuleCode,
} from './problems.ts';

interface ZodDefLike {
  type: string;
  innerType?: ZodLike;
  in?: ZodLike;
  shape?: Record<string, ZodLike>;
  element?: ZodLike;
  valueType?: ZodLike;
  options?: ZodLike[];
  discriminator?: string;
  values?: unknown[];
}
interface ZodLike {
  _zod: { def: ZodDefLike };
}

function unwrap(schema: ZodLike): ZodLike {
  let s = schema;
  for (let i = 0; i < 16; i++) {
    const def = s._zod.def;
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!inner) return s;
    s = inner;
  }
  return s;
}

/** The object schemas that can sit at `path` (several where a union has not been decided). */
function objectsAt(root: ZodLike, path: readonly PathSegment[], data: unknown): ZodLike[] {
  let current: ZodLike[] = [root];
  let value: unknown = data;
  for (const segment of [...path, undefined]) {
    const next: ZodLike[] = [];
    for (const candidate of current) {
      const s = unwrap(candidate);
      const def = s._zod.def;
      if (def.type === 'union' && def.options) {
        const d = def.discriminator;
        const tag = d && isRecord(value) ? value[d] : undefined;
        for (const option of def.options) {
          const shape = unwrap(option)._zod.def.shape;
          const lit = d && shape?.[d] ? unwrap(shape[d])._zod.def.values : undefined;
          if (tag === undefined || !lit || lit.includes(tag)) next.push(option);
        }
        continue;
      }
      next.push(s);
    }
    current = next.map(unwrap);
    if (segment === undefined) break;
    const stepped: ZodLike[] = [];
    for (const s of current) {
      const def = s._zod.def;
      if (def.type === 'object' && typeof segment === 'string' && def.shape?.[segment])
        stepped.push(def.shape[segment]);
      else if (def.type === 'array' && typeof segment === 'number' && def.element) stepped.push(def.element);
      else if (def.type === 'record' && def.valueType) stepped.push(def.valueType);
    }
    current = stepped;
    value =
      isRecord(value) || Array.isArray(value)
        ? (value as Record<string | number, unknown>)[segment]
        : undefined;
  }
  return current.filter((s) => s._zod.def.type === 'object');
}

/** Field names the schema allows at `path`. */
export function knownFields(root: z.ZodType, path: readonly PathSegment[], data: unknown): string[] {
  const names = new Set<string>();
  for (const s of objectsAt(root, path, data)) {
    for (const key of Object.keys(s._zod.def.shape ?? {})) names.add(key);
  }
  return [...names];
}

/** Field names of every member of a union at `path`, by member, for "only allowed when type is X". */
function unionMembers(root: ZodLike, path: readonly PathSegment[]): Map<string, string> {
  const owner = new Map<string, string>();
  let current: ZodLike | undefined = root;
  for (const segment of path) {
    if (!current) break;
    const def: ZodDefLike = unwrap(current)._zod.def;
    current =
      def.type === 'object' && typeof segment === 'string'
        ? def.shape?.[segment]
        : def.type === 'array'
          ? def.element
          : undefined;
  }
  if (!current) return owner;
  const def = unwrap(current)._zod.def;
  if (def.type !== 'union' || !def.discriminator || !def.options) return owner;
  for (const option of def.options) {
    const shape = unwrap(option)._zod.def.shape ?? {};
    const tagSchema = shape[def.discriminator];
    const tag = tagSchema ? unwrap(tagSchema)._zod.def.values?.[0] : undefined;
    for (const key of Object.keys(shape)) if (key !== def.discriminator) owner.set(key, String(tag));
  }
  return owner;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function valueAt(data: unknown, path: readonly PathSegment[]): { found: boolean; value: unknown } {
  let value: unknown = data;
  for (const segment of path) {
    if (Array.isArray(value) && typeof segment === 'number') {
      if (segment >= value.length) return { found: false, value: undefined };
      value = value[segment];
    } else if (isRecord(value) && typeof segment === 'string') {
      if (!Object.hasOwn(value, segment)) return { found: false, value: undefined };
      value = value[segment];
    } else return { found: false, value: undefined };
  }
  return { found: true, value };
}

export function describeValue(value: unknown): string {
  if (value === null) return 'empty (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a whole number' : 'a number';
  return typeof value;
}

const expectedNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  record: 'a mapping',
};

/** Quote a user's value for a message, short. */
export function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const s = text === undefined ? String(value) : text;
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s);
}

function isRuleCode(x: unknown): x is RuleCode {
  return typeof x === 'string' && Object.hasOwn(validationRules, x);
}

export interface ZodProblemOptions {
  /** Never put a value of the input into a message (Secrets). */
  secret?: boolean;
}

function one(
  issue: z.core.$ZodIssue,
  data: unknown,
  root: z.ZodType,
  opts: ZodProblemOptions,
): FieldProblem[] {
  const path = issue.path as PathSegment[];
  const at = valueAt(data, path);
  switch (issue.code) {
    case 'invalid_type': {
      if (!at.found || at.value === undefined) return [fieldProblem(path, 'required', 'is required')];
      if (issue.expected === 'int' && typeof at.value === 'number') {
        return [fieldProblem(path, 'integer', 'must be a whole number')];
      }
      const expected = expectedNames[issue.expected] ?? issue.expected;
      return [fieldProblem(path, 'type', `must be ${expected}, not ${describeValue(at.value)}`)];
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const limit = small
        ? (issue as { minimum: number | bigint }).minimum
        : (issue as { maximum: number | bigint }).maximum;
      const inclusive = issue.inclusive !== false;
      if (issue.origin === 'string') {
        const rule = small ? 'minLength' : 'maxLength';
        if (small && Number(limit) === 1) return [fieldProblem(path, rule, 'must not be empty')];
        return [fieldProblem(path, rule, `must be at ${small ? 'least' : 'most'} ${limit} characters`)];
      }
      if (issue.origin === 'array' || issue.origin === 'set') {
        const rule = small ? 'minItems' : 'maxItems';
        const noun = Number(limit) === 1 ? 'item' : 'items';
        return [fieldProblem(path, rule, `must have at ${small ? 'least' : 'most'} ${limit} ${noun}`)];
      }
      const op = small ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
      return [fieldProblem(path, small ? 'min' : 'max', `must be ${op} ${limit}`)];
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => String(v));
      const typo = !opts.secret && typeof at.value === 'string' ? didYouMean(at.value, values) : undefined;
      const hint = typo ? `; did you mean ${JSON.stringify(typo)}?` : '';
      if (values.length === 1)
        return [fieldProblem(path, 'enum', `must be ${JSON.stringify(values[0])}${hint}`)];
      return [fieldProblem(path, 'enum', `must be one of: ${values.join(', ')}${hint}`)];
    }
    case 'invalid_union': {
      const u = issue as { discriminator?: string; options?: unknown[] };
      if (u.discriminator !== undefined) {
        const options = (u.options ?? []).map(String);
        // zod puts the discriminator in the path only sometimes; make it so always.
        const full = path[path.length - 1] === u.discriminator ? path : [...path, u.discriminator];
        const tag = valueAt(data, full);
        if (!tag.found || tag.value === undefined) {
          return [fieldProblem(full, 'required', `is required: one of ${options.join(', ')}`)];
        }
        const typo = typeof tag.value === 'string' ? didYouMean(tag.value, options) : undefined;
        const hint = typo ? `; did you mean ${JSON.stringify(typo)}?` : '';
        return [fieldProblem(full, 'enum', `must be one of: ${options.join(', ')}${hint}`)];
      }
      return [fieldProblem(path, 'type', 'does not match any allowed form')];
    }
    case 'unrecognized_keys': {
      const allowed = knownFields(root, path, data);
      const owners = unionMembers(root, path);
      return issue.keys.map((key) => {
        const owner = owners.get(key);
        if (owner !== undefined && !allowed.includes(key)) {
          return fieldProblem([...path, key], 'provider', `is only allowed when type is ${owner}`, 'key');
        }
        const typo = didYouMean(key, allowed);
        const message = typo
          ? `unknown field; did you mean ${JSON.stringify(typo)}?`
          : allowed.length > 0 && allowed.length <= 12
            ? `unknown field; valid fields: ${allowed.join(', ')}`
            : 'unknown field';
        return fieldProblem([...path, key], 'unknownField', message, 'key');
      });
    }
    case 'invalid_key': {
      const inner = issue.issues[0];
      const message = inner && inner.code === 'custom' ? inner.message : 'is not a valid key';
      return [fieldProblem(path, 'format', `key ${message}`, 'key')];
    }
    case 'invalid_format': {
      const format =
        issue.format === 'url' ? 'a URL like https://keystone.example.com:5000/v3' : issue.format;
      return [
        fieldProblem(
          path,
          'format',
          format === 'datetime' ? 'must be an RFC 3339 time' : `must be ${format}`,
        ),
      ];
    }
    case 'custom': {
      const rule = isRuleCode(issue.params?.rule) ? issue.params.rule : 'format';
      return [fieldProblem(path, rule, issue.message)];
    }
    default:
      return [fieldProblem(path, 'type', 'is not valid')];
  }
}

/** Every zod issue of a failed parse as field problems, with `data` for context. */
export function zodProblems(
  error: z.ZodError,
  data: unknown,
  root: z.ZodType,
  opts: ZodProblemOptions = {},
): FieldProblem[] {
  return error.issues.flatMap((issue) => one(issue, data, root, opts));
}
