// The fake's tracefs (include/trace/events/irq.h): instances, irq events recorded when an IRQ fires, the
// filters epctl writes, the kernel's refusals, and its state through --mock-state.
import { describe, it, expect } from 'vitest';
import { createFakeKernel, loadFakeKernel } from './index.js';
import type { FakeKernelImpl } from './kernel.js';
import { parseTraceLine } from '../tracefs/trace-line.js';
import { FIRE_LOG } from './tracefs.js';

const T = '/sys/kernel/tracing';
const I = `${T}/instances/t1`;
const ENTRY = `${I}/events/irq/irq_handler_entry`;
const CHIP = 'ITS-pMSI-7e000000.pcie-ep';

function kernel(opts: { kernel?: string; config?: Record<string, 'y' | 'n'> } = {}): FakeKernelImpl {
  return createFakeKernel({ board: 'qemu-virt', ...opts }) as FakeKernelImpl;
}

/** Reads trace_pipe until N lines came (the pipe blocks; the abort ends it). */
async function take(k: FakeKernelImpl, path: string, n: number): Promise<string[]> {
  const ac = new AbortController();
  const out: string[] = [];
  for await (const line of k.lines(path, { signal: ac.signal })) {
    out.push(line);
    if (out.length >= n) ac.abort();
  }
  return out;
}

