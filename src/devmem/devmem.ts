// `epctl devmem`: one 8/16/32/64-bit load or store at a physical address, of exactly that width,
// through the port (busybox devmem on a board, the simulated physical bus with --mock). The
// access must lie inside one `reg` range of an enabled device-tree node (src/devicetree/reg.ts)
// and be aligned to its width: an unaligned access to Device memory takes an alignment fault on
// arm64 and devmem dies with SIGBUS. A store into plain RAM (/memory outside any carve-out or
// device) is refused too: it can overwrite what the running kernel keeps there. --force skips the
// range checks (never the alignment), and the result lists exactly what it skipped.
//
// The arguments follow busybox miscutils/devmem.c, `devmem ADDRESS [WIDTH [VALUE]]`: WIDTH is a
// number of bits or one letter b/h/w/l (char, short, int, long: 8/16/32/64 on arm64), 32 when
// absent; values print as "0x%0*llX", zero-padded to the width. Unlike busybox, epctl takes
// ADDRESS and VALUE as 0x-hex or decimal only (busybox's strtoull reads a leading 0 as octal) and
// refuses a VALUE wider than WIDTH instead of dropping its high bits.
import { EpctlError, KernelError } from '../kernel/errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { AccessWidth, KernelPort } from '../kernel/port.js';
import { DeviceTree, DtMissingError } from '../devicetree/tree.js';
import { memoryMap, type CpuRange, type MemoryMap } from '../devicetree/reg.js';
import type { DtParseError } from '../devicetree/decode.js';
import { readSystemRam, type RamRange } from './iomem.js';

export const WIDTHS: readonly AccessWidth[] = [8, 16, 32, 64];
export const DEFAULT_WIDTH: AccessWidth = 32;

/** busybox's one-letter widths: sizeof(char), sizeof(short), sizeof(int), sizeof(long) on arm64 (LP64). */
const LETTER_WIDTH: Readonly<Record<string, AccessWidth>> = { b: 8, h: 16, w: 32, l: 64 };

/** Longest ADDR/VALUE text looked at: 0x and 64 hex digits, with room for leading zeros. */
const MAX_NUMBER_TEXT = 80;

export type DevmemArgument = 'ADDR' | 'WIDTH' | 'VALUE';

/** ADDR, WIDTH or VALUE cannot be read: exit 64, naming the argument, what was given and the form wanted. */
export class DevmemArgumentError extends EpctlError {
  readonly argument: DevmemArgument;
  readonly text: string;
  constructor(argument: DevmemArgument, text: string, reason: string, hint: string) {
    super(`devmem ${argument} ${quote(text)}: ${reason}`, { exitCode: EXIT.USAGE, hint });
    this.argument = argument;
    this.text = text;
  }
}

export type RefusalReason = 'unaligned' | 'wraps' | 'outside' | 'straddles' | 'ram-write' | 'no-device-tree';

/**
 * The access was refused before anything was read or written at the address: it is unaligned,
 * outside every enabled node's `reg`, across the end of one, or a store into plain RAM. Exit 64:
 * the address (or the missing --force) is the command line's to change.
 */
export class DevmemRefusedError extends EpctlError {
  readonly reason: RefusalReason;
  readonly address: bigint;
  readonly width: AccessWidth;
  /** The node whose range is involved, when there is one. */
  readonly node: string | undefined;
  constructor(init: { reason: RefusalReason; address: bigint; width: AccessWidth; node?: string; message: string; hint: string; exitCode?: ExitCode; cause?: unknown }) {
    super(init.message, { exitCode: init.exitCode ?? EXIT.USAGE, hint: init.hint, cause: init.cause });
    this.reason = init.reason;
    this.address = init.address;
    this.width = init.width;
    this.node = init.node;
  }
}

/** The port's access failed (no /dev/mem, EPERM from STRICT_DEVMEM, a bus error): the kernel error, with the address and node. */
export class DevmemAccessError extends EpctlError {
  readonly code: string;
  readonly errno: number;
  readonly address: bigint;
  readonly width: AccessWidth;
  constructor(op: 'read' | 'write', address: bigint, width: AccessWidth, where: string, cause: KernelError) {
    super(`devmem ${op} of ${width} bits at ${formatAddress(address)}${where ? ` (${where})` : ''} failed: ${cause.message}`, {
      exitCode: cause.exitCode,
      ...(cause.hint === undefined ? {} : { hint: cause.hint }),
      cause,
    });
    this.code = cause.code;
    this.errno = cause.errno;
    this.address = address;
    this.width = width;
  }
}

