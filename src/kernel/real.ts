// Backend "real": node:fs on the live system. The only code that writes to a board. Reads
// keep the kernel's blocking semantics (no O_NONBLOCK: some procfs/sysfs files honour it) but
// are bounded by readLimit(), and `read` refuses special files: a FIFO or a character device
// such as /dev/kmsg is read as a stream of records with lines(), never slurped.
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import type { AccessWidth, CreateOptions, KernelPort, KernelStat, KmsgRecord, StreamOptions } from './port.js';
import { parseKmsgRecord } from './kmsg.js';
import { CONFIGFS } from '../configfs/paths.js';
import { EXIT } from '../exit-codes.js';
import { KernelError, fromNodeError } from './errors.js';
import { guard, toKernelStat, writeFd, fileLines, nonBlockingLines, rawKind, readFdBounded } from './node-fs.js';
import { describeKind, isSpecial, type RawKind } from './raw-tree.js';
import { readLimit } from './limits.js';

function refuseSpecial(path: string, kind: RawKind): never {
  throw new KernelError({ code: 'ENXIO', syscall: 'open', path, exitCode: EXIT.BAD_DATA, hint: `${path} is ${describeKind(kind)}, not a kernel attribute file: epctl reads it only as a stream of records` });
}

export class RealKernel implements KernelPort {
  readonly backend = 'real';
  readonly origin = '/';

  async read(path: string): Promise<Uint8Array> {
    // stat before open: opening a FIFO for reading blocks until a writer comes.
    const kind = rawKind(await guard('open', path, () => fs.stat(path)));
    if (isSpecial(kind)) refuseSpecial(path, kind);
    const fh = await guard('open', path, () => fs.open(path, constants.O_RDONLY));
    try {
      // Again on the open file, in case the path changed between stat and open.
      const st = await guard('open', path, () => fh.stat());
      const now = rawKind(st);
      if (isSpecial(now)) refuseSpecial(path, now);
      const limit = readLimit(path);
      const bytes = await guard('read', path, () => readFdBounded(fh, limit.bytes, st.size));
      if (bytes.length > limit.bytes)
        throw new KernelError({ code: 'EFBIG', syscall: 'read', path, exitCode: EXIT.BAD_DATA, hint: `${path} is larger than ${limit.what}, more than the kernel writes there: check what is mounted at ${path}` });
      return bytes;
    } finally {
      await fh.close();
    }
  }