describe('fake tracefs', () => {
  it('exists only with FTRACE, and is listed in /proc/mounts while mounted', async () => {
    const k73 = kernel();
    expect(await k73.readdir(T)).toEqual(['events', 'instances', 'trace', 'trace_clock', 'trace_pipe', 'tracing_on']);
    expect(Buffer.from(await k73.read('/proc/mounts')).toString()).toContain('tracefs /sys/kernel/tracing tracefs');
    const k612 = kernel({ kernel: '6.12', config: { FTRACE: 'n' } });
    await expect(k612.readdir(T)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(Buffer.from(await k612.read('/proc/mounts')).toString()).not.toContain('tracefs');
    const with612 = kernel({ kernel: '6.12', config: { FTRACE: 'y' } });
    expect(await with612.exists(`${T}/events/irq/irq_handler_entry/filter`)).toBe(true);
    k73.setTracefsMounted(false);
    expect(await k73.exists(T + '/trace')).toBe(false);
    expect(await k73.exists('/sys/kernel/debug/tracing/trace')).toBe(true);
    expect(Buffer.from(await k73.read('/proc/mounts')).toString()).not.toContain('tracefs');
  });

  it('records entry and exit lines, as observed on 7.3.4, into instances that enabled them', async () => {
    const k = kernel();
    await k.mkdir(I);
    await expect(k.mkdir(I)).rejects.toMatchObject({ code: 'EEXIST' });
    await k.write(`${ENTRY}/enable`, '1');
    await k.write(`${I}/events/irq/irq_handler_exit/enable`, '1\n');
    const virq = k.irq.request(CHIP, 0, 'Edge', 'pci_epf_vntb_db');
    k.irq.fire(virq, 0);
    const lines = await take(k, `${I}/trace_pipe`, 2);
    expect(lines[0]).toMatch(new RegExp(`^ {10}devmem-${process.pid} +\\[000\\] d\\.h\\.\\. +\\d+\\.\\d{6}: irq_handler_entry: irq=${virq} name=pci_epf_vntb_db$`));
    expect(lines[1]).toMatch(new RegExp(`irq_handler_exit: irq=${virq} ret=handled$`));
    const e = parseTraceLine(lines[0]!);
    expect(e).toMatchObject({ kind: 'irq_handler_entry', irq: virq, name: 'pci_epf_vntb_db', cpu: 0 });
    // The top level had nothing enabled; `trace` shows the header only.
    expect(Buffer.from(await k.read(`${T}/trace`)).toString()).toMatch(/^# tracer: nop\n#\n# entries-in-buffer\/entries-written: 0\/0   #P:1\n/);
    await k.rmdir(I);
    expect(await k.readdir(`${T}/instances`)).toEqual([]);
  });

  it('applies the filters epctl writes and refuses what the kernel refuses with EINVAL', async () => {
    const k = kernel();
    await k.mkdir(I);
    await k.write(`${ENTRY}/enable`, '1');
    expect(Buffer.from(await k.read(`${ENTRY}/filter`)).toString()).toBe('none\n');
    await k.write(`${ENTRY}/filter`, 'name == "pci-ep-test-doorbell" || name ~ "pci_epf_vntb*"\n');
    expect(Buffer.from(await k.read(`${ENTRY}/filter`)).toString()).toBe('name == "pci-ep-test-doorbell" || name ~ "pci_epf_vntb*"\n');
    const a = k.irq.request(CHIP, 0, 'Edge', 'pci-ep-test-doorbell');
    const b = k.irq.request(CHIP, 1, 'Edge', 'pci_epf_vntb_db');
    const c = k.irq.request('GICv3', 40, 'Level', 'uart');
    for (const v of [c, a, c, b]) k.irq.fire(v, 0);
    const got = (await take(k, `${I}/trace_pipe`, 2)).map((l) => parseTraceLine(l));
    expect(got.map((g) => (g?.kind === 'irq_handler_entry' ? g.irq : -1))).toEqual([a, b]);
    await k.write(`${ENTRY}/filter`, `irq == ${c}`);
    k.irq.fire(a, 0);
    k.irq.fire(c, 0);
    expect((await take(k, `${I}/trace_pipe`, 1))[0]).toContain(`irq=${c} name=uart`);
    for (const bad of ['name == 3', 'irq == "x"', 'irq ~ 3', 'nosuch == 1', 'name == "x', '(irq == 1', 'irq == 1 ||', 'name < "a"', 'irq == zz', 'name == x']) {
      await expect(k.write(`${ENTRY}/filter`, bad), bad).rejects.toMatchObject({ code: 'EINVAL' });
      expect(Buffer.from(await k.read(`${ENTRY}/filter`)).toString()).toMatch(/\n *\^\nparse_error: .+\n$/);
    }
    // A failed filter leaves the event unfiltered (apply_event_filter's filter_disable).
    k.irq.fire(a, 0);
    expect((await take(k, `${I}/trace_pipe`, 1))[0]).toContain(`irq=${a}`);
    await k.write(`${ENTRY}/filter`, '0');
    expect(Buffer.from(await k.read(`${ENTRY}/filter`)).toString()).toBe('none\n');
    await expect(k.write(`${ENTRY}/enable`, '2')).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(k.mkdir(`${T}/events/foo`)).rejects.toMatchObject({ code: 'EPERM' });
    await expect(k.rmdir(`${T}/events`)).rejects.toMatchObject({ code: 'EPERM' });
  });

  it('refuses rmdir while trace_pipe is open and a second reader', async () => {
    const k = kernel();
    await k.mkdir(I);
    const ac = new AbortController();
    const it = k.lines(`${I}/trace_pipe`, { signal: ac.signal })[Symbol.asyncIterator]();
    const first = it.next();
    await new Promise((r) => setTimeout(r, 5));
    await expect(k.rmdir(I)).rejects.toMatchObject({ code: 'EBUSY' });
    await expect(k.lines(`${I}/trace_pipe`)[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'EBUSY' });
    ac.abort();
    expect((await first).done).toBe(true);
    await k.rmdir(I);
  });

  it('keeps instances, filters and unread lines through its saved state', async () => {
    const k = kernel();
    await k.mkdir(I);
    await k.write(`${ENTRY}/enable`, '1');
    await k.write(`${ENTRY}/filter`, 'name == "pci_epf_vntb_db"');
    const v = k.irq.request(CHIP, 0, 'Edge', 'pci_epf_vntb_db');
    k.irq.fire(v, 0);
    const again = loadFakeKernel(JSON.parse(JSON.stringify(k.toState()))) as FakeKernelImpl;
    expect(Buffer.from(await again.read(`${ENTRY}/filter`)).toString()).toBe('name == "pci_epf_vntb_db"\n');
    expect(await take(again, `${I}/trace_pipe`, 1)).toEqual(await take(k, `${I}/trace_pipe`, 1));
  });

  it('fires another process made that fell out of its FIRE_LOG reach the local reader as the kernel\'s [LOST n EVENTS] line', async () => {
    const here = kernel();
    const v = here.irq.request(CHIP, 0, 'Edge', 'pci_epf_vntb_db');
    await here.mkdir(I);
    await here.write(`${ENTRY}/filter`, 'name == "pci_epf_vntb_db"');
    await here.write(`${ENTRY}/enable`, '1');
    // Another process, on the same saved board, rings 8000 times.
    const other = loadFakeKernel(JSON.parse(JSON.stringify(here.toState()))) as FakeKernelImpl;
    for (let i = 0; i < 8000; i++) other.irq.fire(v, 0);
    await here.adopt(JSON.parse(JSON.stringify(other.toState())));
    const lines = await take(here, `${I}/trace_pipe`, 1 + FIRE_LOG);
    expect(lines[0]).toBe(`CPU:0 [LOST ${8000 - FIRE_LOG} EVENTS]`);
    expect(parseTraceLine(lines[0]!)).toEqual({ kind: 'lost', cpu: 0, count: 8000 - FIRE_LOG });
    expect(lines.slice(1).every((l) => parseTraceLine(l)?.kind === 'irq_handler_entry')).toBe(true);
  });

  it('has trace_clock as 7.3.4 lists it ([local] by default), takes a listed name (the buffer reset), refuses others with EINVAL, and stamps fires with CLOCK_MONOTONIC', async () => {
    const k = kernel();
    await k.mkdir(I);
    const read = async (): Promise<string> => Buffer.from(await k.read(`${I}/trace_clock`)).toString();
    expect(await read()).toBe('[local] global counter uptime perf mono mono_raw boot tai\n');
    await expect(k.write(`${I}/trace_clock`, 'jiffies')).rejects.toMatchObject({ code: 'EINVAL' });
    await k.write(`${I}/trace_clock`, 'mono\n');
    expect(await read()).toBe('local global counter uptime perf [mono] mono_raw boot tai\n');
    await k.write(`${ENTRY}/enable`, '1');
    const v = k.irq.request(CHIP, 0, 'Edge', 'pci_epf_vntb_db');
    const before = Number(process.hrtime.bigint()) / 1e9;
    k.irq.fire(v, 0);
    const after = Number(process.hrtime.bigint()) / 1e9;
    const e = parseTraceLine((await take(k, `${I}/trace_pipe`, 1))[0]!);
    expect(e?.kind).toBe('irq_handler_entry');
    const t = (e as { usec: number }).usec / 1e6;
    expect(t).toBeGreaterThanOrEqual(before - 1e-6);
    expect(t).toBeLessThanOrEqual(after + 1e-6);
  });
});
