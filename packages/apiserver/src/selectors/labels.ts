// Label selectors exactly as apimachinery/pkg/labels parses and matches them: the same lexer,
// grammar (=, ==, !=, in, notin, exists, !key, gt, lt), validation and error messages, which reach
// kubectl as a 400 BadRequest.
import { errors } from '../errors.ts';
import { isQualifiedName, isValidLabelValue } from '../registry/names.ts';

export type LabelOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** Sorted, as upstream keeps them in a string set. */
  values: readonly string[];
}

export interface LabelSelector {
  /** ANDed; sorted by key. Empty matches everything. */
  requirements: readonly LabelRequirement[];
  /** metav1.LabelSelectorAsSelector(nil) selects nothing. */
  nothing?: boolean;
}

export const everything: LabelSelector = { requirements: [] };
export const nothing: LabelSelector = { requirements: [], nothing: true };

const binaryOperators = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];

type Token = 'error' | 'eos' | ')' | ',' | '!' | '==' | '=' | '>' | 'id' | 'in' | '<' | '!=' | 'notin' | '(';

const string2token: Record<string, Token> = {
  ')': ')',
  ',': ',',
  '!': '!',
  '==': '==',
  '=': '=',
  '>': '>',
  in: 'in',
  '<': '<',
  '!=': '!=',
  notin: 'notin',
  '(': '(',
};

interface Item {
  tok: Token;
  lit: string;
}

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function isSpecialSymbol(ch: string): boolean {
  return ch === '=' || ch === '!' || ch === '(' || ch === ')' || ch === ',' || ch === '>' || ch === '<';
}

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos]!)) pos++;
    if (pos >= s.length) {
      items.push({ tok: 'eos', lit: '' });
      return items;
    }
    if (isSpecialSymbol(s[pos]!)) {
      let buffer = '';
      let last: Item | undefined;
      while (pos < s.length && isSpecialSymbol(s[pos]!)) {
        buffer += s[pos];
        const tok = string2token[buffer];
        if (tok) {
          last = { tok, lit: buffer };
          pos++;
        } else if (last) {
          break;
        } else {
          pos++;
        }
      }
      items.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buffer}'` });
      continue;
    }
    let buffer = '';
    while (pos < s.length && !isSpecialSymbol(s[pos]!) && !isWhitespace(s[pos]!)) buffer += s[pos++];
    const tok = string2token[buffer];
    items.push({ tok: tok ?? 'id', lit: buffer });
  }
}

class Parser {
  readonly #items: Item[];
  #pos = 0;

  constructor(s: string) {
    this.#items = lex(s);
  }

  /** In the values context, 'in' and 'notin' are plain identifiers. */
  #lookahead(values: boolean): Item {
    const it = this.#items[this.#pos]!;
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'id', lit: it.lit } : it;
  }

  #consume(values: boolean): Item {
    const it = this.#lookahead(values);
    this.#pos++;
    return it;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.#lookahead(true);
      switch (tok) {
        case 'id':
        case '!': {
          let r: LabelRequirement;
          try {
            r = this.#requirement();
          } catch (e) {
            throw new Error(`unable to parse requirement: ${(e as Error).message}`);
          }
          reqs.push(r);
          const next = this.#consume(true);
          if (next.tok === 'eos') return reqs;
          if (next.tok === ',') {
            const after = this.#lookahead(true);
            if (after.tok !== 'id' && after.tok !== '!')
              throw new Error(`found '${after.lit}', expected: identifier after ','`);
            continue;
          }
          throw new Error(`found '${next.lit}', expected: ',' or 'end of string'`);
        }
        case 'eos':
          return reqs;
        default:
          throw new Error(`found '${lit}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  #requirement(): LabelRequirement {
    let operator: LabelOperator | undefined;
    let { tok, lit } = this.#consume(true);
    if (tok === '!') {
      operator = '!';
      ({ tok, lit } = this.#consume(true));
    }
    if (tok !== 'id') throw new Error(`found '${lit}', expected: identifier`);
    const keyErrs = isQualifiedName(lit);
    if (keyErrs.length) throw new Error(`: Invalid value: ${JSON.stringify(lit)}: ${keyErrs.join('; ')}`);
    const key = lit;
    const t = this.#lookahead(true).tok;
    if (t === 'eos' || t === ',') return newRequirement(key, operator ?? 'exists', []);
    if (operator === '!') return newRequirement(key, '!', []);
    const op = this.#operator();
    const values = op === 'in' || op === 'notin' ? this.#values() : this.#exactValue();
    return newRequirement(key, op, [...values].sort());
  }

  #operator(): LabelOperator {
    const { tok, lit } = this.#consume(false);
    switch (tok) {
      case 'in':
        return 'in';
      case '=':
        return '=';
      case '==':
        return '==';
      case '>':
        return 'gt';
      case '<':
        return 'lt';
      case 'notin':
        return 'notin';
      case '!=':
        return '!=';
      default:
        throw new Error(`found '${lit}', expected: ${binaryOperators.join(', ')}`);
    }
  }

  #values(): Set<string> {
    const open = this.#consume(true);
    if (open.tok !== '(') throw new Error(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.#lookahead(true);
    if (tok === 'id' || tok === ',') {
      const s = this.#identifiers();
      if (this.#consume(true).tok !== ')') throw new Error(`found '${lit}', expected: ')'`);
      return s;
    }
    if (tok === ')') {
      this.#consume(true);
      return new Set(['']);
    }
    throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
  }

  #identifiers(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const { tok, lit } = this.#consume(true);
      if (tok === 'id') {
        s.add(lit);
        const next = this.#lookahead(true);
        if (next.tok === ',') continue;
        if (next.tok === ')') return s;
        throw new Error(`found '${next.lit}', expected: ',' or ')'`);
      }
      if (tok === ',') {
        if (s.size === 0) s.add('');
        const next = this.#lookahead(true);
        if (next.tok === ')') {
          s.add('');
          return s;
        }
        if (next.tok === ',') {
          this.#consume(true);
          s.add('');
        }
        continue;
      }
      throw new Error(`found '${lit}', expected: ',', or identifier`);
    }
  }

  #exactValue(): Set<string> {
    const { tok } = this.#lookahead(true);
    if (tok === 'eos' || tok === ',') return new Set(['']);
    const it = this.#consume(true);
    if (it.tok === 'id') return new Set([it.lit]);
    throw new Error(`found '${it.lit}', expected: identifier`);
  }
}

/** labels.NewRequirement's checks; throws with upstream's aggregated field-error text. */
function newRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const errs: string[] = [];
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length) errs.push(`key: Invalid value: ${JSON.stringify(key)}: ${keyErrs.join('; ')}`);
  const valuesJSON = `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0)
        errs.push(
          `values: Invalid value: ${valuesJSON}: for 'in', 'notin' operators, values set can't be empty`,
        );
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1)
        errs.push(
          `values: Invalid value: ${valuesJSON}: exact-match compatibility requires one single value`,
        );
      break;
    case 'exists':
    case '!':
      if (values.length !== 0)
        errs.push(
          `values: Invalid value: ${valuesJSON}: values set must be empty for exists and does not exist`,
        );
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1)
        errs.push(
          `values: Invalid value: ${valuesJSON}: for 'Gt', 'Lt' operators, exactly one value is required`,
        );
      values.forEach((v, i) => {
        if (!/^[+-]?\d+$/.test(v)) {
          errs.push(
            `values[${i}]: Invalid value: ${JSON.stringify(v)}: for 'Gt', 'Lt' operators, the value must be an integer`,
          );
        }
      });
      break;
  }
  values.forEach((v, i) => {
    const vErrs = isValidLabelValue(v);
    if (vErrs.length)
      errs.push(`values[${i}][${key}]: Invalid value: ${JSON.stringify(v)}: ${vErrs.join('; ')}`);
  });
  if (errs.length === 1) throw new Error(errs[0]);
  if (errs.length > 1) throw new Error(`[${errs.join(', ')}]`);
  return { key, operator, values };
}

