// Anything that logs a request, a header set, a body or an error passes it through redact()
// first. Two layers: keys that name a secret lose their value whatever it is, and strings that
// look like a secret (our tokens, bearer headers, keystone fernet tokens) are masked wherever
// they appear, e.g. inside an error message.

export const REDACTED = '[REDACTED]';

const SECRET_KEY =
  /pass(word|wd|phrase)?|secret|token|authorization|cookie|api[-_]?key|private[-_]?key|credentials?$/i;

const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/kaas_[A-Za-z0-9_-]{8,}/g, `kaas_${REDACTED}`],
  [/\b(Bearer|Basic)\s+[^\s"',;]+/gi, `$1 ${REDACTED}`],
  // keystone fernet tokens are base64url and start with gAAAAA (version byte + timestamp)
  [/gAAAAA[A-Za-z0-9_=-]{40,}/g, REDACTED],
];

const MAX_DEPTH = 8;

export function redactString(s: string): string {
  let out = s;
  for (const [re, replacement] of SECRET_PATTERNS) out = out.replace(re, replacement);
  return out;
}

function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  seen.add(value);
  if (value instanceof Error) {
    return { name: value.name, message: redactString(value.message) };
  }
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (typeof (value as { entries?: unknown }).entries === 'function' && isHeaderLike(value)) {
    return redactValue(Object.fromEntries(value.entries()), depth, seen);
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // an object under a secret key (keystone's `password: {user: {...}}`) is walked instead, so
    // that the names inside stay readable and the secrets inside are caught by their own keys
    const secretLeaf = isSecretKey(k) && v !== undefined && v !== null && !isPlainObject(v);
    out[k] = secretLeaf ? REDACTED : redactValue(v, depth + 1, seen);
  }
  return out;
}

function isPlainObject(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isHeaderLike(v: object): v is { entries(): IterableIterator<[string, string]> } {
  return (
    typeof (v as { get?: unknown }).get === 'function' && typeof (v as { has?: unknown }).has === 'function'
  );
}

/**
 * A deep copy of `value` that is safe to log: values under secret-looking keys (password, secret,
 * token, authorization, cookie, credentials, ...) become "[REDACTED]", and secret-looking
 * substrings are masked in every string. Headers objects and Maps are turned into plain objects.
 */
export function redact<T>(value: T): unknown {
  return redactValue(value, 0, new WeakSet());
}
