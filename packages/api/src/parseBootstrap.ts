// The bootstrap file: a multi-document YAML manifest of Clusters (and their credentials Secrets).
// Parsed keeping source positions and validated completely; every problem points at the offending
// node (or the nearest existing parent when a field is missing). Never throws.
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document } from 'yaml';
import { apiVersion as kaasApiVersion, type Cluster, type ProviderType } from './cluster.ts';
import { didYouMean } from './didYouMean.ts';
import { bootstrapMetadataFields, serverMetadataFields } from './fields.ts';
import { fieldProblem, type FieldProblem, type PathSegment, type Problem } from './problems.ts';
import { SecretSchema, credentialProblems, secretKeys, validateSecret, type Secret } from './secret.ts';
import { validateCluster } from './validateCluster.ts';
import { defaultNamespace, withDefaults } from './withDefaults.ts';
import { isRecord } from './zodProblems.ts';

export type BootstrapObject = Cluster | Secret;

export interface BootstrapResult {
  /** The objects to create, defaults applied. Empty whenever `problems` is not. */
  objects: BootstrapObject[];
  /** Every problem, in file order. */
  problems: Problem[];
}

export interface BootstrapOptions {
  /** Namespace of objects that do not name one; "default". */
  namespace?: string;
}

/** What a bootstrap file may contain. */
export const bootstrapKinds = [
  { apiVersion: kaasApiVersion, kind: 'Cluster' },
  { apiVersion: 'v1', kind: 'Secret' },
] as const;

export const bootstrapLimits = {
  /** A bootstrap file is a few kilobytes; anything past this is a mistake or an attack. */
  maxChars: 1024 * 1024,
  /** Alias expansions per document (the "billion laughs" guard). */
  maxAliasCount: 100,
  /** Open flow brackets ([ and {) at once; a real manifest needs a handful. */
  maxFlowDepth: 64,
} as const;

/**
 * Offset of the first bracket that opens deeper than the limit, found by counting brackets
 * without parsing. The YAML parser recurses on flow collections; thousands of levels cost it
 * a stack overflow, and a file that deep is not a bootstrap file anyway.
 */
function tooDeepAt(text: string, limit: number): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 91 || c === 123) {
      if (++depth > limit) return i;
    } else if ((c === 93 || c === 125) && depth > 0) depth--;
  }
  return undefined;
}

const validKindsText = bootstrapKinds.map((k) => `${k.kind} (${k.apiVersion})`).join(', ');

interface Located {
  index: number;
  doc: Document;
  value: Record<string, unknown>;
  kind: 'Cluster' | 'Secret';
  namespace: string;
  name: string | undefined;
}

class Collector {
  readonly problems: Problem[] = [];
  readonly #file: string;
  readonly #lines: LineCounter;
  readonly #text: string;

  constructor(file: string, lines: LineCounter, text: string) {
    this.#file = file;
    this.#lines = lines;
    this.#text = text;
  }

  at(offset: number, p: Omit<Problem, 'file' | 'line' | 'column'>): void {
    const { line, col } = this.#lines.linePos(Math.max(0, Math.min(offset, this.#text.length)));
    this.problems.push({ ...p, file: this.#file, line: Math.max(1, line), column: Math.max(1, col) });
  }

  lineOf(offset: number): number {
    return this.#lines.linePos(Math.max(0, Math.min(offset, this.#text.length))).line;
  }

  field(doc: Document, p: FieldProblem): void {
    const offset = locate(doc, p.segments, p.target ?? 'value');
    let message = p.message;
    if (p.rule === 'type' && message.startsWith('must be a string')) {
      // YAML reads 1.30 as the number 1.3 and 0755 as an octal: suggest quotes, showing the source.
      const node = nodeAt(doc, p.segments);
      if (isScalar(node) && node.type === 'PLAIN' && node.range) {
        const source = this.#text.slice(node.range[0], node.range[1]);
        if (source.length <= 40) message += `; quote it: "${source}"`;
      }
    }
    this.at(offset, { path: p.path, message, rule: p.rule });
  }
}

function startOf(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: unknown }).range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}

