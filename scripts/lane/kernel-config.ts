// The lane's kernel config fragment and its check against the final .config: a Kconfig
// dependency can silently drop an option during olddefconfig, so every `=y` the fragment asks
// for is looked up in the result. Options the release's Kconfig does not define at all (e.g.
// PCI_ENDPOINT_MSI_DOORBELL before v6.17) are "not in this release", not failures.
import { createHash } from 'node:crypto';

export interface FragmentOption {
  readonly name: string;
  /** `y`, `m`, a string value, or `n` for `# CONFIG_X is not set`. */
  readonly value: string;
}

const SET = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# CONFIG_([A-Za-z0-9_]+) is not set$/;

/** Parses a fragment or a .config into its options (comments other than "is not set" skipped). */
export function parseConfig(text: string): FragmentOption[] {
  const out: FragmentOption[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const set = SET.exec(line);
    if (set) out.push({ name: set[1]!, value: set[2]! });
    const unset = UNSET.exec(line);
    if (unset) out.push({ name: unset[1]!, value: 'n' });
  }
  return out;
}

/** Hash of the fragment's options only (comments do not key the cache): 12 hex digits. */
export function fragmentHash(text: string): string {
  const lines = parseConfig(text).map((o) => (o.value === 'n' ? `# CONFIG_${o.name} is not set` : `CONFIG_${o.name}=${o.value}`));
  return createHash('sha256').update(`${lines.join('\n')}\n`).digest('hex').slice(0, 12);
}

/** Symbols a Kconfig file defines (`config X`, `menuconfig X`). */
export function kconfigSymbols(kconfigText: string): string[] {
  const out: string[] = [];
  for (const m of kconfigText.matchAll(/^\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$/gm)) out.push(m[1]!);
  return out;
}

export interface FragmentCheck {
  /** Options set as asked. */
  readonly ok: string[];
  /** Options the release defines but the final .config lost or changed: a failure. */
  readonly dropped: { name: string; wanted: string; got: string }[];
  /** Options this release's Kconfig does not define: reported, not a failure. */
  readonly notInRelease: string[];
}

/** Checks every fragment option against the final .config, given the release's Kconfig symbols. */
export function checkFragment(fragment: string, dotConfig: string, symbols: ReadonlySet<string>): FragmentCheck {
  const final = new Map(parseConfig(dotConfig).map((o) => [o.name, o.value]));
  const ok: string[] = [];
  const dropped: FragmentCheck['dropped'] = [];
  const notInRelease: string[] = [];
  for (const want of parseConfig(fragment)) {
    if (!symbols.has(want.name)) {
      notInRelease.push(want.name);
      continue;
    }
    // An option absent from .config is off (hidden options with unmet dependencies are not written).
    const got = final.get(want.name) ?? 'n';
    if (got === want.value) ok.push(want.name);
    else dropped.push({ name: want.name, wanted: want.value, got });
  }
  return { ok, dropped, notInRelease };
}

/** One line per dropped option, naming what to do about it. */
export function describeDropped(check: FragmentCheck, fragmentPath: string): string {
  return check.dropped
    .map((d) => `CONFIG_${d.name}: the fragment wants ${d.wanted}, the final .config has ${d.got} (an unmet Kconfig dependency dropped it: add the dependency to ${fragmentPath})`)
    .join('\n');
}
