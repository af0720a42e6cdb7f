// 1,000 malformed bootstrap files, made by mutating the examples with a seeded generator:
// parseBootstrap never throws, every problem has a position, objects only come back for a clean
// file, a mutation known to break a rule always yields a problem (at the mutated line, where the
// mutation says where), and the whole run stays under 10 s.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ClusterSchema } from './cluster.ts';
import { parseBootstrap } from './parseBootstrap.ts';
import { formatProblem, type Problem } from './problems.ts';
import { validateCluster } from './validateCluster.ts';

const SEED = 20250601;
const FILES = 1000;

/** mulberry32: small, fast, reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const examples = ['bootstrap.yaml', 'openstack.yaml', 'eks.yaml'].map((file) => ({
  file,
  text: readFileSync(new URL(`../../../examples/${file}`, import.meta.url), 'utf8'),
}));

interface Mutant {
  kind: string;
  text: string;
  /** The mutation certainly breaks a rule. */
  mustFail: boolean;
  /** A problem must be reported at this 1-based line (and column, when given). */
  at?: { line: number; column?: number };
  /** Some message must contain this. */
  message?: string;
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** Lines that are content of a block scalar (| or >): not YAML structure. */
function literalLines(lines: string[]): Set<number> {
  const out = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!/:\s*[|>][-+]?\s*$/.test(line)) continue;
    const indent = line.length - line.trimStart().length;
    for (let j = i + 1; j < lines.length; j++) {
      const l = lines[j] ?? '';
      if (l.trim() !== '' && l.length - l.trimStart().length <= indent) break;
      out.add(j);
    }
  }
  return out;
}

function structuralLines(lines: string[], re: RegExp): number[] {
  const literal = literalLines(lines);
  return lines.flatMap((l, i) => (!literal.has(i) && re.test(l) ? [i] : []));
}

/** Values that break the field on a matching line, and the rule the problem lands on that line. */
const valueMutations: { line: RegExp; values: string[] }[] = [
  { line: /^(\s+replicas: )3$/, values: ['0', '-1', '"three"', '2.5', '[]', '{}', 'null', '99999', 'true'] },
  { line: /^(\s+replicas: )1$/, values: ['2', '4', '0', '6', '"one"'] },
  { line: /^(\s+name: )(demo|prod-eu|shop)$/, values: ['Demo', '"-x"', '42', '""', 'a_b', 'x'.repeat(33)] },
  {
    line: /^(\s+kubernetesVersion: )"1\.3[23](\.2)?"$/,
    values: ['1.30', '"1.29"', '"latest"', '[1]', '"1.34"'],
  },
  {
    line: /^(\s+podCIDR: )10\.244\.0\.0\/16/,
    values: ['10.244.0.1/16', '"x"', '300.1.1.1/8', '10.244.0.0/25'],
  },
  { line: /^(\s+type: )(local|openstack|eks)$/, values: ['gcp', 'Local', '""', '7'] },
  { line: /^(\s+errorRate: )0$/, values: ['-0.1', '1.5', '"high"'] },
  { line: /^(\s+latencyScale: )0\.1$/, values: ['-1', '1000'] },
  { line: /^(\s+diskGiB: )(50|200)$/, values: ['5', '"big"', '1e9'] },
  { line: /^(\s+region: )us-east-1$/, values: ['US', '"us-east"'] },
  { line: /^(\s+dnsZone: )kaas\.example\.com\.$/, values: ['"not a zone"', '_x.'] },
  { line: /^(\s+subnets: )2$/, values: ['1', '7'] },
  { line: /^(\s+backend: )(local|keystone)$/, values: ['ldap', '[]'] },
  { line: /^(\s+endpointAccess: )Public$/, values: ['public', 'Everyone'] },
];

function mutateValue(r: Rand, text: string): Mutant | undefined {
  const lines = text.split('\n');
  const options = valueMutations.flatMap((m) => structuralLines(lines, m.line).map((i) => ({ i, m })));
  if (options.length === 0) return undefined;
  const { i, m } = pick(r, options);
  const prefix = (lines[i] ?? '').match(m.line)?.[1] ?? '';
  lines[i] = prefix + pick(r, m.values);
  return {
    kind: 'value',
    text: lines.join('\n'),
    mustFail: true,
    at: { line: i + 1, column: prefix.length + 1 },
  };
}