function deref(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function keyText(key: unknown): string | undefined {
  return isScalar(key) ? String(key.value) : undefined;
}

/** The YAML node at a path, if the path exists. */
function nodeAt(doc: Document, path: readonly PathSegment[]): unknown {
  let node: unknown = doc.contents;
  for (const segment of path) {
    node = deref(doc, node);
    if (isMap(node)) node = node.items.find((p) => keyText(p.key) === String(segment))?.value;
    else if (isSeq(node) && typeof segment === 'number') node = node.items[segment];
    else return undefined;
    if (node === undefined || node === null) return undefined;
  }
  return deref(doc, node);
}

/**
 * Source offset for a problem at `path`: the value there, or its key for `target: 'key'` and for
 * block collections; when the path does not exist, the key of the nearest existing parent.
 */
function locate(doc: Document, path: readonly PathSegment[], target: 'value' | 'key'): number {
  let node: unknown = doc.contents;
  let anchor = startOf(node) ?? doc.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const last = i === path.length - 1;
    node = deref(doc, node);
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(segment));
      if (!pair) return anchor;
      const keyAt = startOf(pair.key) ?? anchor;
      if (last && target === 'key') return keyAt;
      anchor = keyAt;
      node = deref(doc, pair.value);
      const valueAt = startOf(node);
      if (valueAt === undefined) return keyAt;
      if (last) return (isMap(node) || isSeq(node)) && !node.flow ? keyAt : valueAt;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      const itemAt = startOf(item);
      if (itemAt === undefined) return anchor;
      anchor = itemAt;
      node = item;
    } else {
      return startOf(node) ?? anchor;
    }
  }
  return anchor;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Bootstrap-only rules on metadata and status; returns the object as it will be validated. */
function bootstrapShape(value: Record<string, unknown>, problems: FieldProblem[]): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...value };
  if ('status' in copy) {
    problems.push(
      fieldProblem(
        ['status'],
        'serverField',
        'is written by KaaS, not by you; remove it from the bootstrap file',
        'key',
      ),
    );
    delete copy.status;
  }
  if (isRecord(copy.metadata)) {
    const metadata: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(copy.metadata)) {
      if ((bootstrapMetadataFields as readonly string[]).includes(key)) metadata[key] = v;
      else if ((serverMetadataFields as readonly string[]).includes(key)) {
        problems.push(
          fieldProblem(
            ['metadata', key],
            'serverField',
            'is set by the server; remove it from the bootstrap file',
            'key',
          ),
        );
      } else {
        const typo = didYouMean(key, bootstrapMetadataFields);
        problems.push(
          fieldProblem(
            ['metadata', key],
            'unknownField',
            typo
              ? `unknown field; did you mean ${JSON.stringify(typo)}?`
              : `unknown field; valid fields: ${bootstrapMetadataFields.join(', ')}`,
            'key',
          ),
        );
      }
    }
    copy.metadata = metadata;
  }
  return copy;
}

function checkDocument(
  index: number,
  doc: Document,
  value: unknown,
  namespace: string,
  out: Collector,
): Located | undefined {
  const report = (p: FieldProblem): void => out.field(doc, p);
  if (!isRecord(value)) {
    report(
      fieldProblem(
        [],
        'document',
        'each document must be a mapping with apiVersion, kind, metadata and spec',
      ),
    );
    return undefined;
  }
  const kind = value.kind;
  const known = bootstrapKinds.find((k) => k.kind === kind);
  if (kind === undefined) {
    report(fieldProblem(['kind'], 'required', `is required; valid: ${validKindsText}`));
  } else if (typeof kind !== 'string') {
    report(fieldProblem(['kind'], 'type', `must be a string; valid: ${validKindsText}`));
  } else if (!known) {
    const typo = didYouMean(
      kind,
      bootstrapKinds.map((k) => k.kind),
    );
    const hint = typo ? `did you mean ${JSON.stringify(typo)}? ` : '';
    report(
      fieldProblem(
        ['kind'],
        'kind',
        `${JSON.stringify(kind.slice(0, 40))} cannot be in a bootstrap file; ${hint}valid: ${validKindsText}`,
      ),
    );
  }
  const av = value.apiVersion;
  if (known && av !== known.apiVersion) {
    report(
      fieldProblem(
        ['apiVersion'],
        av === undefined ? 'required' : 'apiVersion',
        av === undefined
          ? `is required: ${known.apiVersion} for kind ${known.kind}`
          : `must be ${known.apiVersion} for kind ${known.kind}`,
      ),
    );
  } else if (
    !known &&
    kind === undefined &&
    typeof av === 'string' &&
    !bootstrapKinds.some((k) => k.apiVersion === av)
  ) {
    report(
      fieldProblem(
        ['apiVersion'],
        'apiVersion',
        `must be one of: ${[...new Set(bootstrapKinds.map((k) => k.apiVersion))].join(', ')}`,
      ),
    );
  }
  if (!known) return undefined;
  const problems: FieldProblem[] = [];
  const shaped = bootstrapShape({ ...value, apiVersion: known.apiVersion }, problems);
  problems.push(...(known.kind === 'Cluster' ? validateCluster(shaped) : validateSecret(shaped)));
  problems.forEach(report);
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  return {
    index,
    doc,
    value,
    kind: known.kind,
    namespace: str(metadata.namespace) ?? namespace,
    name: str(metadata.name),
  };
}

