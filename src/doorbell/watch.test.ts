// doorbell watch over the fake kernel: a doorbell row allocated, rung N times and freed gives
// exact counts from both sources, a pci-epf-test doorbell that lives between two polls is
// still counted through tracefs, and the tracefs instance is gone afterwards.
import { describe, it, expect } from 'vitest';
import { createFakeKernel, loadFakeKernel } from '../fake/index.js';
import { FIRE_LOG } from '../fake/tracefs.js';
import type { FakeKernelImpl } from '../fake/kernel.js';
import { watchDoorbells, type DoorbellEvent, type LostEvents, type WatchInfo, type WatchSource } from './watch.js';
import { DOORBELL_ACTION, EMBEDDED_DOORBELL_CHIP, doorbellChip } from '../procfs/interrupts.js';

const EPC = '7e000000.pcie-ep';
const CHIP = doorbellChip(EPC);

interface Run {
  k: FakeKernelImpl;
  events: DoorbellEvent[];
  info: Promise<WatchInfo>;
  until(pred: (e: DoorbellEvent[]) => boolean): Promise<void>;
  stop(): Promise<void>;
}

function start(source: WatchSource, opts: { kernel?: string; intervalMs?: number; noFtrace?: boolean } = {}): Run {
  const k = createFakeKernel({ board: 'qemu-virt', ...(opts.kernel ? { kernel: opts.kernel } : {}), ...(opts.noFtrace ? { config: { FTRACE: 'n' } } : {}) }) as FakeKernelImpl;
  const events: DoorbellEvent[] = [];
  const waiters: Array<() => void> = [];
  const ac = new AbortController();
  let ready!: (i: WatchInfo) => void;
  const info = new Promise<WatchInfo>((r) => (ready = r));
  const done = watchDoorbells(k, {
    source,
    intervalMs: opts.intervalMs ?? 2,
    signal: ac.signal,
    onReady: ready,
    onEvent: (e) => {
      events.push(e);
      for (const w of waiters.splice(0)) w();
    },
  });
  done.catch(() => undefined);
  return {
    k,
    events,
    info,
    async until(pred) {
      const deadline = Date.now() + 5000;
      while (!pred(events)) {
        if (Date.now() > deadline) throw new Error(`timed out; events: ${JSON.stringify(events)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 20);
        });
      }
    },
    async stop() {
      ac.abort();
      await done;
    },
  };
}

const rungs = (es: DoorbellEvent[], virq: number): number => es.filter((e) => e.virq === virq && e.event === 'rung').reduce((s, e) => s + e.delta, 0);

describe('doorbell watch', () => {
  for (const source of ['tracefs', 'poll'] as const) {
    it(`${source}: allocated, rung 37 times, freed, with exact counts`, async () => {
      const w = start(source);
      expect((await w.info).source).toBe(source);
      const virq = w.k.irq.request(CHIP, 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
      await w.until((es) => es.some((e) => e.event === 'allocated' && e.virq === virq));
      for (let i = 0; i < 37; i++) w.k.irq.fire(virq, 0);
      await w.until((es) => rungs(es, virq) === 37);
      w.k.irq.free(virq);
      await w.until((es) => es.some((e) => e.event === 'freed' && e.virq === virq));
      await w.stop();
      const mine = w.events.filter((e) => e.virq === virq);
      expect(mine[0]).toMatchObject({ event: 'allocated', controller: EPC, chip: CHIP, index: 0, action: 'pci_epf_vntb_db', count: 0, delta: 0 });
      expect(mine.at(-1)).toMatchObject({ event: 'freed', count: 37 });
      expect(rungs(w.events, virq)).toBe(37);
      if (source === 'tracefs') {
        expect(mine.filter((e) => e.event === 'rung')).toHaveLength(37);
        expect(mine.filter((e) => e.event === 'rung').map((e) => e.count)).toEqual(Array.from({ length: 37 }, (_, i) => i + 1));
      }
      expect(w.k.traceInstances()).toEqual([]);
    });
  }

  it('tracefs: a pci-epf-test doorbell enabled, rung 5 times and disabled between two polls is counted exactly', async () => {
    const w = start('tracefs', { intervalMs: 50 });
    await w.info;
    const virq = w.k.irq.request(CHIP, 0, 'Edge', DOORBELL_ACTION.pci_epf_test);
    for (let i = 0; i < 5; i++) w.k.irq.fire(virq, 0);
    w.k.irq.free(virq);
    await w.until((es) => es.some((e) => e.event === 'freed' && e.virq === virq));
    await w.stop();
    const mine = w.events.filter((e) => e.virq === virq);
    expect(mine.map((e) => e.event)).toEqual(['allocated', 'rung', 'rung', 'rung', 'rung', 'rung', 'freed']);
    expect(mine.at(-1)).toMatchObject({ count: 5, action: 'pci-ep-test-doorbell' });
    expect(w.k.traceInstances()).toEqual([]);
  });

  for (const source of ['tracefs', 'poll'] as const) {
    it(`${source}: --controller shows that controller's doorbells only`, async () => {
      const k = createFakeKernel({ board: 'qemu-virt' }) as FakeKernelImpl;
      const other = k.irq.request(doorbellChip('4c380000.pcie-ep'), 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
      const mine = k.irq.request(CHIP, 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
      const events: DoorbellEvent[] = [];
      const ac = new AbortController();
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      const done = watchDoorbells(k, { source, intervalMs: 2, controller: EPC, signal: ac.signal, onReady: () => ready(), onEvent: (e) => events.push(e) });
      await isReady;
      await new Promise((r) => setTimeout(r, 20));
      for (let i = 0; i < 3; i++) {
        k.irq.fire(other, 0);
        k.irq.fire(mine, 0);
      }
      for (const deadline = Date.now() + 5000; rungs(events, mine) < 3; await new Promise((r) => setTimeout(r, 10)))
        if (Date.now() > deadline) throw new Error(JSON.stringify(events));
      await new Promise((r) => setTimeout(r, 30));
      ac.abort();
      await done;
      expect(events.every((e) => e.virq === mine && e.controller === EPC)).toBe(true);
      expect(rungs(events, mine)).toBe(3);
    });
  }

  it('tracefs --controller: an embedded (dw-edma-emul) doorbell is kept, one whose row is gone is kept unattributed with a note, never another controller', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' }) as FakeKernelImpl;
    const events: DoorbellEvent[] = [];
    const warnings: string[] = [];
    const ac = new AbortController();
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const done = watchDoorbells(k, { source: 'tracefs', intervalMs: 1000, controller: EPC, signal: ac.signal, onReady: () => ready(), onWarning: (m) => warnings.push(m), onEvent: (e) => events.push(e) });
    await isReady;
    const edma = k.irq.request(EMBEDDED_DOORBELL_CHIP, 0, 'Edge', DOORBELL_ACTION.pci_epf_test);
    for (let i = 0; i < 2; i++) k.irq.fire(edma, 0);
    const gone = k.irq.request(doorbellChip('4c380000.pcie-ep'), 0, 'Edge', DOORBELL_ACTION.pci_epf_test);
    k.irq.fire(gone, 0);
    k.irq.fire(gone, 0);
    k.irq.free(gone);
    for (const deadline = Date.now() + 5000; rungs(events, edma) < 2 || rungs(events, gone) < 2; await new Promise((r) => setTimeout(r, 10)))
      if (Date.now() > deadline) throw new Error(JSON.stringify(events));
    ac.abort();
    await done;
    expect(events.filter((e) => e.virq === edma).map((e) => [e.event, e.controller, e.chip])).toEqual([
      ['allocated', null, EMBEDDED_DOORBELL_CHIP],
      ['rung', null, EMBEDDED_DOORBELL_CHIP],
      ['rung', null, EMBEDDED_DOORBELL_CHIP],
    ]);
    expect(events.filter((e) => e.virq === gone).every((e) => e.controller === null)).toBe(true);
    expect(events.every((e) => e.controller === null || e.controller === EPC)).toBe(true);
    expect(warnings.filter((w) => /controller is unknown/.test(w))).toHaveLength(1);
  });

  it('--controller a name the board does not have is a usage error naming the ones it has', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    await expect(watchDoorbells(k, { source: 'auto', controller: 'nope', signal: new AbortController().signal, onEvent: () => undefined })).rejects.toMatchObject({
      exitCode: 64,
      message: expect.stringMatching(/--controller nope: .*it has 7e000000\.pcie-ep/),
    });
  });

  it('tracefs: rings another process made that fell out of the fake\'s fire log are reported as lost, not hidden', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' }) as FakeKernelImpl;
    const virq = k.irq.request(CHIP, 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
    const events: DoorbellEvent[] = [];
    const lost: LostEvents[] = [];
    const ac = new AbortController();
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const done = watchDoorbells(k, { source: 'tracefs', intervalMs: 50, signal: ac.signal, onReady: () => ready(), onLost: (l) => lost.push(l), onEvent: (e) => events.push(e) });
    await isReady;
    const other = loadFakeKernel(JSON.parse(JSON.stringify(k.toState()))) as FakeKernelImpl;
    for (let i = 0; i < 8000; i++) other.irq.fire(virq, 0);
    await k.adopt(JSON.parse(JSON.stringify(other.toState())));
    for (const deadline = Date.now() + 10000; rungs(events, virq) < FIRE_LOG; await new Promise((r) => setTimeout(r, 10)))
      if (Date.now() > deadline) throw new Error(`rungs ${rungs(events, virq)}`);
    ac.abort();
    const summary = await done;
    expect(rungs(events, virq)).toBe(FIRE_LOG);
    expect(lost).toEqual([{ time: expect.any(Number), event: 'lost', cpu: 0, count: 8000 - FIRE_LOG }]);
    expect(summary.lostTraceEvents).toBe(8000 - FIRE_LOG);
  });

  it('tracefs: one clock per stream, the baseline (CLOCK_MONOTONIC) and the rings (trace clock) never run backwards', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' }) as FakeKernelImpl;
    const virq = k.irq.request(CHIP, 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
    const events: DoorbellEvent[] = [];
    const ac = new AbortController();
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const done = watchDoorbells(k, { source: 'tracefs', intervalMs: 5, signal: ac.signal, onReady: () => ready(), onEvent: (e) => events.push(e) });
    await isReady;
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 5));
      k.irq.fire(virq, 0);
    }
    const late = k.irq.request(CHIP, 1, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
    for (const deadline = Date.now() + 5000; rungs(events, virq) < 3 || !events.some((e) => e.virq === late); await new Promise((r) => setTimeout(r, 10)))
      if (Date.now() > deadline) throw new Error(JSON.stringify(events));
    ac.abort();
    await done;
    const times = events.map((e) => e.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const now = Number(process.hrtime.bigint()) / 1e9;
    for (const t of times) expect(Math.abs(now - t)).toBeLessThan(10);
  });

  it('auto falls back to polling on a kernel without FTRACE and says what it cannot see', async () => {
    // qemu-virt models the lane's kernel, which has FTRACE on every release: switched off here.
    const w = start('auto', { kernel: '6.12', noFtrace: true });
    const info = await w.info;
    await w.stop();
    expect(info.source).toBe('poll');
    expect(info.limits.join('\n')).toMatch(/CONFIG_FTRACE/);
    expect(info.limits.join('\n')).toMatch(/never seen/);
  });

  it('--source tracefs on a kernel without FTRACE is refused with the fix', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '6.12', config: { FTRACE: 'n' } });
    await expect(watchDoorbells(k, { source: 'tracefs', intervalMs: 5, signal: new AbortController().signal, onEvent: () => undefined })).rejects.toMatchObject({ hint: expect.stringMatching(/--source poll/) });
  });
});