function quote(text: string): string {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(shown);
}

/** 0x-prefixed hex, lower case, at least 8 digits: how the reference and dmesg write addresses. */
export function formatAddress(a: bigint): string {
  return `0x${a.toString(16).padStart(8, '0')}`;
}

/** A value as busybox devmem prints it: "0x%0*llX", as many hex digits as the width has nibbles. */
export function formatValue(v: bigint, width: AccessWidth): string {
  return `0x${v.toString(16).toUpperCase().padStart(width / 4, '0')}`;
}

/** An unsigned number in 0x-hex or decimal, below 2^bits; the caller's argument name goes in errors. */
function parseNumber(argument: 'ADDR' | 'VALUE', text: string, bits: number, example: string): bigint {
  const form = `write ${argument} as 0x-hex or decimal, e.g. ${example}`;
  if (text.length === 0) throw new DevmemArgumentError(argument, text, 'empty', form);
  if (text.length > MAX_NUMBER_TEXT) throw new DevmemArgumentError(argument, text, `${text.length} characters is longer than any ${bits}-bit number`, form);
  let v: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) v = BigInt(`0x${text.slice(2)}`);
  else if (/^(0|[1-9][0-9]*)$/.test(text)) v = BigInt(text);
  else if (/^0[0-9]+$/.test(text))
    throw new DevmemArgumentError(argument, text, 'a decimal number with a leading 0, which busybox devmem would read as octal', `drop the leading zeros, or write it in hex: ${form}`);
  else if (/^-/.test(text)) throw new DevmemArgumentError(argument, text, 'negative: physical addresses and register values are unsigned', form);
  else if (/^0[xX]$/.test(text)) throw new DevmemArgumentError(argument, text, '0x without hex digits', form);
  else throw new DevmemArgumentError(argument, text, 'not a number (0x-hex or decimal digits only: no spaces, signs, suffixes or underscores)', form);
  if (v >> BigInt(bits) !== 0n)
    throw new DevmemArgumentError(argument, text, `does not fit in ${bits} bits (largest ${formatValue((1n << BigInt(bits)) - 1n, bits as AccessWidth)})`, argument === 'VALUE' ? `give a value of at most ${bits} bits, or a wider WIDTH` : form);
  return v;
}

/** ADDR: a physical address, 0x-hex or decimal, below 2^64. */
export function parseAddress(text: string): bigint {
  return parseNumber('ADDR', text, 64, '0x08090040');
}

/** WIDTH as busybox devmem takes it: 8, 16, 32, 64 or b, h, w, l (either case); 32 when absent. */
export function parseWidth(text: string | undefined): AccessWidth {
  if (text === undefined) return DEFAULT_WIDTH;
  const hint = 'give WIDTH as 8, 16, 32 or 64 bits (or busybox\'s b, h, w, l)';
  // busybox folds case with `| 0x20`: ASCII letters only.
  if (/^[bhwlBHWL]$/.test(text)) return LETTER_WIDTH[text.toLowerCase()]!;
  // busybox reads a longer WIDTH with xatou(): decimal digits only, leading zeros allowed.
  if (/^[0-9]{1,10}$/.test(text)) {
    const n = Number(text);
    if ((WIDTHS as readonly number[]).includes(n)) return n as AccessWidth;
    if (n === 128) throw new DevmemArgumentError('WIDTH', text, 'busybox built with 128-bit integers takes it, but epctl does 8, 16, 32 and 64-bit accesses only', hint);
    throw new DevmemArgumentError('WIDTH', text, 'not an access width', hint);
  }
  throw new DevmemArgumentError('WIDTH', text, text.length === 0 ? 'empty' : 'not an access width', hint);
}

/** VALUE: 0x-hex or decimal that fits in `width` bits. */
export function parseValue(text: string, width: AccessWidth): bigint {
  return parseNumber('VALUE', text, width, width === 8 ? '0x5a' : '0x40');
}