/** `complete`: every document was read; otherwise a Secret's user may be in a broken one. */
function crossObjectRules(objects: Located[], out: Collector, complete: boolean): void {
  const seen = new Map<string, Located>();
  for (const o of objects) {
    if (o.name === undefined) continue;
    const key = `${o.kind}/${o.namespace}/${o.name}`;
    const first = seen.get(key);
    if (first) {
      const line = out.lineOf(locate(first.doc, ['metadata', 'name'], 'value'));
      out.field(
        o.doc,
        fieldProblem(
          ['metadata', 'name'],
          'duplicateObject',
          `${o.kind} ${o.namespace}/${o.name} is already defined at line ${line}`,
        ),
      );
    } else seen.set(key, o);
  }
  const secrets = objects.filter((o) => o.kind === 'Secret');
  const used = new Set<Located>();
  const secretNamed = (namespace: string, name: string): Located | undefined =>
    secrets.find((s) => s.namespace === namespace && s.name === name);
  for (const c of objects) {
    if (c.kind !== 'Cluster') continue;
    const spec = isRecord(c.value.spec) ? c.value.spec : {};
    const provider = isRecord(spec.provider) ? spec.provider : {};
    const type = str(provider.type) as ProviderType | undefined;
    const refName = isRecord(spec.credentialsRef) ? str(spec.credentialsRef.name) : undefined;
    if (refName !== undefined) {
      const secret = secretNamed(c.namespace, refName);
      if (secret) {
        used.add(secret);
        if (type === 'openstack' || type === 'eks') {
          const member = isRecord(provider[type]) ? provider[type] : {};
          const cloud = str(member.cloud) ?? 'openstack';
          for (const p of credentialProblems(secret.value, type, cloud)) out.field(secret.doc, p);
        }
      } else {
        const candidates = secrets.filter((s) => s.namespace === c.namespace && s.name !== undefined);
        const typo = didYouMean(
          refName,
          candidates.map((s) => s.name as string),
        );
        if (typo) {
          used.add(secretNamed(c.namespace, typo) as Located);
          out.field(
            c.doc,
            fieldProblem(
              ['spec', 'credentialsRef', 'name'],
              'secretRef',
              `no Secret ${JSON.stringify(refName)} in this file; did you mean ${JSON.stringify(typo)}?`,
            ),
          );
        }
      }
    }
    const ca =
      type === 'openstack' && isRecord(provider.openstack) ? provider.openstack.caBundleRef : undefined;
    const caName = isRecord(ca) ? str(ca.name) : undefined;
    if (caName !== undefined && isRecord(ca)) {
      const secret = secretNamed(c.namespace, caName);
      if (secret) {
        used.add(secret);
        const key = str(ca.key) ?? 'ca.crt';
        if (!secretKeys(secret.value).includes(key)) {
          const path = [
            'spec',
            'provider',
            'openstack',
            'caBundleRef',
            ca.key === undefined ? 'name' : 'key',
          ];
          out.field(
            c.doc,
            fieldProblem(
              path,
              'secretRef',
              `Secret ${JSON.stringify(caName)} has no key ${JSON.stringify(key)}`,
            ),
          );
        }
      }
    }
  }
  for (const s of secrets) {
    if (!complete || used.has(s) || s.name === undefined) continue;
    out.field(
      s.doc,
      fieldProblem(
        ['metadata', 'name'],
        'secretRef',
        'is not used: no Cluster names it in spec.credentialsRef or spec.provider.openstack.caBundleRef',
      ),
    );
  }
}

/**
 * The parser's message without any text of the file: without prettyErrors there is no excerpt,
 * but some messages quote the offending token ('Unexpected scalar token in YAML stream: "..."'),
 * and that token may be a Secret's value.
 */
export function yamlErrorMessage(e: { message: string }): string {
  let m = e.message.split('\n')[0] ?? '';
  m = m.replace(/ at line \d+, column \d+:?$/, '');
  const quoted = m.indexOf(': "');
  if (quoted >= 0) m = m.slice(0, quoted);
  m = m.replace(/"(?:[^"\\]|\\.)*"/g, '(...)');
  return m.length > 160 ? `${m.slice(0, 157)}...` : m;
}

