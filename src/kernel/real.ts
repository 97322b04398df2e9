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
import type { ErrnoCode } from './errno.js';
import { guard, toKernelStat, writeFd, fileLines, rawKind, readFdBounded } from './node-fs.js';
import { tracePipeLines } from '../tracefs/pipe.js';
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
    if (path.endsWith('/trace_pipe')) return tracePipeLines(path, { signal: opts.signal, onOpen: opts.onOpen });
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
    const out = await runDevmem([hex(addr), String(width)], addr, width);
    // busybox miscutils/devmem.c prints "0x%0*llX\n": exactly width/4 upper-case hex digits.
    // Anything else is not busybox's devmem (devmem2 prints several lines) and is not guessed at.
    const m = /^0x([0-9A-Fa-f]+)\n?$/.exec(out);
    if (!m || m[1]!.length !== width / 4)
      throw new KernelError({
        code: 'EIO',
        syscall: 'devmem',
        path: DEV_MEM,
        hint: `devmem ${hex(addr)} ${width} printed ${JSON.stringify(out.slice(0, 80))}, not busybox's ${width / 4}-digit 0x value: use busybox's devmem applet (busybox devmem)`,
      });
    return BigInt(`0x${m[1]}`);
  }

  async poke(addr: bigint, width: AccessWidth, value: bigint): Promise<void> {
    // busybox truncates VALUE to the width without a word (a C cast): the caller checked it fits.
    if (value < 0n || value >> BigInt(width) !== 0n)
      throw new KernelError({ code: 'EINVAL', syscall: 'devmem', path: DEV_MEM, hint: `${hex(value)} does not fit in ${width} bits` });
    await runDevmem([hex(addr), String(width), hex(value)], addr, width);
  }
}

function hex(n: bigint): string {
  return `0x${n.toString(16)}`;
}

const DEV_MEM = '/dev/mem';

/** How to run busybox's devmem applet: its own name (an applet symlink) or `busybox devmem`. */
export interface DevmemCommand {
  file: string;
  /** Arguments before ADDRESS: ['devmem'] for the busybox binary. */
  prefix: string[];
}

/**
 * The devmem applet on PATH: an executable `devmem` (the applet symlink busybox --install makes),
 * else an executable `busybox` (Debian's busybox and busybox-static ship no applet links).
 * PATH only, searched in order; undefined when neither is there.
 */
