// The private trace instance: found through /proc/mounts or the debugfs automount, set up with
// its filter before the event is enabled, and removed on close and when its set-up fails.
import { describe, it, expect } from 'vitest';
import { createFakeKernel } from '../fake/index.js';
import type { FakeKernelImpl } from '../fake/kernel.js';
import { findTracefs } from './find.js';
import { openIrqTrace } from './session.js';
import { watchDoorbells } from '../doorbell/watch.js';
import type { StreamOptions } from '../kernel/port.js';

const k73 = (): FakeKernelImpl => createFakeKernel({ board: 'qemu-virt' }) as FakeKernelImpl;

describe('tracefs session', () => {
  it('finds tracefs in /proc/mounts, else under debugfs, else nowhere', async () => {
    const k = k73();
    expect(await findTracefs(k)).toEqual({ root: '/sys/kernel/tracing', via: 'mounts' });
    k.setTracefsMounted(false);
    expect(await findTracefs(k)).toEqual({ root: '/sys/kernel/debug/tracing', via: 'debugfs' });
    expect(await findTracefs(createFakeKernel({ board: 'qemu-virt', kernel: '6.1', config: { FTRACE: 'n' } }))).toBeUndefined();
  });

  it('not root (EACCES on the 0700 roots): auto polls saying "run as root", --source tracefs refuses with that fix', async () => {
    const deny = (k: FakeKernelImpl): void => {
      k.injectFault({ op: 'stat', path: '/sys/kernel/tracing/instances', errno: 'EACCES' });
      k.injectFault({ op: 'stat', path: '/sys/kernel/debug/tracing/instances', errno: 'EACCES' });
    };
    const k = k73();
    deny(k);
    expect(await findTracefs(k)).toEqual({ denied: '/sys/kernel/tracing/instances', code: 'EACCES' });
    const a = k73();
    deny(a);
    const ac = new AbortController();
    let limits: string[] = [];
    await watchDoorbells(a, { source: 'auto', signal: ac.signal, onReady: (i) => ((limits = i.limits), ac.abort()), onEvent: () => undefined });
    expect(limits[0]).toMatch(/EACCES.*run as root/);
    expect(limits[0]).not.toMatch(/CONFIG_FTRACE/);
    const t = k73();
    deny(t);
    await expect(watchDoorbells(t, { source: 'tracefs', signal: new AbortController().signal, onEvent: () => undefined })).rejects.toMatchObject({ message: expect.stringMatching(/run as root/), hint: expect.stringMatching(/root/) });
  });

  it('sets the mono trace clock, writes the filter before enabling, and removes the instance on close (twice is harmless)', async () => {
    const k = k73();
    const t = await openIrqTrace(k, { root: '/sys/kernel/tracing', actions: ['pci_epf_vntb_db'], name: 'epctl-test' });
    expect(t.clock).toBe('mono');
    expect(Buffer.from(await k.read('/sys/kernel/tracing/instances/epctl-test/trace_clock')).toString()).toBe('local global counter uptime perf [mono] mono_raw boot tai\n');
    const writes = k.opLog.filter((e) => e.op === 'write').map((e) => [e.path.split('/').pop(), e.data]);
    expect(writes).toEqual([
      ['trace_clock', 'mono'],
      ['filter', 'name == "pci_epf_vntb_db"'],
      ['enable', '1'],
    ]);
    expect(k.traceInstances()).toEqual(['epctl-test']);
    await t.close();
    await t.close();
    expect(k.traceInstances()).toEqual([]);
  });

  it('removes instances of epctl processes that are gone (ESRCH), keeps live ones, and never shares an epctl-<pid> that is not its own', async () => {
    const k = k73();
    const root = '/sys/kernel/tracing';
    const dead = 999_999_001;
    const live = 999_999_002;
    for (const n of [`epctl-${dead}`, `epctl-${dead}-3`, `epctl-${live}`, `epctl-${process.pid}`, 'someone-else']) await k.mkdir(`${root}/instances/${n}`);
    const kill = (pid: number): void => {
      if (pid === dead) throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
      if (pid !== live) throw new Error(`kill(${pid}) not expected`);
    };
    const t = await openIrqTrace(k, { root, actions: ['x'], kill });
    expect(t.dir).toBe(`${root}/instances/epctl-${process.pid}-2`);
    expect(k.traceInstances()).toEqual([`epctl-${live}`, `epctl-${process.pid}`, `epctl-${process.pid}-2`, 'someone-else'].sort());
    await t.close();
    expect(k.traceInstances()).toEqual([`epctl-${live}`, `epctl-${process.pid}`, 'someone-else'].sort());
  });

  it('on a live board the exit hook stops the trace_pipe reader (wakes its read, closes the fd) before it rmdirs, retrying EBUSY while the read lets go', async () => {
    const k = k73();
    const calls: Array<[string, ...Array<number | string>]> = [];
    // The fake as a real board whose trace_pipe reader is told as an OpenPipe.
    const port = new Proxy(k, {
      get(target, prop) {
        if (prop === 'backend') return 'real';
        const v = Reflect.get(target, prop, target) as unknown;
        if (prop === 'lines')
          return (path: string, opts: StreamOptions = {}) => {
            opts.onOpen?.({ fd: 42, mode: 'blocking', stopSync: () => void calls.push(['stop', 42]) });
            return k.lines(path, opts);
          };
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    let hook: (() => void) | undefined;
    let busy = 2;
    const t = await openIrqTrace(port, {
      root: '/sys/kernel/tracing',
      actions: ['x'],
      name: 'epctl-hook',
      atExit: (fn) => ((hook = fn), () => (hook = undefined)),
      sync: {
        rmdirSync: (p) => {
          calls.push(['rmdir', p]);
          if (busy-- > 0) throw Object.assign(new Error('EBUSY'), { code: 'EBUSY' });
        },
        sleepSync: (ms) => void calls.push(['sleep', ms]),
      },
    });
    const ac = new AbortController();
    const it = t.events(ac.signal)[Symbol.asyncIterator]();
    const first = it.next();
    await new Promise((r) => setTimeout(r, 10));
    hook!();
    const dir = '/sys/kernel/tracing/instances/epctl-hook';
    expect(calls).toEqual([['stop', 42], ['rmdir', dir], ['sleep', 1], ['rmdir', dir], ['sleep', 2], ['rmdir', dir]]);
    ac.abort();
    await first;
    await t.close();
    expect(hook).toBeUndefined();
    // A hook whose rmdir stays EBUSY (about half a second of tries) says so, with the fix: cleanup swallows the error.
    const warned: string[] = [];
    const slept: number[] = [];
    const t2 = await openIrqTrace(port, {
      root: '/sys/kernel/tracing',
      actions: ['x'],
      name: 'epctl-hook2',
      atExit: (fn) => ((hook = fn), () => (hook = undefined)),
      warn: (m) => void warned.push(m),
      sync: {
        rmdirSync: () => {
          throw Object.assign(new Error('EBUSY'), { code: 'EBUSY' });
        },
        sleepSync: (ms) => void slept.push(ms),
      },
    });
    hook!();
    expect(slept).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256]);
    expect(warned).toEqual(['epctl: could not remove the trace instance /sys/kernel/tracing/instances/epctl-hook2 (EBUSY); remove it with: rmdir /sys/kernel/tracing/instances/epctl-hook2\n']);
    await t2.close();
  });

  it('removes the instance when its set-up fails', async () => {
    const k = k73();
    k.injectFault({ op: 'write', path: '/sys/kernel/tracing/instances/*/events/irq/irq_handler_entry/enable', errno: 'ENOMEM' });
    await expect(openIrqTrace(k, { root: '/sys/kernel/tracing', actions: ['x'] })).rejects.toMatchObject({ code: 'ENOMEM' });
    expect(k.traceInstances()).toEqual([]);
  });

  it('auto polls instead when no instance can be made (not root), and says why', async () => {
    const k = k73();
    k.injectFault({ op: 'mkdir', path: '/sys/kernel/tracing/instances/*', errno: 'EACCES' });
    const ac = new AbortController();
    let limits: string[] = [];
    await watchDoorbells(k, { source: 'auto', signal: ac.signal, onReady: (i) => ((limits = i.limits), ac.abort()), onEvent: () => undefined });
    expect(limits[0]).toMatch(/EACCES; it needs root/);
  });

  it('a watch that fails half way still removes its instance', async () => {
    const k = k73();
    k.injectFault({ op: 'read', path: '/proc/interrupts', errno: 'EIO', nth: 3 });
    await expect(watchDoorbells(k, { source: 'tracefs', intervalMs: 1, signal: new AbortController().signal, onEvent: () => undefined })).rejects.toMatchObject({ code: 'EIO' });
    expect(k.traceInstances()).toEqual([]);
  });
});