function sortByKey(reqs: LabelRequirement[]): LabelRequirement[] {
  return reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Parses a labelSelector query parameter; throws a 400 StatusError with upstream's message. */
export function parseLabelSelector(s: string): LabelSelector {
  try {
    return { requirements: sortByKey(new Parser(s).parse()) };
  } catch (e) {
    throw errors.badRequest((e as Error).message);
  }
}

interface MetaLabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
}

const expressionOperators: Record<string, LabelOperator> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/**
 * metav1.LabelSelectorAsSelector: null selects nothing, {} everything. Throws a 400 StatusError
 * for an invalid operator, key or value.
 */
export function labelSelectorFromObject(sel: MetaLabelSelector | null | undefined): LabelSelector {
  if (sel === null || sel === undefined) return nothing;
  const reqs: LabelRequirement[] = [];
  try {
    for (const [k, v] of Object.entries(sel.matchLabels ?? {}))
      reqs.push(newRequirement(k, '=', [String(v)]));
    for (const e of sel.matchExpressions ?? []) {
      const op = expressionOperators[e.operator];
      if (!op) throw new Error(`${JSON.stringify(e.operator)} is not a valid label selector operator`);
      reqs.push(newRequirement(e.key, op, [...(e.values ?? [])]));
    }
  } catch (err) {
    throw errors.badRequest((err as Error).message);
  }
  return { requirements: sortByKey(reqs) };
}

function requirementMatches(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return has && r.values.includes(v!);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(v!);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^[+-]?\d+$/.test(v!) || r.values.length !== 1) return false;
      const lv = BigInt(v!);
      const rv = BigInt(r.values[0]!);
      return r.operator === 'gt' ? lv > rv : lv < rv;
    }
  }
}

export function matches(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (selector.nothing) return false;
  const ls = labels ?? {};
  return selector.requirements.every((r) => requirementMatches(r, ls));
}

function requirementString(r: LabelRequirement): string {
  const values = r.values.length === 1 ? r.values[0]! : [...r.values].sort().join(',');
  switch (r.operator) {
    case '!':
      return `!${r.key}`;
    case 'exists':
      return r.key;
    case 'in':
    case 'notin':
      return `${r.key} ${r.operator} (${values})`;
    case 'gt':
      return `${r.key}>${values}`;
    case 'lt':
      return `${r.key}<${values}`;
    default:
      return `${r.key}${r.operator}${values}`;
  }
}

/** labels.Selector.String(): requirements in key order, comma-joined ('' for everything). */
export function labelSelectorString(selector: LabelSelector): string {
  return selector.requirements.map(requirementString).join(',');
}