function parse(text: string, file: string, options: BootstrapOptions): BootstrapResult {
  const lines = new LineCounter();
  const out = new Collector(file, lines, text);
  if (text.length > bootstrapLimits.maxChars) {
    out.at(0, {
      path: '',
      rule: 'yamlLimit',
      message: `the file has ${text.length} characters; a bootstrap file may have at most ${bootstrapLimits.maxChars}`,
    });
    return { objects: [], problems: out.problems };
  }
  const deepAt = tooDeepAt(text, bootstrapLimits.maxFlowDepth);
  if (deepAt !== undefined) {
    // Count lines for the position only; nothing is parsed.
    lines.addNewLine(0);
    for (let i = text.indexOf('\n'); i >= 0 && i < deepAt; i = text.indexOf('\n', i + 1))
      lines.addNewLine(i + 1);
    out.at(deepAt, {
      path: '',
      rule: 'yamlLimit',
      message: `nested deeper than ${bootstrapLimits.maxFlowDepth} levels of [ and {`,
    });
    return { objects: [], problems: out.problems };
  }
  const namespace = options.namespace ?? defaultNamespace;
  // logLevel 'error': yaml would otherwise print warnings (odd keys) to the console of whoever calls us.
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    logLevel: 'error',
  });
  const located: Located[] = [];
  let syntaxErrors = false;
  let unreadable = false;
  let sawCluster = false;
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, index) => {
    const issues = [...doc.errors, ...doc.warnings];
    for (const e of issues) {
      syntaxErrors = true;
      // The parser reports its own stack overflow as an error of the document.
      const deep = /call stack/i.test(e.message);
      out.at(e.pos[0], {
        path: '',
        rule: deep ? 'yamlLimit' : 'yamlSyntax',
        message: deep ? 'nested too deeply to read' : yamlErrorMessage(e),
      });
    }
    if (issues.length > 0 || doc.contents === null) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: bootstrapLimits.maxAliasCount });
    } catch (e) {
      const tooDeep = e instanceof RangeError;
      unreadable = true;
      out.at(startOf(doc.contents) ?? doc.range?.[0] ?? 0, {
        path: '',
        rule: 'yamlLimit',
        message: tooDeep
          ? 'the document is nested too deeply'
          : 'the document expands too many aliases (a YAML "billion laughs"); write the values out',
      });
      return;
    }
    if (value === null || value === undefined) return; // an empty document, e.g. a trailing ---
    if (isRecord(value) && value.kind === 'Cluster') sawCluster = true;
    const o = checkDocument(index, doc, value, namespace, out);
    if (o) located.push(o);
  });
  crossObjectRules(located, out, !syntaxErrors && !unreadable);
  if (!sawCluster && !syntaxErrors && out.problems.length === 0) {
    out.at(0, {
      path: '',
      rule: 'noCluster',
      message: 'no Cluster found: a bootstrap file needs at least one',
    });
  }
  out.problems.sort((a, b) => a.line - b.line || a.column - b.column);
  if (out.problems.length > 0) return { objects: [], problems: dedupe(out.problems) };
  const objects: BootstrapObject[] = located.map((o) => {
    const metadata = { ...(o.value.metadata as Record<string, unknown>), namespace: o.namespace };
    return o.kind === 'Cluster'
      ? withDefaults({ ...o.value, metadata } as Parameters<typeof withDefaults>[0])
      : SecretSchema.parse({ ...o.value, metadata });
  });
  return { objects, problems: [] };
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.line}:${p.column}:${p.path}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Parse and validate a bootstrap file. Returns the objects to create (defaults applied) or every
 * problem found, each with file, line and column. Never throws.
 */
export function parseBootstrap(
  text: string,
  fileName: string,
  options: BootstrapOptions = {},
): BootstrapResult {
  const source = typeof text === 'string' ? text : String(text);
  try {
    return parse(source, fileName, options);
  } catch (e) {
    const deep = e instanceof RangeError;
    return {
      objects: [],
      problems: [
        {
          path: '',
          file: fileName,
          line: 1,
          column: 1,
          rule: deep ? 'yamlLimit' : 'internal',
          message: deep
            ? 'the file is nested too deeply to read'
            : `the validator failed (${e instanceof Error ? e.name : 'error'}); this is a KaaS bug, please report it`,
        },
      ],
    };
  }
}