  async write(path: string, data: string | Uint8Array): Promise<number> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    // O_WRONLY alone, as `echo >` on configfs behaves: no O_CREAT, no O_TRUNC.
    const fh = await guard('open', path, () => fs.open(path, constants.O_WRONLY));
    try {
      return await guard('write', path, () => writeFd(fh.fd, bytes));
    } finally {
      await fh.close();
    }
  }

  async create(path: string, opts: CreateOptions = {}): Promise<void> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (opts.exclusive ? constants.O_EXCL : 0);
    const fh = await guard('open', path, () => fs.open(path, flags, 0o644));
    await fh.close();
  }
  rename(from: string, to: string): Promise<void> {
    return guard('rename', from, () => fs.rename(from, to), to);
  }
  mkdir(path: string): Promise<void> {
    return guard('mkdir', path, () => fs.mkdir(path));
  }
  rmdir(path: string): Promise<void> {
    return guard('rmdir', path, () => fs.rmdir(path));
  }
  symlink(target: string, path: string): Promise<void> {
    return guard('symlink', path, () => fs.symlink(target, path), target);
  }
  unlink(path: string): Promise<void> {
    return guard('unlink', path, () => fs.unlink(path));
  }
  readdir(path: string): Promise<string[]> {
    return guard('scandir', path, () => fs.readdir(path));
  }
  readlink(path: string): Promise<string> {
    return guard('readlink', path, () => fs.readlink(path));
  }
  async stat(path: string): Promise<KernelStat> {
    return toKernelStat(await guard('stat', path, () => fs.stat(path)));
  }
  async lstat(path: string): Promise<KernelStat> {
    return toKernelStat(await guard('lstat', path, () => fs.lstat(path)));
  }
  async exists(path: string): Promise<boolean> {
    try {
      await fs.stat(path);
      return true;
    } catch {
      return false;
    }
  }
  lines(path: string, opts: StreamOptions = {}): AsyncIterable<string> {
    if (path.endsWith('/trace_pipe')) return nonBlockingLines(path, opts.signal);
    return fileLines(path, opts.signal);
  }

  async kmsg(): Promise<KmsgRecord[]> {
    // O_NONBLOCK: at the end of the ring read(2) gives EAGAIN instead of waiting for a record.
    const fh = await guard('open', KMSG, () => fs.open(KMSG, constants.O_RDONLY | constants.O_NONBLOCK));
    const records: KmsgRecord[] = [];
    const buf = Buffer.alloc(KMSG_RECORD_MAX);
    try {
      for (;;) {
        let n: number;
        try {
          ({ bytesRead: n } = await fh.read(buf, 0, buf.length, null));
        } catch (e) {
          const code = (e as { code?: string }).code;
          if (code === 'EAGAIN') break;
          // EPIPE: records were overwritten since the last read; the next read goes on.
          if (code === 'EPIPE') continue;
          throw fromNodeError(e, 'read', KMSG);
        }
        if (n === 0) break;
        const r = parseKmsgRecord(buf.toString('utf8', 0, n));
        if (r) records.push(r);
      }
    } finally {
      await fh.close();
    }
    return records;
  }

  async loadModule(module: string): Promise<void> {
    await runTool('modprobe', 'modprobe', [module], `/lib/modules/${module}`);
  }

  async mountConfigfs(): Promise<void> {
    await runTool('mount', 'mount', ['-t', 'configfs', 'none', CONFIGFS], CONFIGFS);
  }

  async peek(addr: bigint, width: AccessWidth): Promise<bigint> {
    const out = await runTool('devmem', 'busybox', ['devmem', hex(addr), String(width)], '/dev/mem');
    // busybox miscutils/devmem.c prints "0x%0*llX\n", zero-padded to the width.
    const m = /^0x([0-9A-Fa-f]+)\s*$/.exec(out);
    if (!m) throw new KernelError({ code: 'EIO', syscall: 'devmem', path: '/dev/mem', hint: `busybox devmem ${hex(addr)} ${width} printed ${JSON.stringify(out.slice(0, 80))}, not a value` });
    return BigInt(`0x${m[1]}`);
  }

  async poke(addr: bigint, width: AccessWidth, value: bigint): Promise<void> {
    await runTool('devmem', 'busybox', ['devmem', hex(addr), String(width), hex(value)], '/dev/mem');
  }
}

function hex(n: bigint): string {
  return `0x${n.toString(16)}`;
}

const KMSG = '/dev/kmsg';
/** kernel/printk/printk.c devkmsg_read: a record never exceeds CONSOLE_EXT_LOG_MAX (8 KiB). */
const KMSG_RECORD_MAX = 8192;

/** Runs a system tool with an argument array (never a shell); a failure carries its stderr. */
async function runTool(op: 'modprobe' | 'mount' | 'devmem', file: string, args: string[], path: string): Promise<string> {
  const { execa } = await import('execa');
  const r = await execa(file, args, { reject: false, stdin: 'ignore', timeout: 60_000 });
  if (r.failed) {
    const why = String(r.stderr || r.stdout || r.shortMessage || '').trim().split('\n')[0] ?? '';
    const missing = (r as { code?: string }).code === 'ENOENT';
    throw new KernelError({
      code: missing ? 'ENOENT' : 'EIO',
      syscall: op,
      path,
      hint: missing ? `${file} is not installed: install kmod (modprobe), util-linux (mount) or busybox (devmem)` : `\`${file} ${args.join(' ')}\` failed: ${why}`,
    });
  }
  return String(r.stdout);
}
