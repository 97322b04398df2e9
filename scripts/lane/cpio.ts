// A cpio "newc" writer (the format the kernel unpacks in init/initramfs.c; header layout in
// Documentation/driver-api/early-userspace/buffer-format.rst), so the lane packs initramfs
// parts itself, byte-reproducibly (mtime 0, owner root), without a cpio binary or a shell.

export type CpioEntry =
  | { readonly kind: 'dir'; readonly name: string; readonly mode?: number }
  | { readonly kind: 'file'; readonly name: string; readonly data: Uint8Array; readonly mode?: number }
  | { readonly kind: 'symlink'; readonly name: string; readonly target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

function header(ino: number, mode: number, nlink: number, size: number, name: string): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, nameBytes.length, 0];
  const head = Buffer.from(`070701${fields.map(hex8).join('')}`, 'ascii');
  return Buffer.concat([head, nameBytes, pad4(head.length + nameBytes.length)]);
}

/** The archive as buffers to write in order (large file data is not copied). Names are relative, no leading `/`. */
export function newcArchive(entries: readonly CpioEntry[]): Buffer[] {
  const out: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    if (e.name.startsWith('/') || e.name.split('/').includes('..')) throw new Error(`cpio: entry name ${JSON.stringify(e.name)} must be relative without ..`);
    if (e.kind === 'dir') out.push(header(ino++, S_IFDIR | (e.mode ?? 0o755), 2, 0, e.name));
    else {
      const data = e.kind === 'file' ? e.data : Buffer.from(e.target, 'utf8');
      const mode = e.kind === 'file' ? S_IFREG | (e.mode ?? 0o644) : S_IFLNK | 0o777;
      out.push(header(ino++, mode, 1, data.length, e.name), Buffer.from(data.buffer, data.byteOffset, data.length), pad4(data.length));
    }
  }
  out.push(header(0, 0, 1, 0, 'TRAILER!!!'));
  return out;
}

/** Zero bytes that bring `length` up to a multiple of `block` (the kernel skips zeros between concatenated archives). */
export function padTo(length: number, block = 512): Buffer {
  return Buffer.alloc((block - (length % block)) % block);
}
