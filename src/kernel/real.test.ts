import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { RealKernel } from './real.js';
import { KernelError } from './errors.js';
import { DEFAULT_LIMIT } from './limits.js';
import { within } from '../../test/helpers/hostile-sysroot.js';
import { tempDirs } from '../../test/helpers/tmp.js';

const tmp = tempDirs('epctl-real', { each: true });

describe('RealKernel', () => {
  it('issues write(2) even for zero bytes, as `echo -n "" >` does (/dev/full answers ENOSPC only then)', async () => {
    // configfs answers a zero-length write with EFAULT (fs/configfs/file.c, observed 7.3.4): the call must reach it.
    await expect(new RealKernel().write('/dev/full', '')).rejects.toMatchObject({ code: 'ENOSPC', syscall: 'write', path: '/dev/full' });
  });

  it('opens without O_CREAT: a write to a missing file fails with ENOENT and creates nothing', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'nofile');
    await expect(new RealKernel().write(file, '1')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open', path: file });
    await expect(fs.stat(file)).rejects.toThrow();
  });

  it('opens without O_TRUNC and writes the bytes once, returning the count', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'attr');
    await fs.writeFile(file, '0xffff\n');
    expect(await new RealKernel().write(file, '0x19')).toBe(4);
    expect(await fs.readFile(file, 'utf8')).toBe('0x19ff\n');
  });

  it('reports node:fs failures as KernelError with errno, syscall and path in node:fs message shape', async () => {
    const dir = await tmp();
    const e = await new RealKernel().rmdir(path.join(dir, 'missing')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KernelError);
    expect(e).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'rmdir', path: path.join(dir, 'missing') });
    expect((e as Error).message).toBe(`ENOENT: no such file or directory, rmdir '${path.join(dir, 'missing')}'`);
  });

  it('create is open(O_CREAT|O_TRUNC) and close: a new empty file, an existing one truncated; O_EXCL refuses an existing name', async () => {
    const dir = await tmp();
    const k = new RealKernel();
    await k.create(`${dir}/new`);
    expect(await fs.readFile(`${dir}/new`, 'utf8')).toBe('');
    await fs.writeFile(`${dir}/old`, 'x');
    await k.create(`${dir}/old`);
    expect(await fs.readFile(`${dir}/old`, 'utf8')).toBe('');
    await expect(k.create(`${dir}/old`, { exclusive: true })).rejects.toMatchObject({ code: 'EEXIST', syscall: 'open' });
    await k.rename(`${dir}/old`, `${dir}/moved`);
    expect(await k.readdir(dir)).toEqual(expect.arrayContaining(['new', 'moved']));
    const st = await k.lstat(`${dir}/moved`);
    expect(st).toMatchObject({ kind: 'file', uid: process.getuid!(), gid: process.getgid!() });
  });

  it('creates and reads back symlinks and directories, lstat seeing the link itself', async () => {
    const dir = await tmp();
    const k = new RealKernel();
    await k.mkdir(`${dir}/d`);
    await k.symlink('d', `${dir}/l`);
    expect(await k.readlink(`${dir}/l`)).toBe('d');
    expect((await k.lstat(`${dir}/l`)).kind).toBe('symlink');
    expect((await k.stat(`${dir}/l`)).kind).toBe('dir');
    expect(await k.readdir(dir)).toEqual(expect.arrayContaining(['d', 'l']));
    await k.unlink(`${dir}/l`);
    await k.rmdir(`${dir}/d`);
    expect(await k.exists(`${dir}/d`)).toBe(false);
  });
});

describe('RealKernel.read', () => {
  it('refuses a FIFO at once with ENXIO instead of blocking in open, and points at lines()', async () => {
    const fifo = path.join(await tmp(), 'trace_pipe');
    execFileSync('mkfifo', [fifo]);
    const e = await within(2000, new RealKernel().read(fifo)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KernelError);
    expect(e).toMatchObject({ code: 'ENXIO', path: fifo, hint: expect.stringContaining('FIFO') });
  });

  it('refuses a character device (/dev/zero would never end) with ENXIO', async () => {
    await expect(within(2000, new RealKernel().read('/dev/zero'))).rejects.toMatchObject({ code: 'ENXIO', path: '/dev/zero', hint: expect.stringContaining('character device') });
  });

  it('reads a file up to its limit and refuses one byte more with EFBIG, saying the limit', async () => {
    const dir = await tmp();
    await fs.writeFile(`${dir}/at`, Buffer.alloc(DEFAULT_LIMIT.bytes, 0x61));
    await fs.writeFile(`${dir}/over`, Buffer.alloc(DEFAULT_LIMIT.bytes + 1, 0x61));
    expect((await new RealKernel().read(`${dir}/at`)).length).toBe(DEFAULT_LIMIT.bytes);
    await expect(new RealKernel().read(`${dir}/over`)).rejects.toMatchObject({ code: 'EFBIG', syscall: 'read', hint: expect.stringContaining('4 MiB') });
  });

  it('reads a directory as the kernel answers it: EISDIR', async () => {
    const dir = await tmp();
    await expect(new RealKernel().read(dir)).rejects.toMatchObject({ code: 'EISDIR', path: dir });
  });
});

describe('RealKernel.lines', () => {
  it('yields the lines of a file without their newlines, and stops when aborted', async () => {
    const dir = await tmp();
    await fs.writeFile(`${dir}/log`, '6,0,1,-;first\n6,1,2,-;second\n');
    const got: string[] = [];
    for await (const l of new RealKernel().lines(`${dir}/log`)) got.push(l);
    expect(got).toEqual(['6,0,1,-;first', '6,1,2,-;second']);
    const ac = new AbortController();
    ac.abort();
    const none: string[] = [];
    for await (const l of new RealKernel().lines(`${dir}/log`, { signal: ac.signal })) none.push(l);
    expect(none).toEqual([]);
  });
});

describe('RealKernel errno names', () => {
  it("reports libuv's ENOTSUP as the kernel's EOPNOTSUPP (errno 95)", async () => {
    const { fromNodeError } = await import('./errors.js');
    const e = Object.assign(new Error('x'), { code: 'ENOTSUP', errno: -95 });
    expect(fromNodeError(e, 'write', '/sys/kernel/config/pci_ep/x')).toMatchObject({ code: 'EOPNOTSUPP', errno: -95 });
  });
});