/** Required keys: deleting one (with its block) must fail. */
const requiredKeys = [
  /^apiVersion:/,
  /^kind: Cluster/,
  /^metadata:$/,
  /^ {2}name: (demo|prod-eu|shop)$/,
  /^spec:$/,
  /^ {2}nodePools:$/,
  /^ {2}auth:$/,
  /^ {4}clusterAdminRoleIds:$/,
  /^ {6}region: /,
  /^ {6}externalNetwork: /,
  /^ {6}image: /,
  /^ {6}flavors:$/,
  /^ {6}dnsZone: /,
  /^ {2}credentialsRef:$/,
  /^stringData:$/,
];

function deleteRequired(r: Rand, text: string): Mutant | undefined {
  const lines = text.split('\n');
  const options = requiredKeys.flatMap((re) => structuralLines(lines, re));
  if (options.length === 0) return undefined;
  const i = pick(r, options);
  const indent = (lines[i] ?? '').length - (lines[i] ?? '').trimStart().length;
  let end = i + 1;
  while (end < lines.length) {
    const l = lines[end] ?? '';
    if (l.trim() !== '' && l.length - l.trimStart().length <= indent) break;
    end++;
  }
  lines.splice(i, end - i);
  return { kind: 'delete', text: lines.join('\n'), mustFail: true };
}

const schemaFields = [
  'name',
  'namespace',
  'replicas',
  'machineType',
  'diskGiB',
  'type',
  'vmBootSeconds',
  'latencyScale',
  'errorRate',
  'timeoutRate',
  'podCIDR',
  'serviceCIDR',
  'nodeCIDR',
  'backend',
  'kubernetesVersion',
  'region',
  'image',
  'dnsZone',
  'subnets',
  'instanceType',
  'endpointAccess',
  'cloud',
  'externalNetwork',
  'controlPlane',
  'nodePools',
  'network',
  'services',
  'provider',
  'faults',
  'quotas',
  'instances',
];

function unknownKey(r: Rand, text: string): Mutant | undefined {
  const lines = text.split('\n');
  const re = new RegExp(`^(\\s*)(${schemaFields.join('|')}):`);
  const options = structuralLines(lines, re);
  if (options.length === 0) return undefined;
  const i = pick(r, options);
  const [, indent = '', key = ''] = (lines[i] ?? '').match(re) ?? [];
  const at = int(r, 1, key.length - 1);
  const typo = key.slice(0, at) + (key[at] ?? '') + key.slice(at); // one letter doubled
  lines.splice(i, 0, `${indent}${typo}: 1`);
  return {
    kind: 'unknownKey',
    text: lines.join('\n'),
    mustFail: true,
    at: { line: i + 1, column: indent.length + 1 },
    message: `did you mean "${key}"?`,
  };
}

const noise = [
  '\0',
  '\x7f',
  '"',
  "'",
  ':',
  '{',
  '}',
  '[',
  ']',
  '&',
  '*',
  '!',
  '|',
  '>',
  '%',
  '@',
  '`',
  '\t',
  '\n',
  'é',
  '\u2028',
  '\ufeff',
  '#',
  '-',
  ' ',
  '\\',
  ',',
  '?',
];

function randomBytes(r: Rand, text: string): Mutant {
  const chars = [...text];
  const n = int(r, 1, 8);
  for (let k = 0; k < n; k++) {
    const c = r() < 0.5 ? pick(r, noise) : String.fromCharCode(int(r, 0, 0xffff));
    chars[int(r, 0, chars.length - 1)] = c;
  }
  return { kind: 'bytes', text: chars.join(''), mustFail: false };
}

function truncate(r: Rand, text: string): Mutant {
  return { kind: 'truncate', text: text.slice(0, int(r, 0, text.length - 1)), mustFail: false };
}