/** A parsed command line: what to access and how. */
export interface DevmemRequest {
  address: bigint;
  width: AccessWidth;
  /** Given: a store of this value, then a read-back. */
  value?: bigint;
  /** Skip the range checks (not the alignment). */
  force?: boolean;
  /** After a store, do not read the register back (a FIFO or read-to-clear register). */
  noReadBack?: boolean;
}

/** Parses `ADDR [WIDTH [VALUE]]` as the CLI receives them. */
export function parseRequest(addr: string, width?: string, value?: string): DevmemRequest {
  const address = parseAddress(addr);
  const w = parseWidth(width);
  return value === undefined ? { address, width: w } : { address, width: w, value: parseValue(value, w) };
}

/** The reg entry an access falls in, as the result reports it. */
export interface RegHit {
  node: string;
  index: number;
  name: string | null;
  base: string;
  size: string;
  kind: CpuRange['kind'];
}

export interface AccessVerdict {
  /** The range holding the whole access (the most specific: a device over a carve-out over RAM). */
  range: CpuRange | undefined;
  /** What --force skipped: empty when the access passes without it. */
  skipped: string[];
}

const describeRange = (r: CpuRange): string => `${r.node} reg[${r.index}]${r.name ? ` "${r.name}"` : ''} [${formatAddress(r.base)}, ${formatAddress(r.base + r.size)})`;
const RANK: Record<CpuRange['kind'], number> = { device: 0, reserved: 1, memory: 2 };

function problemsNote(problems: readonly DtParseError[]): string {
  if (problems.length === 0) return '';
  const p = problems[0]!;
  return `; ${problems.length} device-tree node${problems.length === 1 ? '' : 's'} could not be read and may hold it (${p.path}: ${p.reason})`;
}

/**
 * Whether the access may go ahead. Throws DevmemRefusedError for an unaligned access (always) and,
 * without `force`, for one that is not inside one enabled node's reg range or that stores into
 * plain RAM; with `force` those become `skipped`, each saying what was not checked. `systemRam`
 * (/proc/iomem) adds RAM the device tree does not describe: a forced store outside every reg
 * range into it is listed as skipped too.
 */
export function checkAccess(map: MemoryMap, req: DevmemRequest, systemRam: readonly RamRange[] = []): AccessVerdict {
  const { address, width } = req;
  const bytes = BigInt(width / 8);
  const what = `${width}-bit ${req.value === undefined ? 'read' : 'write'} at ${formatAddress(address)}`;
  if (address % bytes !== 0n) {
    const down = address - (address % bytes);
    throw new DevmemRefusedError({
      reason: 'unaligned',
      address,
      width,
      message: `${what} is not aligned to ${bytes} bytes: an unaligned access to device memory takes an alignment fault on arm64 (devmem dies with SIGBUS); --force does not lift this`,
      hint: `use an address that is a multiple of ${bytes} (${formatAddress(down)}), or a narrower WIDTH`,
    });
  }
  if (address + bytes > 1n << 64n)
    throw new DevmemRefusedError({ reason: 'wraps', address, width, message: `${what} runs past the end of the 64-bit address space`, hint: 'use a lower address or a narrower WIDTH' });

  const end = address + bytes;
  const holding = map.ranges.filter((r) => address >= r.base && end <= r.base + r.size).sort((a, b) => RANK[a.kind] - RANK[b.kind] || (a.size < b.size ? -1 : a.size > b.size ? 1 : 0));
  const range = holding[0];
  const skipped: string[] = [];
  const refuse = (reason: RefusalReason, message: string, hint: string, node?: string): void => {
    if (req.force) skipped.push(message);
    else throw new DevmemRefusedError({ reason, address, width, message, hint, ...(node === undefined ? {} : { node }) });
  };
  if (!range) {
    const across = map.ranges.find((r) => address < r.base + r.size && end > r.base);
    if (across)
      refuse('straddles', `${what} runs across the edge of ${describeRange(across)}`, `keep the whole access inside one reg entry of ${across.node}: a narrower WIDTH or an aligned address inside it; or --force`, across.node);
    else {
      const below = map.ranges.filter((r) => r.base + r.size <= address).sort((a, b) => (a.base + a.size > b.base + b.size ? -1 : 1))[0];
      const near = below ? `; the nearest range below is ${describeRange(below)}` : '';
      refuse(
        'outside',
        `${what} lies in no reg range of an enabled device-tree node${near}${problemsNote(map.problems)}`,
        'check the address against the board\'s device tree (`epctl probe` names the controllers), or add --force if you know what answers there',
      );
    }
  } else if (req.value !== undefined && range.kind === 'memory')
    refuse(
      'ram-write',
      `${what} stores into plain RAM (${describeRange(range)}), outside any device or /reserved-memory region: it can corrupt the running kernel`,
      'write to a device register or a /reserved-memory region instead; add --force only for RAM you know the kernel does not use (a BAR target a function allocated)',
      range.node,
    );
  else if (req.value !== undefined && range.reusable)
    refuse(
      'ram-write',
      `${what} stores into a reusable /reserved-memory pool (${describeRange(range)}): the kernel lends its pages out (CMA) while its owner does not use them, so the write can corrupt the running kernel`,
      'add --force only when the pool\'s owner holds that memory now (a buffer it allocated there)',
      range.node,
    );
  if (req.value !== undefined && !range) {
    const ram = systemRam.find((m) => address < m.base + m.size && end > m.base);
    if (ram)
      refuse(
        'ram-write',
        `${what} stores into System RAM [${formatAddress(ram.base)}, ${formatAddress(ram.base + ram.size)}) of /proc/iomem, which the device tree does not describe: it can corrupt the running kernel`,
        'write to a device register or a /reserved-memory region instead',
      );
  }
  return { range, skipped };
}

