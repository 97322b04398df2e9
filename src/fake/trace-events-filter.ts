// Event filters as kernel/trace/trace_events_filter.c parses and applies them, for the fake's
// tracefs: predicates `field op value` joined with && and || (predicate_parse), with "!" and
// parentheses. parse_pred: a quoted value needs a string field (else "Expecting numeric
// field") and ==, != or ~ (else "Illegal operation for field type"); a number needs a
// non-string field (else "Expecting string field") and no ~; anything else is "Invalid value
// (did you forget quotes)?"; an unknown field is "Field not found"; a missing operator
// "Invalid operator". ~ is a glob (filter_parse_regex: a leading "!" negates; *, ?, [] as
// glob_match). Numbers are kstrtoll/kstrtoull base 0. Every error is EINVAL, and the filter
// file then shows the string, a caret and "parse_error: <text>" (append_filter_err); the
// caret position is approximate here.
// Not modelled: the cpumask, function and "comm"/"cpu" pseudo-field extras beyond equality,
// the 24-character number buffer, subsystem-wide error texts.

export interface FilterField {
  name: string;
  kind: 'int' | 'string';
}

export type FilterRecord = Record<string, number | string>;

type Node =
  | { t: 'or' | 'and'; a: Node; b: Node }
  | { t: 'not'; a: Node }
  | { t: 'pred'; field: FilterField; op: string; value: number | string | RegExp; negate: boolean };

export class FilterParseError extends Error {
  constructor(
    readonly text: string,
    readonly pos: number,
  ) {
    super(text);
  }
}

export interface CompiledFilter {
  /** The filter as the kernel keeps it (the written string, trailing whitespace stripped). */
  source: string;
  match(rec: FilterRecord): boolean;
}

const OPS = ['~', '!=', '==', '<=', '<', '>=', '>', '&'];

/** glob_match() (lib/glob.c) as a RegExp: *, ?, [...] and [!...]. */
function globRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^]*';
    else if (c === '?') re += '[^]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, end);
        const neg = body.startsWith('!');
        if (neg) body = body.slice(1);
        re += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => '\\' + m)}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, (m) => '\\' + m);
  }
  return new RegExp(re + '$', 's');
}

/** Parses FILTER for an event with FIELDS; throws FilterParseError (the kernel's EINVAL). */
export function compileFilter(written: string, fields: readonly FilterField[]): CompiledFilter {
  const src = written.replace(/\s+$/, '');
  let i = 0;
  const fail = (text: string, pos = i): never => {
    throw new FilterParseError(text, pos);
  };
  const ws = (): void => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  // calc_stack: quotes and parentheses first.
  {
    let quote = '';
    let open = 0;
    for (let k = 0; k < src.length; k++) {
      const c = src[k]!;
      if (quote) {
        if (c === quote) quote = '';
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (c === '(') open++;
      else if (c === ')' && --open < 0) fail("Too few '('", k);
    }
    if (quote) fail('Missing matching quote', src.lastIndexOf(quote));
    if (open > 0) fail("Too many '('", src.lastIndexOf('('));
  }
  const pred = (): Node => {
    ws();
    const s = i;
    while (i < src.length && /[A-Za-z0-9_]/.test(src[i]!)) i++;
    if (i === s) fail('Meaningless filter expression');
    const name = src.slice(s, i);
    const field = fields.find((f) => f.name === name);
    if (!field) fail('Field not found');
    ws();
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) fail('Invalid operator');
    i += op!.length;
    ws();
    const q = src[i];
    if (q === '"' || q === "'") {
      if (!['==', '!=', '~'].includes(op!)) fail('Illegal operation for field type');
      if (field!.kind !== 'string') fail('Expecting numeric field');
      const end = src.indexOf(q, i + 1);
      let value = src.slice(i + 1, end);
      i = end + 1;
      if (value.length >= 256) fail('Operand too long');
      let negate = op === '!=';
      if (op === '~') {
        if (value.startsWith('!')) {
          negate = true;
          value = value.slice(1);
        }
        return { t: 'pred', field: field!, op, value: globRegExp(value), negate };
      }
      return { t: 'pred', field: field!, op: '==', value, negate };
    }
    if (q !== undefined && (/[0-9]/.test(q) || q === '-')) {
      if (field!.kind === 'string') fail('Expecting string field');
      if (op === '~') fail('Illegal operation for field type');
      const s2 = i;
      if (src[i] === '-') i++;
      while (i < src.length && /[A-Za-z0-9]/.test(src[i]!)) i++;
      const text = src.slice(s2, i);
      const neg = text.startsWith('-');
      const body = neg ? text.slice(1) : text;
      // kstrtoll base 0: 0x hex, leading 0 octal, else decimal.
      const value = /^0[xX][0-9a-fA-F]+$/.test(body) ? parseInt(body, 16) : /^0[0-7]*$/.test(body) ? parseInt(body || '0', 8) : /^[1-9][0-9]*$/.test(body) ? parseInt(body, 10) : NaN;
      if (Number.isNaN(value)) fail('Illegal integer value', s2);
      return { t: 'pred', field: field!, op: op!, value: neg ? -value : value, negate: op === '!=' };
    }
    return fail('Invalid value (did you forget quotes)?');
  };
  const factor = (): Node => {
    ws();
    if (src[i] === '!' && src[i + 1] !== '=' && src[i + 1] !== '~') {
      i++;
      return { t: 'not', a: factor() };
    }
    if (src[i] === '(') {
      i++;
      const e = expr();
      ws();
      if (src[i] !== ')') fail("Too many '('");
      i++;
      return e;
    }
    return pred();
  };
  const term = (): Node => {
    let a = factor();
    for (ws(); src.startsWith('&&', i); ws()) {
      i += 2;
      a = { t: 'and', a, b: factor() };
    }
    return a;
  };
  const expr = (): Node => {
    let a = term();
    for (ws(); src.startsWith('||', i); ws()) {
      i += 2;
      a = { t: 'or', a, b: term() };
    }
    return a;
  };
  const tree = expr();
  ws();
  if (i < src.length) fail('Meaningless filter expression');
  return { source: src, match: (rec) => evaluate(tree, rec) };
}

function evaluate(n: Node, rec: FilterRecord): boolean {
  switch (n.t) {
    case 'or':
      return evaluate(n.a, rec) || evaluate(n.b, rec);
    case 'and':
      return evaluate(n.a, rec) && evaluate(n.b, rec);
    case 'not':
      return !evaluate(n.a, rec);
    case 'pred': {
      const v = rec[n.field.name];
      let r: boolean;
      if (n.value instanceof RegExp) r = typeof v === 'string' && n.value.test(v);
      else if (typeof n.value === 'string') r = v === n.value;
      else {
        const x = Number(v);
        const y = n.value;
        r = n.op === '==' || n.op === '!=' ? x === y : n.op === '<' ? x < y : n.op === '<=' ? x <= y : n.op === '>' ? x > y : n.op === '>=' ? x >= y : (x & y) !== 0;
      }
      return n.negate ? !r : r;
    }
  }
}

/** What the filter file shows after a failed write (append_filter_err + print_event_filter). */
export function filterErrorText(source: string, e: FilterParseError): string {
  let pos = Math.min(e.pos, source.length);
  if (pos) pos++;
  return `${source}\n${'^'.padStart(Math.max(pos, 1))}\nparse_error: ${e.text}\n`;
}
