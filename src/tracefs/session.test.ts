// The private trace instance: found through /proc/mounts or the debugfs automount, set up with
// its filter before the event is enabled, and removed on close and when its set-up fails.
import { describe, it, expect } from 'vitest';
import { createFakeKernel } from '../fake/index.js';
import type { FakeKernelImpl } from '../fake/kernel.js';
import { findTracefs } from './find.js';
import { openIrqTrace } from './session.js';
import { watchDoorbells } from '../doorbell/watch.js';

const k73 = (): FakeKernelImpl => createFakeKernel({ board: 'qemu-virt' }) as FakeKernelImpl;

describe('tracefs session', () => {
  it('finds tracefs in /proc/mounts, else under debugfs, else nowhere', async () => {
    const k = k73();
    expect(await findTracefs(k)).toEqual({ root: '/sys/kernel/tracing', via: 'mounts' });
    k.setTracefsMounted(false);
    expect(await findTracefs(k)).toEqual({ root: '/sys/kernel/debug/tracing', via: 'debugfs' });
    expect(await findTracefs(createFakeKernel({ board: 'qemu-virt', kernel: '6.1', config: { FTRACE: 'n' } }))).toBeUndefined();
  });

  it('writes the filter before enabling, and removes the instance on close (twice is harmless)', async () => {
    const k = k73();
    const t = await openIrqTrace(k, { root: '/sys/kernel/tracing', actions: ['pci_epf_vntb_db'], name: 'epctl-test' });
    const writes = k.opLog.filter((e) => e.op === 'write').map((e) => [e.path.split('/').pop(), e.data]);
    expect(writes).toEqual([
      ['filter', 'name == "pci_epf_vntb_db"'],
      ['enable', '1'],
    ]);
    expect(k.traceInstances()).toEqual(['epctl-test']);
    await t.close();
    await t.close();
    expect(k.traceInstances()).toEqual([]);
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
