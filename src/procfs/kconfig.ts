// The kernel configuration: the .config text that scripts/kconfig writes, exposed at run time
// as /proc/config.gz (CONFIG_IKCONFIG_PROC, kernel/configs.c: the gzipped .config) or installed
// by distributions as /boot/config-<release>. Lines are `CONFIG_X=y|m`, `CONFIG_X="string"`
// (backslash escapes \" and \\), `CONFIG_X=123` / `=0x10`, and `# CONFIG_X is not set`.
// The parser is total: lines it does not recognise are skipped. /proc/config.gz is inflated with
// a cap (KCONFIG_LIMITS, src/kernel/limits.ts): a bigger one is skipped as unreadable.
import { gunzipSync } from 'node:zlib';
import type { EpfDriverName } from '../boards/types.js';
import { KernelDataError, KernelError } from '../kernel/errors.js';
import type { KernelPort } from '../kernel/port.js';
import { KCONFIG_LIMITS, formatBytes } from '../kernel/limits.js';

export const PROC_CONFIG_GZ = '/proc/config.gz';

/** The Kconfig symbol of each EPF driver (drivers/pci/endpoint/functions/Kconfig, drivers/nvme/target/Kconfig). */
export const EPF_DRIVER_SYMBOL: Readonly<Record<EpfDriverName, string>> = {
  pci_epf_test: 'PCI_EPF_TEST',
  pci_epf_vntb: 'PCI_EPF_VNTB',
  pci_epf_ntb: 'PCI_EPF_NTB',
  pci_epf_mhi: 'PCI_EPF_MHI',
  // drivers/nvme/target/Kconfig (v6.14+)
  nvmet_pci_epf: 'NVME_TARGET_PCI_EPF',
};

/**
 * Symbol name without "CONFIG_" → value: "y", "m", "n" (is not set), the unescaped text of a
 * string, or an int/hex literal as written ("123", "0x10").
 */
export type KernelConfig = Map<string, string>;

const PREFIX = 'CONFIG_';
const NOT_SET = ' is not set';

function isSymbolChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95;
}

function symbolEnd(line: string, from: number): number {
  let i = from;
  while (i < line.length && isSymbolChar(line.charCodeAt(i))) i++;
  return i;
}

/** Parses .config text; never throws. A later line for a symbol wins, as in kconfig. */
export function parseKernelConfig(text: string): KernelConfig {
  const values: KernelConfig = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('# CONFIG_') && line.endsWith(NOT_SET)) {
      const end = symbolEnd(line, 9);
      if (end > 9 && end === line.length - NOT_SET.length) values.set(line.slice(9, end), 'n');
      continue;
    }
    if (!line.startsWith(PREFIX)) continue;
    const end = symbolEnd(line, PREFIX.length);
    if (end === PREFIX.length || line.charCodeAt(end) !== 61) continue;
    const value = line.slice(end + 1);
    const parsed = value.startsWith('"') ? unquote(value) : value;
    if (parsed !== undefined) values.set(line.slice(PREFIX.length, end), parsed);
  }
  return values;
}

function unquote(value: string): string | undefined {
  let out = '';
  for (let i = 1; i < value.length; i++) {
    const ch = value.charAt(i);
    if (ch === '"') return i === value.length - 1 ? out : undefined;
    if (ch === '\\' && i + 1 < value.length) {
      out += value.charAt(i + 1);
      i++;
    } else out += ch;
  }
  return undefined;
}

/** True when the symbol is built in or a module. */
export function isEnabled(config: KernelConfig, symbol: string): boolean {
  const v = config.get(symbol);
  return v === 'y' || v === 'm';
}

/** /proc/config.gz exists but is not gzip data. */
export class KernelConfigError extends KernelDataError {
  constructor(path: string, cause: unknown, reason = 'not gzip data') {
    const hint = `check ${path}: it should be the gzipped kernel .config (zcat ${path})`;
    super(path, reason, { hint, cause });
  }
}

/** The port's own refusals (a file over its read limit, a special file, a link loop): their hint says why. */
const REFUSED = new Set(['EFBIG', 'ENXIO', 'ELOOP']);

/** A configuration source that exists but was not used, and why. */
export interface KernelConfigSkip {
  path: string;
  /** The errno, or EFBIG for a config.gz that inflates past the cap. */
  code: string;
  reason: string;
}

async function readIfReadable(port: KernelPort, path: string, skipped: KernelConfigSkip[]): Promise<Uint8Array | undefined> {
  try {
    return await port.read(path);
  } catch (e) {
    // Any failure to read a source means: try the next one, and say why unless it is simply absent.
    if (!(e instanceof KernelError)) throw e;
    if (e.code !== 'ENOENT') skipped.push({ path, code: e.code, reason: REFUSED.has(e.code) ? (e.hint ?? e.message) : e.message });
    return undefined;
  }
}

/** The .config text of /proc/config.gz, or undefined (with a note) when it inflates past the cap. */
function inflateConfig(gz: Uint8Array, skipped: KernelConfigSkip[]): string | undefined {
  const cap = KCONFIG_LIMITS.inflated.bytes;
  try {
    return new TextDecoder().decode(gunzipSync(gz, { maxOutputLength: cap }));
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      skipped.push({ path: PROC_CONFIG_GZ, code: 'EFBIG', reason: `${PROC_CONFIG_GZ} inflates to more than ${formatBytes(cap)}, more than any kernel .config: it was not read` });
      return undefined;
    }
    throw new KernelConfigError(PROC_CONFIG_GZ, e);
  }
}

/**
 * The running kernel's configuration: /proc/config.gz, else /boot/config-<release>;
 * undefined when neither can be read. A source that is there but refused (over its size cap,
 * a special file, a link loop) is skipped like a missing one and noted in `skipped`.
 */
export async function readKernelConfig(
  port: KernelPort,
  release: string,
  skipped: KernelConfigSkip[] = [],
): Promise<{ source: string; values: KernelConfig } | undefined> {
  const gz = await readIfReadable(port, PROC_CONFIG_GZ, skipped);
  const text = gz === undefined ? undefined : inflateConfig(gz, skipped);
  if (text !== undefined) return { source: PROC_CONFIG_GZ, values: parseKernelConfig(text) };
  // The release names one file in /boot: no "/" (nothing that climbs out) and no NUL.
  if (release === '' || release.includes('/') || release.includes('\0')) return undefined;
  const boot = `/boot/config-${release}`;
  const plain = await readIfReadable(port, boot, skipped);
  if (plain === undefined) return undefined;
  return { source: boot, values: parseKernelConfig(new TextDecoder().decode(plain)) };
}