/** Timers under the test's hand: `fire()` runs the one due first and lets the watch react. */
function manualTimers() {
  let t = 0;
  let timers: { at: number; ms: number; fn: () => void }[] = [];
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  };
  return {
    now: () => t,
    setTimeout(fn: () => void, ms: number): unknown {
      const h = { at: t + ms, ms, fn };
      timers.push(h);
      return h;
    },
    clearTimeout(h: unknown): void {
      timers = timers.filter((x) => x !== h);
    },
    settle,
    /** The waits under way: how long each was set for. */
    pending: () => timers.map((x) => x.ms),
    /** Moves the clock by MS, short of any timer (none runs). */
    advance(ms: number): void {
      if (timers.some((x) => x.at <= t + ms)) throw new Error('a timer is due before that');
      t += ms;
    },
    /** Moves the clock to the next timer and runs it; returns how far the clock moved. */
    async fire(): Promise<number> {
      await settle();
      timers.sort((a, b) => a.at - b.at);
      const next = timers.shift();
      if (!next) throw new Error('no timer');
      const moved = next.at - t;
      t = next.at;
      next.fn();
      await settle();
      return moved;
    },
  };
}

describe('the poll beside tracefs slows down while the board is quiet (idleIntervalMs)', () => {
  async function quietWatch(opts: { source?: WatchSource; idleIntervalMs?: number } = {}) {
    const k = createFakeKernel({ board: 'qemu-virt' }) as FakeKernelImpl;
    const timers = manualTimers();
    const events: DoorbellEvent[] = [];
    const polls: number[] = [];
    const ac = new AbortController();
    let ready!: (i: WatchInfo) => void;
    const info = new Promise<WatchInfo>((r) => (ready = r));
    const done = watchDoorbells(k, {
      source: opts.source ?? 'tracefs',
      intervalMs: 100,
      ...('idleIntervalMs' in opts ? (opts.idleIntervalMs === undefined ? {} : { idleIntervalMs: opts.idleIntervalMs }) : { idleIntervalMs: 1000 }),
      timers,
      signal: ac.signal,
      onReady: ready,
      onPoll: (s) => polls.push(s),
      onEvent: (e) => events.push(e),
    });
    await info;
    await timers.settle();
    return { k, timers, events, polls, info, stop: async () => (ac.abort(), await done) };
  }

  it('doubles its period from intervalMs to idleIntervalMs while nothing happens, and polls every time it waited', async () => {
    const w = await quietWatch();
    const waited: number[] = [];
    for (let i = 0; i < 7; i++) waited.push(await w.timers.fire());
    expect(waited).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(w.polls).toHaveLength(7);
    await w.stop();
  });

  it('a trace line cuts a long wait short to intervalMs, and the rings are all counted', async () => {
    const w = await quietWatch();
    for (let i = 0; i < 5; i++) await w.timers.fire();
    expect(w.timers.pending()).toEqual([1000]);
    const virq = w.k.irq.request(CHIP, 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
    for (let i = 0; i < 3; i++) w.k.irq.fire(virq, 0);
    await w.timers.settle();
    // The first ring read the row at once (allocated), and the wait is now intervalMs.
    expect(w.events.filter((e) => e.virq === virq).map((e) => e.event)).toEqual(['allocated', 'rung', 'rung', 'rung']);
    expect(w.timers.pending()).toEqual([100]);
    expect(await w.timers.fire()).toBe(100);
    // A poll right after rings stays fast; then, quiet again, it slows down again.
    const waited: number[] = [];
    for (let i = 0; i < 4; i++) waited.push(await w.timers.fire());
    expect(waited).toEqual([100, 200, 400, 800]);
    await w.stop();
  });

  it('a trace line late in a long wait leaves it as it is when less than intervalMs is left', async () => {
    const w = await quietWatch();
    for (let i = 0; i < 5; i++) await w.timers.fire();
    expect(w.timers.pending()).toEqual([1000]);
    w.timers.advance(950);
    const virq = w.k.irq.request(CHIP, 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
    w.k.irq.fire(virq, 0);
    await w.timers.settle();
    expect(w.events.filter((e) => e.virq === virq).map((e) => e.event)).toEqual(['allocated', 'rung']);
    // 50 ms were left: the poll comes then, not 100 ms from the ring.
    expect(await w.timers.fire()).toBe(50);
    await w.stop();
  });

  it('a row nobody rings is seen within idleIntervalMs, and one that goes within idleIntervalMs + intervalMs', async () => {
    const w = await quietWatch();
    for (let i = 0; i < 6; i++) await w.timers.fire();
    expect(w.timers.pending()).toEqual([1000]);
    const virq = w.k.irq.request(CHIP, 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
    expect(await w.timers.fire()).toBe(1000);
    expect(w.events.filter((e) => e.virq === virq).map((e) => e.event)).toEqual(['allocated']);
    // A change brings the fast period back.
    expect(w.timers.pending()).toEqual([100]);
    for (let i = 0; i < 4; i++) await w.timers.fire();
    expect(w.timers.pending()).toEqual([1000]);
    w.k.irq.free(virq);
    let waited = await w.timers.fire();
    expect(w.events.filter((e) => e.virq === virq).map((e) => e.event)).toEqual(['allocated']);
    waited += await w.timers.fire();
    expect(w.events.filter((e) => e.virq === virq).map((e) => e.event)).toEqual(['allocated', 'freed']);
    expect(waited).toBe(1000 + 100);
    await w.stop();
  });

  it('the poll source keeps intervalMs: there the poll counts the rings', async () => {
    const w = await quietWatch({ source: 'poll' });
    expect((await w.info).intervalMs).toBe(100);
    const waited: number[] = [];
    for (let i = 0; i < 5; i++) waited.push(await w.timers.fire());
    expect(waited).toEqual([100, 100, 100, 100, 100]);
    await w.stop();
  });

  it('without idleIntervalMs the period stays intervalMs (`epctl doorbell watch`)', async () => {
    const w = await quietWatch({ idleIntervalMs: undefined });
    const waited: number[] = [];
    for (let i = 0; i < 5; i++) waited.push(await w.timers.fire());
    expect(waited).toEqual([100, 100, 100, 100, 100]);
    await w.stop();
  });
});
