// Builds a recorded board from a plain description, both as a directory and as a .tar.gz of
// the same content, so a test can hold the two `--root` forms to the same answers. The .tar.gz
// writer is written here (ustar headers, pax for long names) rather than taken from `tar`, so a
// test can also write what no honest tool writes: absolute names, "..", NULs, bad checksums.
import fs from 'node:fs/promises';
import nodePath from 'node:path';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';

export type BoardEntry =
  | { kind: 'file'; bytes: Uint8Array | string; mode?: number }
  | { kind: 'dir'; mode?: number }
  | { kind: 'symlink'; target: string }
  | { kind: 'fifo' };

/** Root-relative path ("proc/version") → entry; missing parents are directories. */
export type Board = Record<string, BoardEntry>;

const bytesOf = (b: Uint8Array | string): Uint8Array => (typeof b === 'string' ? Buffer.from(b) : b);

/** Parents first, then by name: the order `epctl snapshot` writes. */
function ordered(board: Board): [string, BoardEntry][] {
  return Object.entries(board).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Writes the board under `dir` (which exists). */
export async function writeBoardDir(board: Board, dir: string): Promise<void> {
  for (const [rel, e] of ordered(board)) {
    const p = nodePath.join(dir, rel);
    await fs.mkdir(nodePath.dirname(p), { recursive: true });
    if (e.kind === 'dir') await fs.mkdir(p, { recursive: true, mode: e.mode ?? 0o755 });
    else if (e.kind === 'file') await fs.writeFile(p, bytesOf(e.bytes), { mode: e.mode ?? 0o644 });
    else if (e.kind === 'symlink') await fs.symlink(e.target, p);
    else execFileSync('mkfifo', [p]);
  }
}

export interface TarHeader {
  name: string;
  /** ustar typeflag: '0' file, '1' hard link, '2' symlink, '5' dir, '6' FIFO, 'x' pax, ... */
  type: string;
  mode?: number;
  size?: number;
  linkname?: string;
  /** Spoil the checksum. */
  badChecksum?: boolean;
}

function put(h: Buffer, at: number, len: number, s: string): void {
  Buffer.from(s).copy(h, at, 0, len);
}

/** One 512-byte ustar header. Names over 100 bytes must go through pax (`tarEntry`). */
export function ustarHeader(o: TarHeader): Buffer {
  const h = Buffer.alloc(512);
  put(h, 0, 100, o.name);
  put(h, 100, 8, (o.mode ?? 0o644).toString(8).padStart(7, '0'));
  put(h, 108, 8, '0000000');
  put(h, 116, 8, '0000000');
  put(h, 124, 12, (o.size ?? 0).toString(8).padStart(11, '0'));
  put(h, 136, 12, '00000000000');
  h.write(o.type, 156, 'latin1');
  put(h, 157, 100, o.linkname ?? '');
  put(h, 257, 6, 'ustar');
  put(h, 263, 2, '00');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(h, 148, 8, `${(o.badChecksum ? sum + 1 : sum).toString(8).padStart(6, '0')}\0 `);
  return h;
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

/** pax records "%d key=value\n", the length counting itself. */
function paxBody(fields: Record<string, string>): Buffer {
  return Buffer.concat(
    Object.entries(fields).map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let len = Buffer.byteLength(rest) + 1;
      while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
      return Buffer.from(`${len}${rest}`);
    }),
  );
}

/** An entry with its data, long names and link targets carried in a pax header. */
export function tarEntry(o: TarHeader, data: Uint8Array = new Uint8Array(0)): Buffer {
  const parts: Buffer[] = [];
  const pax: Record<string, string> = {};
  if (Buffer.byteLength(o.name) > 99 || o.name.includes('\0')) pax['path'] = o.name;
  if (Buffer.byteLength(o.linkname ?? '') > 99 || (o.linkname ?? '').includes('\0')) pax['linkpath'] = o.linkname!;
  if (Object.keys(pax).length) {
    const body = paxBody(pax);
    parts.push(ustarHeader({ name: 'PaxHeader', type: 'x', size: body.length }), body, pad(body.length));
  }
  parts.push(ustarHeader({ ...o, name: pax['path'] ? 'long-name' : o.name, linkname: pax['linkpath'] ? 'long-link' : (o.linkname ?? ''), size: data.length }));
  parts.push(Buffer.from(data), pad(data.length));
  return Buffer.concat(parts);
}

/** The end-of-archive marker: two zero blocks. */
export const TAR_END = Buffer.alloc(1024);

/** The board as tar data (not yet gzipped). */
export function boardTar(board: Board): Buffer {
  const parts: Buffer[] = [];
  for (const [rel, e] of ordered(board)) {
    if (e.kind === 'dir') parts.push(tarEntry({ name: `${rel}/`, type: '5', mode: e.mode ?? 0o755 }));
    else if (e.kind === 'file') parts.push(tarEntry({ name: rel, type: '0', mode: e.mode ?? 0o644 }, bytesOf(e.bytes)));
    else if (e.kind === 'symlink') parts.push(tarEntry({ name: rel, type: '2', mode: 0o777, linkname: e.target }));
    else parts.push(tarEntry({ name: rel, type: '6', mode: 0o644 }));
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

export async function writeBoardArchive(board: Board, file: string): Promise<void> {
  await fs.writeFile(file, gzipSync(boardTar(board)));
}

/** Resolves with `p`, or rejects when it has not settled within `ms`: a read must never hang. */
export function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms: it hangs`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
