// `epctl save`: the board's pci_ep state as a config, and that config written into an existing
// YAML file without losing its comments or order (the yaml package's Document keeps both):
// functions are matched by driver and name and updated in place, gone ones removed, new ones
// appended. What a config cannot say (virtual-function links, an attribute whose show()
// fails) is left out and reported.
import { isMap, isSeq, parseDocument, Scalar, type YAMLMap, type Document } from 'yaml';
import { kstrtoll } from '../configfs/values.js';
import { HEADER_FIELDS, type HeaderField } from '../configfs/header.js';
import { attributeText, type PciEpState, type AttributeRead } from '../configfs/observe.js';
import { CONFIG_VERSION, type Config, type FunctionConfig } from './schema.js';


/** The read-back value without the newline the kernel's show() ends it with. */
const text = (a: AttributeRead | undefined): string | undefined => attributeText(a)?.replace(/\n$/, '');

/** A read-back value as the config writes it: a number where the kernel printed one. */
function valueOf(t: string): number | string {
  const r = kstrtoll(t);
  return r.ok && r.value >= BigInt(Number.MIN_SAFE_INTEGER) && r.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r.value) : t;
}

export interface SavedConfig {
  config: Config;
  /** What the board has that the config leaves out, one sentence each. */
  omitted: string[];
}

/** The board as a config. Type-group values 0 and -1 are the unset values of every type group the kernel has (counts, mwN, *_bar = NO_BAR): left out. */
export function configFromBoard(pciEp: PciEpState): SavedConfig {
  const omitted: string[] = [];
  const controllers: NonNullable<Config['controllers']> = {};
  for (const c of pciEp.controllers) {
    const s = text(c.files['start']);
    if (s === '0' || s === '1') controllers[c.name] = { start: s === '1' };
  }
  const functions: FunctionConfig[] = pciEp.functions.map((f) => {
    const fc: FunctionConfig = { driver: f.driver, name: f.name };
    const linkedBy = f.controllers[0];
    if (f.primary) {
      fc.primary = f.primary;
      if (f.secondary) fc.secondary = f.secondary;
    } else if (linkedBy) fc.controller = linkedBy;
    else if (f.secondary) omitted.push(`${f.driver}/${f.name}: linked only through secondary/ ${f.secondary}, which a config cannot ask for (it crashes the kernel on unlink)`);
    const header: Partial<Record<HeaderField, number>> = {};
    for (const a of HEADER_FIELDS) {
      const t = text(f.attributes[a.name]);
      const v = t === undefined ? undefined : valueOf(t);
      if (typeof v === 'number') header[a.name as HeaderField] = v;
    }
    if (Object.keys(header).length) fc.header = header;
    for (const name of ['msi_interrupts', 'msix_interrupts'] as const) {
      const t = text(f.attributes[name]);
      const v = t === undefined ? undefined : valueOf(t);
      if (typeof v === 'number' && v > 0) fc[name] = v;
    }
    if (f.typeGroup) {
      const type: Record<string, number | string> = {};
      for (const [name, a] of Object.entries(f.typeGroup.attributes)) {
        const t = text(a);
        if (t === undefined || t === '0' || t === '-1') continue;
        type[name] = valueOf(t);
      }
      if (Object.keys(type).length) fc.type = type;
    }
    if (f.virtualFunctions.length) omitted.push(`${f.driver}/${f.name}: its virtual functions (${f.virtualFunctions.join(', ')}), which configs do not describe yet`);
    return fc;
  });
  return { config: { version: CONFIG_VERSION, ...(Object.keys(controllers).length ? { controllers } : {}), functions }, omitted };
}

const HEX = new Set<string>(HEADER_FIELDS.map((a) => a.name));

/** A YAML node for VALUE under KEY: header fields in hex, as the kernel prints them. */
function node(doc: Document, key: string, value: unknown): unknown {
  const n = doc.createNode(value);
  hexify(n, key);
  return n;
}

function hexify(n: unknown, key: string): void {
  if (n instanceof Scalar && typeof n.value === 'number' && HEX.has(key)) n.format = 'HEX';
  else if (isMap(n)) for (const item of n.items) hexify(item.value, String((item.key as Scalar)?.value ?? item.key));
  else if (isSeq(n)) for (const item of n.items) hexify(item, '');
}

/** Sets MAP to exactly VALUE's keys, keeping the nodes (and their comments) of keys that stay. */
function syncMap(doc: Document, map: YAMLMap, value: Record<string, unknown>): void {
  for (const item of [...map.items]) {
    const k = String((item.key as Scalar)?.value ?? item.key);
    if (!(k in value)) map.delete(item.key);
  }
  for (const [k, v] of Object.entries(value)) {
    const cur = map.get(k, true);
    if (v !== null && typeof v === 'object' && isMap(cur)) syncMap(doc, cur, v as Record<string, unknown>);
    else if (cur instanceof Scalar && cur.value === v) continue;
    else map.set(k, node(doc, k, v));
  }
}

/**
 * CONFIG as YAML. With EXISTING (the file's current text), its comments, key order and the
 * order of its functions are kept; `auto` stays when it still names the board's only controller.
 */
export function renderConfig(config: Config, existing?: string): string {
  const doc = existing === undefined ? parseDocument('version: 1\n') : parseDocument(existing);
  if (!isMap(doc.contents)) return renderConfig(config);
  const root = doc.contents as unknown as YAMLMap<unknown, unknown>;
  root.set('version', config.version);
  const names = Object.keys(config.controllers ?? {});
  const usesAuto = isMap(root.get('controllers', true)) && (root.get('controllers', true) as unknown as YAMLMap).has('auto');
  const auto = usesAuto && names.length === 1 ? names[0] : undefined;
  const ctrl = (n: string | undefined): string | undefined => (n !== undefined && n === auto ? 'auto' : n);
  if (config.controllers) {
    const value = Object.fromEntries(Object.entries(config.controllers).map(([k, v]) => [ctrl(k)!, v]));
    const cur = root.get('controllers', true);
    if (isMap(cur)) syncMap(doc, cur, value);
    else root.set('controllers', node(doc, 'controllers', value));
  } else root.delete('controllers');

  const wanted = (config.functions ?? []).map((f) => {
    const o: Record<string, unknown> = { ...f };
    for (const k of ['controller', 'primary', 'secondary'] as const) if (f[k] !== undefined) o[k] = ctrl(f[k]);
    return o;
  });
  let seq = root.get('functions', true);
  if (!isSeq(seq)) {
    root.set('functions', doc.createNode([]));
    seq = root.get('functions', true);
  }
  if (!isSeq(seq)) throw new Error('unreachable: functions is a sequence');
  const keyOf = (m: unknown): string | undefined => (isMap(m) ? `${String(m.get('driver'))}/${String(m.get('name'))}` : undefined);
  const byKey = new Map(wanted.map((w) => [`${w['driver']}/${w['name']}`, w]));
  seq.items = seq.items.filter((item) => byKey.has(keyOf(item) ?? ''));
  for (const item of seq.items) {
    const w = byKey.get(keyOf(item)!)!;
    // A wish the board cannot show (doorbells are asked for, not stored in configfs) stays as written.
    const doorbell = (item as YAMLMap).get('doorbell');
    if (typeof doorbell === 'boolean' && !('doorbell' in w)) w['doorbell'] = doorbell;
    syncMap(doc, item as YAMLMap, w);
  }
  const have = new Set(seq.items.map(keyOf));
  for (const w of wanted) if (!have.has(`${w['driver']}/${w['name']}`)) seq.items.push(node(doc, '', w) as YAMLMap);
  return doc.toString({ lineWidth: 0 });
}