function deepNesting(r: Rand, text: string): Mutant {
  const lines = text.split('\n');
  const target = structuralLines(lines, /^(\s+)(podCIDR|nodeCIDR|serviceCIDR): /);
  const style = r();
  if (style < 0.5 && target.length > 0) {
    const i = pick(r, target);
    const depth = int(r, 100, 20000);
    const prefix = (lines[i] ?? '').match(/^(\s+\w+: )/)?.[1] ?? '';
    lines[i] = `${prefix}${'['.repeat(depth)}${']'.repeat(depth)}`;
    // Refused at the first bracket past the limit.
    return {
      kind: 'deepFlow',
      text: lines.join('\n'),
      mustFail: true,
      at: { line: i + 1, column: prefix.length + 65 },
    };
  }
  // Block nesting as an unknown top-level field of the last document (the Cluster).
  const depth = int(r, 10, 300);
  const block = Array.from({ length: depth }, (_, d) => `${' '.repeat(d * 2)}a${d}:`).join('\n');
  return {
    kind: 'deepBlock',
    text: `${text.trimEnd()}\nnested:\n${block.replace(/^/gm, '  ')} 1\n`,
    mustFail: true,
  };
}

function hugeString(r: Rand, text: string): Mutant | undefined {
  const lines = text.split('\n');
  const options = structuralLines(lines, /^(\s+name: )(demo|prod-eu|shop|workers|general)$/);
  if (options.length === 0) return undefined;
  const i = pick(r, options);
  const prefix = (lines[i] ?? '').match(/^(\s+name: )/)?.[1] ?? '';
  lines[i] = prefix + pick(r, ['a', 'x-', '9']).repeat(int(r, 100, 400000));
  return {
    kind: 'huge',
    text: lines.join('\n'),
    mustFail: true,
    at: { line: i + 1, column: prefix.length + 1 },
  };
}

function aliasBomb(r: Rand, text: string): Mutant {
  const width = int(r, 8, 12);
  const depth = int(r, 3, 9);
  const row = (ref: string): string => `[${Array<string>(width).fill(ref).join(', ')}]`;
  const bomb = [`l0: &l0 ${row('lol')}`];
  for (let d = 1; d < depth; d++) bomb.push(`l${d}: &l${d} ${row(`*l${d - 1}`)}`);
  return { kind: 'aliasBomb', text: `${text.trimEnd()}\n---\n${bomb.join('\n')}\n`, mustFail: true };
}

function duplicateKey(r: Rand, text: string): Mutant | undefined {
  const lines = text.split('\n');
  const options = structuralLines(lines, /^\s*[A-Za-z][\w.-]*:/);
  if (options.length === 0) return undefined;
  const i = pick(r, options);
  lines.splice(i + 1, 0, lines[i] ?? '');
  return { kind: 'duplicateKey', text: lines.join('\n'), mustFail: true };
}

function tabs(r: Rand, text: string): Mutant | undefined {
  const lines = text.split('\n');
  const options = structuralLines(lines, /^ +[A-Za-z]/);
  if (options.length === 0) return undefined;
  const i = pick(r, options);
  lines[i] = (lines[i] ?? '').replace(/^ +/, (s) => '\t'.repeat(Math.max(1, s.length / 2)));
  return { kind: 'tabs', text: lines.join('\n'), mustFail: true, at: { line: i + 1 } };
}

function wrongKind(r: Rand, text: string): Mutant | undefined {
  const lines = text.split('\n');
  const options = structuralLines(lines, /^(kind|apiVersion): /);
  if (options.length === 0) return undefined;
  const i = pick(r, options);
  const isKind = (lines[i] ?? '').startsWith('kind');
  const value = isKind
    ? pick(r, ['Clustr', 'Deployment', 'cluster', '""', 'Secrets', '[Cluster]'])
    : pick(r, ['kaas.dev/v1', 'v2', 'apps/v1', 'kaas.dev/v1beta1']);
  lines[i] = `${isKind ? 'kind' : 'apiVersion'}: ${value}`;
  return { kind: 'kind', text: lines.join('\n'), mustFail: true, at: { line: i + 1 } };
}

