// A strict parser of the Prometheus text exposition format 0.0.4, written from its spec
// (https://prometheus.io/docs/instrumenting/exposition_formats/, "Text format details"), to
// check what the agent's /metrics serves. Strict: what the spec says must or must not be is
// an error here, with the line number:
// - lines end with \n, the last one too; empty lines are ignored; within a line tokens are
//   separated by blanks or tabs, leading and trailing ones ignored;
// - `# HELP name docstring` (docstring escapes: \\ and \n only) and `# TYPE name type` (counter,
//   gauge, histogram, summary, untyped), at most one each per metric name, before its first
//   sample; other `#` lines are comments;
// - a sample is `metric_name [{label="value",...}] value [timestamp]`; metric names
//   [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* (no `__` prefix: reserved); a
//   label value is any UTF-8 with \\, \" and \n escaped (no other escape); a trailing comma is
//   allowed; value a float (Go ParseFloat syntax: NaN, +Inf, -Inf in any case); timestamp an int64
//   of milliseconds;
// - all lines of a metric form one group, HELP and TYPE first; each name and label set once;
// - a histogram x: x_bucket samples with an `le` label in increasing order, non-decreasing,
//   one le="+Inf" equal to x_count, then x_sum and x_count; a summary x: x{quantile} in
//   increasing order, x_sum, x_count (both per label set of the other labels).
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface MetricFamily {
  name: string;
  help?: string;
  type: MetricType;
  samples: Sample[];
}

export class PromParseError extends Error {
  /** LINE: 1-based; undefined for a whole-family check (histogram buckets, summary quantiles). */
  constructor(
    readonly line: number | undefined,
    message: string,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
/** Go's ParseFloat: decimals, and NaN, Inf, Infinity in any case, the latter two signed (strconv docs). Hex floats are not taken: no client library writes them. */
const FLOAT = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity)$|^nan$/i;
const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';

/** A float as the format writes it: NaN, +Inf, -Inf or a decimal. */
export function parseFloatToken(t: string, line: number | undefined): number {
  if (!FLOAT.test(t)) throw new PromParseError(line, `not a float: ${JSON.stringify(t)}`);
  if (/^nan$/i.test(t)) return NaN;
  if (/inf(inity)?$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  return Number(t);
}

/** The docstring of a HELP line, unescaped (\\ and \n; any other backslash is an error). */
function unescapeHelp(s: string, line: number): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = s[++i];
    if (n === '\\') out += '\\';
    else if (n === 'n') out += '\n';
    else throw new PromParseError(line, `HELP: bad escape \\${n ?? '(end of line)'}`);
  }
  return out;
}

/** One sample line, read with a cursor. */
function parseSample(text: string, line: number): Sample {
  let i = 0;
  const skip = (): void => {
    while (isBlank(text[i])) i++;
  };
  const word = (re: RegExp): string => {
    const start = i;
    while (i < text.length && re.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  skip();
  const name = word(/[a-zA-Z0-9_:]/);
  if (!METRIC_NAME.test(name)) throw new PromParseError(line, `bad metric name ${JSON.stringify(name)}`);
  const labels: Record<string, string> = {};
  const afterName = i;
  skip();
  if (text[i] !== '{') i = afterName;
  else {
    i++;
    for (;;) {
      skip();
      if (text[i] === '}') {
        i++;
        break;
      }
      const label = word(/[a-zA-Z0-9_]/);
      if (!LABEL_NAME.test(label)) throw new PromParseError(line, `bad label name ${JSON.stringify(label)} at column ${i + 1}`);
      if (label.startsWith('__')) throw new PromParseError(line, `label name ${label}: names starting with __ are reserved`);
      if (Object.hasOwn(labels, label)) throw new PromParseError(line, `label ${label} given twice`);
      skip();
      if (text[i] !== '=') throw new PromParseError(line, `expected = after label ${label}`);
      i++;
      skip();
      if (text[i] !== '"') throw new PromParseError(line, `expected " to open the value of label ${label}`);
      i++;
      let value = '';
      for (;;) {
        const c = text[i++];
        if (c === undefined) throw new PromParseError(line, `label ${label}: value not closed`);
        if (c === '"') break;
        if (c === '\\') {
          const n = text[i++];
          if (n === '\\') value += '\\';
          else if (n === '"') value += '"';
          else if (n === 'n') value += '\n';
          else throw new PromParseError(line, `label ${label}: bad escape \\${n ?? '(end of line)'}`);
        } else value += c;
      }
      labels[label] = value;
      skip();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        break;
      }
      throw new PromParseError(line, `expected , or } after the value of label ${label}`);
    }
  }
  const rest = text.slice(i);
  if (rest !== '' && !isBlank(rest[0])) throw new PromParseError(line, `expected a blank before the value, found ${JSON.stringify(rest[0])}`);
  const tokens = rest.split(/[ \t]+/).filter((t) => t !== '');
  if (tokens.length < 1 || tokens.length > 2) throw new PromParseError(line, `expected a value and an optional timestamp, found ${tokens.length} tokens`);
  const value = parseFloatToken(tokens[0]!, line);
  const sample: Sample = { name, labels, value };
  if (tokens[1] !== undefined) {
    if (!/^-?\d{1,19}$/.test(tokens[1])) throw new PromParseError(line, `bad timestamp ${JSON.stringify(tokens[1])}`);
    sample.timestamp = Number(tokens[1]);
  }
  return sample;
}

/** The family a sample name belongs to, given the TYPEs seen. */
function familyOf(name: string, types: Map<string, MetricType>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const t = types.get(base);
    if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
  }
  return name;
}

const key = (labels: Record<string, string>, without?: string): string =>
  JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => k !== without)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );

function checkHistogramOrSummary(f: MetricFamily): void {
  const bound = f.type === 'histogram' ? 'le' : 'quantile';
  const series = new Map<string, { bounds: Array<[number, number]>; sum?: number; count?: number }>();
  const get = (k: string) => series.get(k) ?? (series.set(k, { bounds: [] }), series.get(k)!);
  for (const s of f.samples) {
    const suffix = s.name.slice(f.name.length);
    if ((f.type === 'histogram' && suffix === '_bucket') || (f.type === 'summary' && suffix === '')) {
      const b = s.labels[bound];
      if (b === undefined) throw new PromParseError(undefined, `${s.name}: no ${bound} label`);
      get(key(s.labels, bound)).bounds.push([parseFloatToken(b, undefined), s.value]);
    } else if (suffix === '_sum') get(key(s.labels)).sum = s.value;
    else if (suffix === '_count') get(key(s.labels)).count = s.value;
    else throw new PromParseError(undefined, `${s.name} is not a sample of ${f.type} ${f.name}`);
  }
  for (const [k, s] of series) {
    for (let j = 1; j < s.bounds.length; j++) {
      if (!(s.bounds[j]![0] > s.bounds[j - 1]![0])) throw new PromParseError(undefined, `${f.name}${k}: ${bound} values not in increasing order`);
      if (f.type === 'histogram' && s.bounds[j]![1] < s.bounds[j - 1]![1]) throw new PromParseError(undefined, `${f.name}${k}: bucket counts decrease (buckets are cumulative)`);
    }
    if (s.sum === undefined || s.count === undefined) throw new PromParseError(undefined, `${f.name}${k}: ${f.name}_sum and ${f.name}_count are both needed`);
    if (f.type === 'histogram') {
      const inf = s.bounds.at(-1);
      if (!inf || inf[0] !== Infinity) throw new PromParseError(undefined, `${f.name}${k}: no le="+Inf" bucket (it is mandatory)`);
      if (inf[1] !== s.count) throw new PromParseError(undefined, `${f.name}${k}: le="+Inf" bucket ${inf[1]} differs from ${f.name}_count ${s.count}`);
    }
  }
}

/** The metric families of TEXT, in order; a PromParseError at the first thing the spec forbids. */
export function parsePromText(text: string): Map<string, MetricFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new PromParseError(text.split('\n').length, 'the last line does not end with a line feed');
  const families = new Map<string, MetricFamily>();
  const types = new Map<string, MetricType>();
  const helps = new Map<string, string>();
  /** Families whose group ended (another family's line came after). */
  const closed = new Set<string>();
  let current: string | undefined;
  const seen = new Set<string>();
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((raw, n) => {
    const line = n + 1;
    const trimmed = raw.replace(/^[ \t]+/, '');
    if (trimmed.replace(/[ \t]+$/, '') === '') return;
    if (trimmed.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(trimmed);
      if (!m) return; // a comment
      const [, kind, name, rest = ''] = m as unknown as [string, 'HELP' | 'TYPE', string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new PromParseError(line, `${kind}: bad metric name ${JSON.stringify(name)}`);
      if (families.has(name) && families.get(name)!.samples.length > 0) throw new PromParseError(line, `${kind} ${name} after its samples`);
      if (current !== name) {
        if (closed.has(name)) throw new PromParseError(line, `lines of ${name} are not one group`);
        if (current !== undefined) closed.add(current);
        current = name;
      }
      if (kind === 'HELP') {
        if (helps.has(name)) throw new PromParseError(line, `a second HELP for ${name}`);
        helps.set(name, unescapeHelp(rest, line));
      } else {
        if (types.has(name)) throw new PromParseError(line, `a second TYPE for ${name}`);
        const t = rest.replace(/[ \t]+$/, '');
        if (!TYPES.includes(t as MetricType)) throw new PromParseError(line, `TYPE ${name}: unknown type ${JSON.stringify(t)}`);
        types.set(name, t as MetricType);
      }
      return;
    }
    const s = parseSample(raw, line);
    const fam = familyOf(s.name, types);
    // The family's own HELP/TYPE group, or a new untyped one.
    if (current !== fam) {
      if (closed.has(fam)) throw new PromParseError(line, `lines of ${fam} are not one group`);
      if (current !== undefined) closed.add(current);
      current = fam;
    }
    let f = families.get(fam);
    if (!f) {
      f = { name: fam, type: types.get(fam) ?? 'untyped', samples: [], ...(helps.has(fam) ? { help: helps.get(fam)! } : {}) };
      families.set(fam, f);
    }
    const id = `${s.name}${key(s.labels)}`;
    if (seen.has(id)) throw new PromParseError(line, `${s.name} with these labels is given twice`);
    seen.add(id);
    if ((f.type === 'counter' || f.type === 'gauge' || f.type === 'untyped') && s.name !== fam) throw new PromParseError(line, `${s.name} in ${f.type} ${fam}`);
    if (f.type === 'counter' && s.value < 0) throw new PromParseError(line, `counter ${fam} is negative`);
    f.samples.push(s);
  });
  // HELP or TYPE with no samples: a family with none (a labelled metric nothing set yet).
  for (const name of new Set([...helps.keys(), ...types.keys()]))
    if (!families.has(name)) families.set(name, { name, type: types.get(name) ?? 'untyped', samples: [], ...(helps.has(name) ? { help: helps.get(name)! } : {}) });
  for (const f of families.values()) if ((f.type === 'histogram' || f.type === 'summary') && f.samples.length > 0) checkHistogramOrSummary(f);
  return families;
}

/** Escapes a label value as the spec says a producer must (\\, \", \n): for the parser's own tests. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
