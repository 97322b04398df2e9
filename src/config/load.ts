// Reads a config file (YAML, or JSON, which YAML reads too) into a checked Config. Every error
// names the file, line and column, the field, and what would be valid; all of them are
// reported at once. The file is read bounded and never through a special file; YAML aliases
// are capped (the yaml package's maxAliasCount), so a hostile file cannot blow up memory.
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import { LineCounter, isNode, parseDocument, type Document } from 'yaml';
import { EpctlError } from '../kernel/errors.js';
import { readFdBounded } from '../kernel/node-fs.js';
import { EXIT } from '../exit-codes.js';
import { configSchema, type Config } from './schema.js';
import { driverFacts } from '../configfs/drivers.js';

export const DEFAULT_CONFIG = '/etc/epctl/epctl.yaml';
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ConfigIssue {
  line: number;
  column: number;
  /** Dotted path of the field (functions.0.msi_interrupts), "" for the whole file. */
  field: string;
  message: string;
}

/** The config file is not valid: every issue, with where it is. */
export class ConfigError extends EpctlError {
  readonly file: string;
  readonly issues: ConfigIssue[];
  constructor(file: string, issues: ConfigIssue[], hint = 'fix the file and run `epctl validate` again') {
    const first = issues[0]!;
    super(`${file}:${first.line}:${first.column}: ${first.field ? `${first.field}: ` : ''}${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`, { exitCode: EXIT.CONFIG, hint });
    this.file = file;
    this.issues = issues;
  }
}

async function readConfigFile(file: string): Promise<string> {
  const refuse = (message: string, hint: string, _cause?: unknown) => new ConfigError(file, [{ line: 1, column: 1, field: '', message }], hint);
  const st = await fs.stat(file).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error)
    throw refuse(st.code === 'ENOENT' ? 'no such file' : `cannot read it (${st.code})`, st.code === 'ENOENT' ? `write one (see the README), or give another with -c FILE` : 'check its permissions', st);
  if (st.isDirectory()) throw refuse('is a directory', 'give the config file itself, e.g. -c /etc/epctl/epctl.yaml');
  if (!st.isFile()) throw refuse('is not a regular file', 'give a regular file');
  if (st.size > MAX_CONFIG_BYTES) throw refuse(`is ${st.size} bytes; a config is at most ${MAX_CONFIG_BYTES}`, 'give the config file itself');
  // O_NONBLOCK: if the file was swapped for a FIFO since the stat, the open does not wait.
  const fh = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await fh.stat()).isFile()) throw refuse('is not a regular file', 'give a regular file');
    const bytes = await readFdBounded(fh, MAX_CONFIG_BYTES, st.size);
    if (bytes.length > MAX_CONFIG_BYTES) throw refuse(`is larger than ${MAX_CONFIG_BYTES} bytes`, 'give the config file itself');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw refuse('is not UTF-8 text', 'save it as UTF-8');
    }
  } finally {
    await fh.close();
  }
}

/** Where a path of the document sits, as 1-based line and column; the nearest existing parent. */
function position(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): { line: number; column: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as (string | number)[], true);
    if (isNode(node) && node.range) {
      const p = counter.linePos(node.range[0]);
      return { line: p.line, column: p.col };
    }
  }
  return { line: 1, column: 1 };
}

/** Parses and checks config TEXT (from FILE, for messages). */
export function parseConfig(text: string, file: string): Config {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false, strict: true });
  const yamlIssues = [...doc.errors].map((e) => {
    const p = counter.linePos(e.pos[0]);
    return { line: p.line, column: p.col, field: '', message: e.message.split('\n')[0]! };
  });
  if (yamlIssues.length) throw new ConfigError(file, yamlIssues, 'fix the YAML syntax at that line');
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ConfigError(file, [{ line: 1, column: 1, field: '', message: (e as Error).message }]);
  }
  if (value === null || value === undefined) throw new ConfigError(file, [{ line: 1, column: 1, field: '', message: `is empty; a config starts with "version: 1"` }]);
  const parsed = configSchema.safeParse(value);
  if (!parsed.success)
    throw new ConfigError(
      file,
      parsed.error.issues.map((i) => ({ ...position(doc, counter, i.path), field: i.path.map(String).join('.'), message: i.message })),
    );
  const issues = crossChecks(parsed.data).map((i) => ({ ...position(doc, counter, i.path), field: i.path.join('.'), message: i.message }));
  if (issues.length) throw new ConfigError(file, issues);
  return parsed.data;
}


/** Rules across functions: names unique per driver, one shared header per driver, doorbell drivers. */
function crossChecks(config: Config): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const seen = new Map<string, number>();
  // pci-ep-cfs.c: the header lives in the driver (struct pci_epf_driver), shared by all its functions.
  const headers = new Map<string, { index: number; field: string; value: number }[]>();
  (config.functions ?? []).forEach((f, i) => {
    const key = `${f.driver}/${f.name}`;
    const first = seen.get(key);
    if (first !== undefined) out.push({ path: ['functions', i, 'name'], message: `${key} is already declared as functions.${first}` });
    else seen.set(key, i);
    for (const [field, value] of Object.entries(f.header ?? {})) {
      if (value === undefined) continue;
      const list = headers.get(f.driver) ?? [];
      const clash = list.find((h) => h.field === field && h.value !== value);
      if (clash)
        out.push({
          path: ['functions', i, 'header', field],
          message: `${f.driver} functions share one header in the kernel (pci-ep-cfs.c), and functions.${clash.index} already sets ${field} to 0x${clash.value.toString(16)}; give both the same value`,
        });
      list.push({ index: i, field, value });
      headers.set(f.driver, list);
    }
    if (f.doorbell && !driverFacts(f.driver).doorbell)
      out.push({ path: ['functions', i, 'doorbell'], message: `${f.driver} cannot own doorbells; only pci_epf_test and pci_epf_vntb use pci_epf_alloc_doorbell()` });
  });
  return out;
}

/** Reads and checks the config FILE. */
export async function loadConfig(file: string): Promise<Config> {
  return (await loadConfigText(file)).config;
}

/** Reads and checks the config FILE, with the text it was read from (the agent records its hash). */
export async function loadConfigText(file: string): Promise<{ text: string; config: Config }> {
  const text = await readConfigFile(file);
  return { text, config: parseConfig(text, file) };
}
