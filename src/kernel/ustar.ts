// A strict reader of tar data already in memory (POSIX ustar and pax, plus GNU long names):
// what archive-read.ts needs to read a recorded board without unpacking it. Not the `tar`
// package's Parser: that one sniffs its input for gzip/zstd and inflates it again (a nested
// bomb would slip past our inflate cap), is event-driven, and lenient by default. This one is
// synchronous over a bounded buffer, checks every header's checksum and every size against
// the buffer, caps the entry count, and refuses what it does not know instead of guessing.

export type TarKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'char-device' | 'block-device';

export interface TarEntry {
  /** The name as stored (pax `path` / GNU long name applied); checked by the caller. */
  name: string;
  kind: TarKind;
  mode: number;
  /** File contents: a view into the inflated buffer. */
  bytes: Uint8Array;
  /** Symlink text, or the archive name a hard link repeats. */
  link: string;
}

/** The tar data is not something this reader accepts; the message says why. */
export class TarFormatError extends Error {
  /** Set when a limit was broken: which one ("100000 entries"). */
  constructor(message: string, readonly overLimit?: string) {
    super(message);
  }
}

const BLOCK = 512;
const TYPES: Record<string, TarKind> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere but on one old Unix
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char-device',
  '4': 'block-device',
  '5': 'dir',
  '6': 'fifo',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(b: Uint8Array, what: string): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new TarFormatError(`${what} is not UTF-8`);
  }
}

/** A NUL-terminated header field. */
function field(h: Uint8Array, at: number, len: number, what: string): string {
  const f = h.subarray(at, at + len);
  const nul = f.indexOf(0);
  return text(nul < 0 ? f : f.subarray(0, nul), what);
}

function octal(h: Uint8Array, at: number, len: number, what: string): number {
  if (h[at]! & 0x80) throw new TarFormatError(`${what} is in base-256 (a file over 8 GiB)`);
  const s = field(h, at, len, what).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`${what} "${s}" is not an octal number`);
  return parseInt(s, 8);
}

function checksumOk(h: Uint8Array): boolean {
  const want = octal(h, 148, 8, 'header checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

/** pax extended header records: "%d key=value\n" each, the length counting the whole record. */
function paxRecords(body: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const len = space < 0 ? NaN : Number(text(body.subarray(at, space), 'pax record length'));
    if (!Number.isInteger(len) || len <= space - at || at + len > body.length || body[at + len - 1] !== 0x0a)
      throw new TarFormatError('a pax extended header record is malformed');
    const record = text(body.subarray(space + 1, at + len - 1), 'pax record');
    const eq = record.indexOf('=');
    if (eq < 0) throw new TarFormatError('a pax extended header record has no "="');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

const isZero = (h: Uint8Array): boolean => h.every((b) => b === 0);

/**
 * The entries of tar data, in order. Throws TarFormatError for a bad checksum, a size past the
 * end, an entry type it does not know, a missing end-of-archive block, or more than
 * `maxEntries` entries.
 */
export function readTar(data: Uint8Array, maxEntries: number): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  for (;;) {
    if (at + BLOCK > data.length) throw new TarFormatError('it is truncated (no end-of-archive block)');
    const h = data.subarray(at, at + BLOCK);
    if (isZero(h)) return entries;
    if (!checksumOk(h)) throw new TarFormatError(`the header at byte ${at} has a bad checksum`);
    const type = String.fromCharCode(h[156]!);
    let size = octal(h, 124, 12, 'entry size');
    if (pax.has('size')) {
      size = Number(pax.get('size'));
      if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError('a pax size is not a number');
    }
    const bodyAt = at + BLOCK;
    if (bodyAt + size > data.length) throw new TarFormatError('it is truncated (an entry runs past the end)');
    const body = data.subarray(bodyAt, bodyAt + size);
    at = bodyAt + Math.ceil(size / BLOCK) * BLOCK;
    // Headers that describe the next entry.
    if (type === 'x') {
      pax = paxRecords(body);
      continue;
    }
    if (type === 'g') continue; // global pax defaults: nothing epctl uses (mtime, uname)
    if (type === 'L' || type === 'K') {
      const nul = body.indexOf(0);
      const value = text(nul < 0 ? body : body.subarray(0, nul), 'a GNU long name');
      if (type === 'L') longName = value;
      else longLink = value;
      continue;
    }
    const kind = TYPES[type];
    if (kind === undefined) throw new TarFormatError(`an entry has type "${type.replace(/[^\x20-\x7e]/g, '?')}", which a recorded board never holds`);
    if (entries.length >= maxEntries) throw new TarFormatError(`it has more than ${maxEntries} entries`, `${maxEntries} entries`);
    const ustar = field(h, 257, 6, 'magic') === 'ustar' && h[262] === 0;
    const prefix = ustar ? field(h, 345, 155, 'name prefix') : '';
    const short = field(h, 0, 100, 'entry name');
    const name = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${short}` : short);
    const link = pax.get('linkpath') ?? longLink ?? field(h, 157, 100, 'link name');
    entries.push({ name, kind, mode: octal(h, 100, 8, 'entry mode') & 0o7777, bytes: kind === 'file' ? body : new Uint8Array(0), link });
    pax = new Map();
    longName = undefined;
    longLink = undefined;
  }
}