export interface DevmemResult {
  /** Where the board came from ("/", "mock:qemu-virt"). */
  origin: string;
  access: 'read' | 'write';
  address: string;
  width: AccessWidth;
  /** The reg entry the access lies in; null when none holds it (only with --force). */
  reg: RegHit | null;
  /** A write: the value stored, busybox-formatted. */
  written: string | null;
  /** The value read: the load, or a write's read-back (null with --no-read-back). */
  read: string | null;
  /** A write's read-back differs from the value written (not an error: W1C, FIFO, read-only bits). */
  readBackDiffers: boolean | null;
  /** With --force: each check it skipped; empty when nothing needed skipping. */
  forced: string[] | null;
}

/** Reads the board's memory map, checks the access and performs it. */
export async function devmem(port: KernelPort, req: DevmemRequest): Promise<DevmemResult> {
  let map: MemoryMap;
  try {
    map = await memoryMap(new DeviceTree(port));
  } catch (e) {
    if (!(e instanceof DtMissingError)) throw e;
    if (!req.force)
      throw new DevmemRefusedError({
        reason: 'no-device-tree',
        address: req.address,
        width: req.width,
        exitCode: EXIT.BAD_DATA,
        message: `${e.path}: no such directory; without a device tree epctl cannot check ${formatAddress(req.address)} against the board's reg ranges`,
        hint: 'run on a device-tree board, or add --force to access the address unchecked',
        cause: e,
      });
    map = { ranges: [], problems: [] };
  }
  // Only a forced store outside every reg range consults the kernel's own RAM map.
  const ram = req.force && req.value !== undefined ? ((await readSystemRam(port)) ?? []) : [];
  const verdict = checkAccess(map, req, ram);
  const r = verdict.range;
  const where = r ? `${r.node} reg[${r.index}]${r.name ? ` "${r.name}"` : ''}` : '';
  const guard = async <T>(op: 'read' | 'write', fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof KernelError) throw new DevmemAccessError(op, req.address, req.width, where, e);
      throw e;
    }
  };
  let written: string | null = null;
  let read: bigint | null = null;
  if (req.value === undefined) read = await guard('read', () => port.peek(req.address, req.width));
  else {
    const value = req.value;
    await guard('write', () => port.poke(req.address, req.width, value));
    written = formatValue(value, req.width);
    if (!req.noReadBack) read = await guard('read', () => port.peek(req.address, req.width));
  }
  return {
    origin: port.origin,
    access: req.value === undefined ? 'read' : 'write',
    address: formatAddress(req.address),
    width: req.width,
    reg: r ? { node: r.node, index: r.index, name: r.name ?? null, base: formatAddress(r.base), size: `0x${r.size.toString(16)}`, kind: r.kind } : null,
    written,
    read: read === null ? null : formatValue(read, req.width),
    readBackDiffers: req.value === undefined || read === null ? null : read !== req.value,
    forced: req.force ? verdict.skipped : null,
  };
}
