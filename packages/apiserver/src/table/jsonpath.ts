// The JSONPath subset CRD additionalPrinterColumns use (client-go/util/jsonpath, as upstream's
// table convertor runs it): .field, ['field'], [n], [*], .*, and filters [?(@.a.b == "x")].

type Step =
  | { k: 'field'; name: string }
  | { k: 'index'; i: number }
  | { k: 'wildcard' }
  | { k: 'filter'; path: Step[]; op?: string; literal?: unknown };

export class JSONPathError extends Error {
  override name = 'JSONPathError';
}

/** Parses `.spec.items[0].name` (a leading `{`/`}` pair is accepted and ignored). */
export function parseJSONPath(expr: string): Step[] {
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1).trim();
  if (s.startsWith('$')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  const readName = () => {
    let name = '';
    while (i < s.length && s[i] !== '.' && s[i] !== '[') {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      name += s[i++];
    }
    return name;
  };
  while (i < s.length) {
    const c = s[i];
    if (c === '.') {
      i++;
      if (s[i] === '*') {
        i++;
        steps.push({ k: 'wildcard' });
        continue;
      }
      const name = readName();
      if (name === '') {
        if (i >= s.length) break; // a bare "." selects the root
        throw new JSONPathError(`unrecognized JSONPath ${JSON.stringify(expr)}`);
      }
      steps.push({ k: 'field', name });
    } else if (c === '[') {
      const end = findClosingBracket(s, i);
      const inner = s.slice(i + 1, end).trim();
      i = end + 1;
      steps.push(parseBracket(inner, expr));
    } else if (steps.length === 0) {
      steps.push({ k: 'field', name: readName() });
    } else {
      throw new JSONPathError(`unrecognized JSONPath ${JSON.stringify(expr)}`);
    }
  }
  return steps;
}

function findClosingBracket(s: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let j = open; j < s.length; j++) {
    const c = s[j];
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return j;
  }
  throw new JSONPathError(`unterminated [ in JSONPath ${JSON.stringify(s)}`);
}

function parseBracket(inner: string, expr: string): Step {
  if (inner === '*') return { k: 'wildcard' };
  if (/^-?\d+$/.test(inner)) return { k: 'index', i: Number(inner) };
  const quoted = /^(['"])(.*)\1$/.exec(inner);
  if (quoted) return { k: 'field', name: quoted[2]! };
  const filter = /^\?\((.*)\)$/.exec(inner);
  if (filter) {
    const m = /^@((?:\.[^\s=!<>]+|\[[^\]]+\])+)\s*(?:(==|!=|<=|>=|<|>)\s*(.+))?$/.exec(filter[1]!.trim());
    if (!m) throw new JSONPathError(`unsupported filter in JSONPath ${JSON.stringify(expr)}`);
    const step: Step = { k: 'filter', path: parseJSONPath(m[1]!) };
    if (m[2]) {
      step.op = m[2];
      step.literal = parseLiteral(m[3]!.trim());
    }
    return step;
  }
  throw new JSONPathError(`unsupported JSONPath ${JSON.stringify(expr)}`);
}

function parseLiteral(s: string): unknown {
  const q = /^(['"])(.*)\1$/.exec(s);
  if (q) return q[2];
  if (s === 'true' || s === 'false') return s === 'true';
  const n = Number(s);
  return Number.isNaN(n) ? s : n;
}

function compare(a: unknown, op: string, b: unknown): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    default: {
      if (typeof a !== 'number' || typeof b !== 'number') return false;
      return op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
    }
  }
}

/** All values the path selects (missing keys select nothing, as with AllowMissingKeys). */
export function evaluateJSONPath(steps: readonly Step[], root: unknown): unknown[] {
  let cur: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || typeof v !== 'object') continue;
      switch (step.k) {
        case 'field':
          if (!Array.isArray(v) && Object.hasOwn(v, step.name))
            next.push((v as Record<string, unknown>)[step.name]);
          break;
        case 'index':
          if (Array.isArray(v)) {
            const i = step.i < 0 ? v.length + step.i : step.i;
            if (i >= 0 && i < v.length) next.push(v[i]);
          }
          break;
        case 'wildcard':
          next.push(...(Array.isArray(v) ? v : Object.values(v)));
          break;
        case 'filter':
          for (const item of Array.isArray(v) ? v : Object.values(v)) {
            const found = evaluateJSONPath(step.path, item);
            if (found.length === 0) continue;
            if (step.op === undefined || compare(found[0], step.op, step.literal)) next.push(item);
          }
          break;
      }
    }
    cur = next;
  }
  return cur;
}

/** Go's fmt.Sprint of a decoded JSON value, as jsonpath's text output renders it. */
export function jsonPathText(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map(jsonPathText).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, x]) => `${k}:${jsonPathText(x)}`).join(' ')}]`;
  }
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint'
    ? String(v)
    : JSON.stringify(v);
}