export async function findDevmem(pathEnv: string | undefined = process.env['PATH']): Promise<DevmemCommand | undefined> {
  const dirs = (pathEnv ?? '').split(':').filter((d) => d.startsWith('/'));
  const executable = async (file: string): Promise<boolean> => {
    try {
      const st = await fs.stat(file);
      if (!st.isFile()) return false;
      await fs.access(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  for (const [name, prefix] of [['devmem', []], ['busybox', ['devmem']]] as const)
    for (const dir of dirs) {
      const file = `${dir.replace(/\/+$/, '')}/${name}`;
      if (await executable(file)) return { file, prefix: [...prefix] };
    }
  return undefined;
}

/** strerror() texts busybox prints after "devmem: mmap: " or "can't open '/dev/mem': ", and their errno. */
const STRERROR: Readonly<Record<string, ErrnoCode>> = {
  'No such file or directory': 'ENOENT',
  'Permission denied': 'EACCES',
  'Operation not permitted': 'EPERM',
  'Invalid argument': 'EINVAL',
  'No such device': 'ENODEV',
  'No such device or address': 'ENXIO',
  'Input/output error': 'EIO',
  'Bad address': 'EFAULT',
  'Cannot allocate memory': 'ENOMEM',
  'Operation not supported': 'EOPNOTSUPP',
};

/**
 * Runs busybox devmem with an argument array and maps its failures to KernelError with the
 * errno it died of and the fix. Messages are busybox's (miscutils/devmem.c: xopen's "can't open
 * '/dev/mem': …", "mmap: …", "bad width"); the errno behind them is drivers/char/mem.c's:
 * open_port() EPERM without CAP_SYS_RAWIO or under lockdown, mmap_mem() EPERM where
 * devmem_is_allowed() (arch/arm64/mm/mmap.c, CONFIG_STRICT_DEVMEM) refuses RAM or an exclusive
 * region, EINVAL past the CPU's physical address range.
 */
async function runDevmem(args: string[], addr: bigint, width: AccessWidth): Promise<string> {
  const cmd = await findDevmem();
  const fail = (code: ErrnoCode, hint: string, cause?: unknown): never => {
    throw new KernelError({ code, syscall: 'devmem', path: DEV_MEM, hint, cause });
  };
  if (!cmd) return fail('ENOENT', 'neither devmem nor busybox is on PATH: install busybox (Debian/Ubuntu: apt install busybox-static; Yocto: busybox with CONFIG_DEVMEM) and run epctl with it on PATH');
  const { execa } = await import('execa');
  const argv = [...cmd.prefix, ...args];
  const shown = [cmd.file, ...argv].join(' ');
  const r = await execa(cmd.file, argv, { reject: false, stdin: 'ignore', timeout: 10_000, env: { LC_ALL: 'C' } });
  if (!r.failed) return String(r.stdout);
  const at = `${hex(addr)} (${width} bits)`;
  const stderr = String(r.stderr ?? '').trim();
  const line = stderr.split('\n').find((l) => l.trim() !== '') ?? '';
  if ((r as { code?: string }).code === 'ENOENT') return fail('ENOENT', `${cmd.file} vanished or cannot be run: install busybox (apt install busybox-static)`, r);
  if (r.timedOut) return fail('ETIMEDOUT', `\`${shown}\` did not finish in 10 s: the access at ${at} may be stalled on the bus; the board may need a reset`, r);
  // busybox does one volatile load or store; nothing answering is an external abort (SIGBUS).
  // (Through a wrapper script the signal shows as exit 128 + SIGBUS (7) and the shell's "Bus error".)
  if (r.signal === 'SIGBUS' || r.exitCode === 135 || /^Bus error/m.test(stderr))
    return fail('EIO', `Bus error: nothing answers at ${at} (devmem was killed by SIGBUS): the block is powered down, clock-gated or absent, or the address is wrong`, r);
  if (r.signal === 'SIGSEGV') return fail('EFAULT', `devmem was killed by SIGSEGV accessing ${at}: the kernel refused the mapping after it was made`, r);
  if (r.signal) return fail('EIO', `devmem was killed by ${r.signal} accessing ${at}`, r);
  if (/applet not found/.test(stderr)) return fail('ENOENT', `${cmd.file} was built without the devmem applet: install a busybox that has it (apt install busybox-static)`, r);
  const open = /can't open '\/dev\/mem': (.+)$/m.exec(stderr);
  if (open) {
    const code = STRERROR[open[1]!.trim()] ?? 'EIO';
    if (code === 'ENOENT') return fail(code, '/dev/mem does not exist: the kernel is built without CONFIG_DEVMEM (or /dev is not devtmpfs); rebuild with CONFIG_DEVMEM=y', r);
    if (code === 'EACCES') return fail(code, '/dev/mem is root\'s (mode 0640 root:kmem): run epctl as root (sudo)', r);
    if (code === 'EPERM')
      return fail(code, 'the kernel refused to open /dev/mem: the process lacks CAP_SYS_RAWIO (run as root, not in an unprivileged container), or the kernel is locked down (lockdown=integrity or Secure Boot forbids /dev/mem)', r);
    return fail(code, `\`${shown}\` could not open /dev/mem: ${open[1]!.trim()}`, r);
  }
  const mmap = /mmap: (.+)$/m.exec(stderr);
  if (mmap) {
    const code = STRERROR[mmap[1]!.trim()] ?? 'EIO';
    if (code === 'EPERM')
      return fail(
        code,
        `the kernel refused to map ${at}: with CONFIG_STRICT_DEVMEM, /dev/mem maps no RAM and no region a driver holds exclusively (arch/arm64/mm/mmap.c devmem_is_allowed); with CONFIG_IO_STRICT_DEVMEM also no MMIO a driver claimed, which booting with iomem=relaxed allows again; for RAM rebuild with CONFIG_STRICT_DEVMEM=n`,
        r,
      );
    if (code === 'EINVAL') return fail(code, `the kernel refused to map ${at}: it lies beyond the CPU's physical address range (valid_mmap_phys_addr_range)`, r);
    return fail(code, `\`${shown}\` could not map ${at}: ${mmap[1]!.trim()}`, r);
  }
  // Upstream devmem takes 8/16/32/64 everywhere; "bad width" means another build or tool.
  if (/bad width/.test(stderr)) return fail('EINVAL', `${cmd.file} answered "bad width" to a ${width}-bit access: it is not upstream busybox's devmem; try WIDTH 8, 16 or 32, or install busybox-static`, r);
  if (/Usage:|invalid number/.test(stderr)) return fail('EINVAL', `${cmd.file} refused the arguments \`${argv.join(' ')}\`: ${line}`, r);
  return fail('EIO', `\`${shown}\` failed (exit ${r.exitCode ?? '?'}): ${line || 'no message'}`, r);
}

const KMSG = '/dev/kmsg';
/** kernel/printk/printk.c devkmsg_read: a record never exceeds CONSOLE_EXT_LOG_MAX (8 KiB). */
const KMSG_RECORD_MAX = 8192;

/** Runs a system tool with an argument array (never a shell); a failure carries its stderr. */
async function runTool(op: 'modprobe' | 'mount', file: string, args: string[], path: string): Promise<string> {
  const { execa } = await import('execa');
  const r = await execa(file, args, { reject: false, stdin: 'ignore', timeout: 60_000 });
  if (r.failed) {
    const why = String(r.stderr || r.stdout || r.shortMessage || '').trim().split('\n')[0] ?? '';
    const missing = (r as { code?: string }).code === 'ENOENT';
    throw new KernelError({
      code: missing ? 'ENOENT' : 'EIO',
      syscall: op,
      path,
      hint: missing ? `${file} is not installed: install kmod (modprobe) or util-linux (mount)` : `\`${file} ${args.join(' ')}\` failed: ${why}`,
    });
  }
  return String(r.stdout);
}