const mutators: ((r: Rand, text: string) => Mutant | undefined)[] = [
  mutateValue,
  mutateValue,
  mutateValue,
  deleteRequired,
  unknownKey,
  randomBytes,
  truncate,
  deepNesting,
  hugeString,
  aliasBomb,
  duplicateKey,
  duplicateKey,
  tabs,
  wrongKind,
];

function lineCount(text: string): number {
  let n = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // The YAML parser counts \n and lone \r as line breaks.
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) n++;
  }
  return n;
}

test(`parseBootstrap survives ${FILES} generated malformed files`, () => {
  const r = rng(SEED);
  const started = performance.now();
  const byKind = new Map<string, number>();
  let failing = 0;
  for (let n = 0; n < FILES; n++) {
    const base = examples[n % examples.length] as { file: string; text: string };
    let m: Mutant | undefined;
    for (let attempt = 0; m === undefined && attempt < 20; attempt++) m = pick(r, mutators)(r, base.text);
    assert.ok(m, `case ${n}: no mutation applied`);
    byKind.set(m.kind, (byKind.get(m.kind) ?? 0) + 1);
    const label = `case ${n} (${m.kind} of ${base.file}, seed ${SEED})`;

    const result = parseBootstrap(m.text, base.file);
    const { problems, objects } = result;
    const lines = lineCount(m.text);
    for (const p of problems) {
      assert.ok(
        Number.isInteger(p.line) && p.line >= 1 && p.line <= lines,
        `${label}: line ${p.line} of ${lines}`,
      );
      assert.ok(Number.isInteger(p.column) && p.column >= 1, `${label}: column ${p.column}`);
      assert.equal(p.file, base.file, label);
      assert.ok(p.message.length > 0, label);
      assert.notEqual(p.rule, 'internal', `${label}: ${formatProblem(p)}`);
      assert.ok(
        !p.message.includes('replace-with-the-secret'),
        `${label}: a Secret value leaked: ${p.message}`,
      );
    }
    if (problems.length > 0) {
      failing++;
      assert.equal(objects.length, 0, `${label}: objects returned despite problems`);
    } else {
      // Claimed clean: an independent re-check of every Cluster must agree.
      assert.ok(objects.length > 0, `${label}: neither objects nor problems`);
      for (const o of objects) {
        if (o.kind !== 'Cluster') continue;
        assert.ok(ClusterSchema.safeParse(o).success, label);
        assert.deepEqual(validateCluster(o), [], label);
      }
    }
    if (m.mustFail) assert.ok(problems.length > 0, `${label}: a broken rule went unreported`);
    if (m.at) {
      const { line, column } = m.at;
      const here = (p: Problem): boolean => p.line === line && (column === undefined || p.column === column);
      assert.ok(
        problems.some(here),
        `${label}: nothing reported at ${line}:${column ?? '*'}; got:\n${problems.map(formatProblem).join('\n')}`,
      );
    }
    if (m.message) {
      const text = m.message;
      assert.ok(
        problems.some((p) => p.message.includes(text)),
        `${label}: no message has ${text}; got:\n${problems.map(formatProblem).join('\n')}`,
      );
    }
  }
  const elapsedMs = performance.now() - started;
  // only a guard against pathological (super-linear) parsing: ~2 s on an idle 2-core machine,
  // but tests share the machine with others, so the bound is loose; speed is for the benchmarks
  assert.ok(elapsedMs < 180_000, `took ${Math.round(elapsedMs)} ms`);
  // Every mutation family ran, and most files were (as intended) broken.
  for (const kind of [
    'value',
    'delete',
    'unknownKey',
    'bytes',
    'truncate',
    'huge',
    'aliasBomb',
    'duplicateKey',
    'tabs',
    'kind',
  ]) {
    assert.ok((byKind.get(kind) ?? 0) >= 20, `only ${byKind.get(kind) ?? 0} ${kind} cases`);
  }
  assert.ok((byKind.get('deepFlow') ?? 0) + (byKind.get('deepBlock') ?? 0) >= 20);
  assert.ok(failing > FILES * 0.8, `only ${failing} files had problems`);
});
