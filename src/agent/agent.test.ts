// The agent's loop on the fake kernel with a manual clock: READY only after the first apply has
// converged; a refused first apply and ready_on_failure; the bounded wait for controllers;
// reload on a change and on SIGHUP; a bad config keeps the last good one and the board as it
// was; watchdog pings at half the period; drift reported, and corrected when the config says so.
import { describe, it, expect, afterEach, vi } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createFakeKernel, type FakeKernel } from '../fake/index.js';
import { loadOwnership, type Ownership } from '../state/ownership.js';
import { loadConfigText } from '../config/load.js';
import { observePciEp } from '../configfs/observe.js';
import { Agent, DOORBELL_IDLE_POLL_MS, namedControllers, type AgentClock, type AgentDeps } from './agent.js';
import type { Notifier } from './notify.js';
import type { AgentStatus } from './status.js';
import type { FakeKernelImpl } from '../fake/kernel.js';
import { DOORBELL_ACTION, doorbellChip } from '../procfs/interrupts.js';
import { createMetrics } from './metrics.js';
import { parsePromText } from '../../test/helpers/prom-text.js';
import { DEFAULT_INTERVAL_MS } from '../doorbell/watch.js';

const TEST = `version: 1
agent: { drift_interval_s: 30 }
controllers: { auto: { start: true } }
functions:
  - { driver: pci_epf_test, name: t0, controller: auto, header: { deviceid: 0xb500 }, msi_interrupts: 2, msix_interrupts: 2 }
`;

function manualClock(): AgentClock & { advance(ms: number): Promise<void>; pending(): number } {
  let t = 0;
  let timers: { at: number; fn: () => void }[] = [];
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  };
  return {
    now: () => t,
    setTimeout(fn, ms) {
      const h = { at: t + ms, fn };
      timers.push(h);
      return h;
    },
    clearTimeout(h) {
      timers = timers.filter((x) => x !== h);
    },
    async advance(ms) {
      const end = t + ms;
      for (;;) {
        await settle();
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (!next || next.at > end) break;
        timers.shift();
        t = next.at;
        next.fn();
      }
      t = end;
      await settle();
    },
    pending: () => timers.length,
  };
}

function recorder(watchdogMs: number | null = null): Notifier & { sent: Record<string, string>[] } {
  const sent: Record<string, string>[] = [];
  return { active: true, watchdogMs, sent, notify: async (f) => void sent.push({ ...f }) };
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  dirs = [];
});

async function setup(text: string, opts: { watchdogMs?: number; kernel?: FakeKernel; watch?: boolean; realClock?: boolean; hooks?: AgentDeps['hooks'] } = {}) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-agent-'));
  dirs.push(dir);
  const file = path.join(dir, 'epctl.yaml');
  await fs.writeFile(file, text);
  const k = opts.kernel ?? createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
  const ownership: Ownership = await loadOwnership(undefined, k.origin);
  const clock = manualClock();
  const notifier = recorder(opts.watchdogMs ?? null);
  // The second board cycle (the first is the controller probe) is the start's apply: held at
  // `inApply` until `release()` once a test asks for it (`holdApply()`), else run at once.
  let cycles = 0;
  let hold = false;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let applying!: () => void;
  const inApply = new Promise<void>((r) => (applying = r));
  const withBoard: ConstructorParameters<typeof Agent>[0]['withBoard'] = async (fn) => {
    if (++cycles === 2 && hold) {
      applying();
      await gate;
    }
    return fn({ port: k, ownership });
  };
  const agent = new Agent({
    configFile: file,
    load: loadConfigText,
    withBoard,
    notifier,
    log: quiet,
    ...(opts.realClock ? {} : { clock }),
    waitPollMs: 1000,
    ...(opts.watch ? { watchBoard: (fn: (port: FakeKernel) => Promise<void>) => fn(k) } : {}),
    ...(opts.hooks ? { hooks: opts.hooks } : {}),
  });
  const functions = async () => (await observePciEp(k, (fn) => fn())).functions.map((f) => `${f.driver}/${f.name}`);
  const holdApply = () => {
    hold = true;
    return { inApply, release };
  };
  return { dir, file, k, agent, clock, notifier, functions, holdApply };
}

describe('epctl agent', () => {
  it('sends READY only after the first apply has converged, with the STATUS lines a person sees', async () => {
    const { agent, notifier, functions, k } = await setup(TEST);
    expect(await agent.start()).toEqual({ ready: true });
    const ready = notifier.sent.findIndex((m) => m['READY'] === '1');
    const applying = notifier.sent.findIndex((m) => m['STATUS']?.startsWith('applying'));
    expect(applying).toBeGreaterThanOrEqual(0);
    expect(ready).toBeGreaterThan(applying);
    expect(notifier.sent[ready]!['STATUS']).toMatch(/^converged to .*epctl\.yaml \(\d+ operations\)$/);
    expect(await functions()).toEqual(['pci_epf_test/t0']);
    expect(agent.status).toMatchObject({ phase: 'converged', lastApply: { reason: 'start', outcome: 'applied' }, applies: { total: 1, failed: 0 } });
    expect(agent.status.board?.pciEp.functions.map((f) => f.name)).toEqual(['t0']);
    expect(k.tainted).toBe(false);
    await agent.stop();
  });

  it('a first apply that is refused sends no READY, unless the config tolerates it', async () => {
    const bad = TEST.replace('controller: auto', 'controller: nope').replace('drift_interval_s: 30', 'drift_interval_s: 30, wait_timeout_s: 0');
    const a = await setup(bad);
    expect(await a.agent.start()).toEqual({ ready: false });
    expect(a.notifier.sent.some((m) => m['READY'])).toBe(false);
    expect(a.agent.status).toMatchObject({ phase: 'failed', lastApply: { outcome: 'refused' } });
    expect(a.agent.status.statusLine).toContain('nope');
    const b = await setup(bad.replace('wait_timeout_s: 0', 'wait_timeout_s: 0, ready_on_failure: true'));
    expect(await b.agent.start()).toEqual({ ready: true });
    expect(b.notifier.sent.find((m) => m['READY'])!['STATUS']).toMatch(/^refused: /);
    await a.agent.stop();
    await b.agent.stop();
  });

  it('waits for a controller the config names, says so in its status, and gives up after wait_timeout_s', async () => {
    const { agent, clock, notifier } = await setup(TEST.replace('controller: auto', 'controller: a0.pcie-ep').replace('drift_interval_s: 30', 'drift_interval_s: 30, wait_timeout_s: 5'));
    const started = agent.start();
    await vi.waitFor(() => expect(agent.status.phase).toBe('waiting'));
    expect(agent.status.waitingFor).toEqual(['a0.pcie-ep']);
    expect(notifier.sent.at(-1)!['STATUS']).toBe('waiting for a0.pcie-ep (0 of 5 s)');
    await clock.advance(5000);
    expect(await started).toEqual({ ready: false });
    expect(agent.status.lastApply?.errors[0]).toContain('a0.pcie-ep');
  });

  it('stopped while it waits for a controller, it applies nothing and never sends READY', async () => {
    const { agent, notifier, functions } = await setup(TEST.replace('controller: auto', 'controller: a0.pcie-ep').replace('drift_interval_s: 30', 'drift_interval_s: 30, wait_timeout_s: 600'));
    const started = agent.start();
    await vi.waitFor(() => expect(agent.status.phase).toBe('waiting'));
    await agent.stop();
    expect(await started).toEqual({ ready: false });
    expect(notifier.sent.some((m) => m['READY'] || m['STATUS']?.startsWith('applying'))).toBe(false);
    expect(await functions()).toEqual([]);
  });

  it('reloads a changed config (file change or SIGHUP) and applies it', async () => {
    const { agent, file, functions } = await setup(TEST);
    await agent.start();
    await fs.writeFile(file, TEST.replace('name: t0', 'name: t1'));
    expect(await agent.reload('config-changed')).toBe('applied');
    expect(await functions()).toEqual(['pci_epf_test/t1']);
    expect(await agent.reload('sighup')).toBe('nothing');
    expect(agent.status.lastApply).toMatchObject({ reason: 'sighup', outcome: 'nothing' });
    await agent.stop();
  });

  it('a reload while the start waits for a controller applies nothing and tells systemd nothing: the start applies the config it read', async () => {
    const waiting = TEST.replace('controller: auto', 'controller: a0.pcie-ep').replace('drift_interval_s: 30', 'drift_interval_s: 30, wait_timeout_s: 600');
    const { agent, file, clock, notifier, functions } = await setup(waiting);
    const started = agent.start();
    await vi.waitFor(() => expect(agent.status.phase).toBe('waiting'));
    // The same config: still waiting, nothing applied, no READY (systemd would think it started).
    expect(await agent.reload('sighup')).toBe('deferred');
    expect(agent.status.phase).toBe('waiting');
    expect(notifier.sent.some((m) => m['READY'] || m['RELOADING'] || m['STATUS']?.startsWith('applying'))).toBe(false);
    expect(await functions()).toEqual([]);
    // A config naming the board's controller: the wait ends at its next poll and the start applies it.
    await fs.writeFile(file, TEST.replace('name: t0', 'name: t1'));
    expect(await agent.reload('config-changed')).toBe('deferred');
    await clock.advance(1000);
    expect(await started).toEqual({ ready: true });
    expect(await functions()).toEqual(['pci_epf_test/t1']);
    expect(agent.status.lastApply).toMatchObject({ reason: 'start', outcome: 'applied' });
    expect(notifier.sent.filter((m) => m['READY'])).toHaveLength(1);
    expect(notifier.sent.some((m) => m['RELOADING'])).toBe(false);
    await agent.stop();
  });

  it('stopped during its first apply, it lets the apply finish and sends no READY after STOPPING', async () => {
    const { agent, notifier, k, holdApply } = await setup(TEST);
    const { inApply, release } = holdApply();
    const started = agent.start();
    await inApply;
    const stopped = agent.stop();
    release();
    await stopped;
    expect(await started).toEqual({ ready: false });
    // The apply was not cut: the board is as configured.
    expect((await observePciEp(k, (fn) => fn())).functions.map((f) => f.name)).toEqual(['t0']);
    const stopping = notifier.sent.findIndex((m) => m['STOPPING']);
    expect(stopping).toBeGreaterThanOrEqual(0);
    expect(notifier.sent.some((m) => m['READY'])).toBe(false);
  });

  it('a reload that read the config after the start apply began is applied once READY is sent', async () => {
    const { agent, notifier, k, file, holdApply } = await setup(TEST);
    const { inApply, release } = holdApply();
    const started = agent.start();
    await inApply;
    await fs.writeFile(file, TEST.replace('name: t0', 'name: t1'));
    expect(await agent.reload('sighup')).toBe('deferred');
    release();
    expect(await started).toEqual({ ready: true });
    await vi.waitFor(() => expect(agent.status.lastApply).toMatchObject({ reason: 'sighup', outcome: 'applied' }));
    expect((await observePciEp(k, (fn) => fn())).functions.map((f) => f.name)).toEqual(['t1']);
    const firstReady = notifier.sent.findIndex((m) => m['READY']);
    expect(notifier.sent[firstReady]!['STATUS']).toMatch(/^converged to /);
    expect(notifier.sent.findIndex((m) => m['RELOADING'])).toBeGreaterThan(firstReady);
    await agent.stop();
  });

  it('a reload whose config is read while READY is being sent is applied, not lost', async () => {
    const { agent, notifier, file, k } = await setup(TEST);
    // SIGHUP (or an editor's save) while systemd-notify READY=1 still runs.
    let reloading: Promise<unknown> | undefined;
    const send = notifier.notify;
    notifier.notify = async (f) => {
      if (f['READY'] && !reloading) {
        await fs.writeFile(file, TEST.replace('name: t0', 'name: t1'));
        // Its config read (a file read: a trip through the threadpool) ends after READY is sent.
        reloading = agent.reload('sighup');
      }
      return send(f);
    };
    expect(await agent.start()).toEqual({ ready: true });
    expect(await reloading).toBe('applied');
    expect(agent.status.lastApply).toMatchObject({ reason: 'sighup', outcome: 'applied' });
    expect((await observePciEp(k, (fn) => fn())).functions.map((f) => f.name)).toEqual(['t1']);
    await agent.stop();
  });

  it('stopped while READY is being sent, it arms no timer again (its watchdog would keep the process 15 s)', async () => {
    const { agent, notifier, clock } = await setup(TEST, { watchdogMs: 30_000 });
    const send = notifier.notify;
    let stopping: Promise<void> | undefined;
    notifier.notify = async (f) => {
      if (f['READY'] && !stopping) stopping = agent.stop();
      return send(f);
    };
    await agent.start();
    await stopping;
    expect(clock.pending()).toBe(0);
    expect(notifier.sent.findIndex((m) => m['STOPPING'])).toBeGreaterThanOrEqual(0);
    expect(notifier.sent.some((m) => m['WATCHDOG'])).toBe(false);
  });

  it('refuses a bad config with its error and keeps the last good one, the board untouched', async () => {
    const { agent, file, functions, notifier } = await setup(TEST);
    await agent.start();
    const sha = agent.status.config.sha256;
    await fs.writeFile(file, TEST.replace('msi_interrupts: 2', 'msi_interrupts: 99'));
    expect(await agent.reload('config-changed')).toBe('config-refused');
    expect(agent.status.config.error).toMatch(/functions\.0\.msi_interrupts/);
    expect(agent.status.config.sha256).toBe(sha);
    expect(agent.status.phase).toBe('converged');
    expect(notifier.sent.at(-1)!['STATUS']).toMatch(/^config refused, keeping the last good one: /);
    expect(await functions()).toEqual(['pci_epf_test/t0']);
    // The drift check still compares against the last good config.
    expect(await agent.checkDrift()).toBe('same');
    await agent.stop();
  });

  it('pings the watchdog at half the period systemd asks for, and stops pinging when stopped', async () => {
    const { agent, clock, notifier } = await setup(TEST.replace('drift_interval_s: 30', 'drift_interval_s: 0'), { watchdogMs: 10_000 });
    await agent.start();
    const pings = () => notifier.sent.filter((m) => m['WATCHDOG'] === '1').length;
    expect(pings()).toBe(0);
    await clock.advance(4999);
    expect(pings()).toBe(0);
    await clock.advance(1);
    expect(pings()).toBe(1);
    await clock.advance(10_000);
    expect(pings()).toBe(3);
    await agent.stop();
    expect(notifier.sent.at(-1)).toEqual({ STOPPING: '1' });
    await clock.advance(60_000);
    expect(pings()).toBe(3);
  });

  it('notices a hand-made change within drift_interval_s and reports it; corrects it only when told', async () => {
    const { agent, clock, k } = await setup(TEST);
    await agent.start();
    await k.write('/sys/kernel/config/pci_ep/controllers/7e000000.pcie-ep/start', '0');
    await clock.advance(30_000);
    expect(agent.status.drift.detected?.operations).toEqual(['echo 1 > controllers/7e000000.pcie-ep/start']);
    expect(agent.status.applies.driftCorrections).toBe(0);
    await agent.stop();

    const c = await setup(TEST.replace('drift_interval_s: 30', 'drift_interval_s: 30, correct_drift: true'));
    await c.agent.start();
    await c.k.write('/sys/kernel/config/pci_ep/controllers/7e000000.pcie-ep/start', '0');
    await c.clock.advance(30_000);
    expect(c.agent.status.applies.driftCorrections).toBe(1);
    expect(c.agent.status.drift.detected).toBeNull();
    expect(await c.agent.checkDrift()).toBe('same');
    await c.agent.stop();
  });

  it('watches doorbells once ready: counts per virq in its status, and every event to subscribers', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' }) as FakeKernelImpl;
    const { agent } = await setup(TEST.replace('drift_interval_s: 30', 'drift_interval_s: 0'), { kernel: k, watch: true, realClock: true });
    const seen: string[] = [];
    agent.subscribe((e) => seen.push(`${e.event} ${e.virq} ${e.count}`));
    await agent.start();
    const virq = k.irq.request(doorbellChip('7e000000.pcie-ep'), 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
    await vi.waitFor(() => expect(seen).toContain(`allocated ${virq} 0`), { timeout: 5000 });
    k.irq.fire(virq, 0);
    k.irq.fire(virq, 0);
    await vi.waitFor(() => expect(agent.status.doorbells.counts).toEqual([expect.objectContaining({ virq, index: 0, count: 2, action: DOORBELL_ACTION.pci_epf_vntb })]), { timeout: 5000 });
    expect(agent.status.doorbells.recent.filter((e) => e.event === 'rung')).toHaveLength(2);
    await agent.stop();
  });

  it('times every /proc/interrupts poll of its doorbell watch into epctl_interrupts_poll_seconds, polling slower while the board is quiet', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' }) as FakeKernelImpl;
    let status: (() => AgentStatus) | undefined;
    const metrics = createMetrics({ status: () => status?.(), defaultMetrics: false });
    let polls = 0;
    const polled = (s: number): void => {
      polls++;
      metrics.observePoll(s);
    };
    const { agent, clock } = await setup(TEST.replace('drift_interval_s: 30', 'drift_interval_s: 0'), { kernel: k, watch: true, hooks: { polled } });
    status = () => agent.status;
    await agent.start();
    // The watch is set up (tracefs on the fake) once its first poll waits on the clock.
    await vi.waitFor(() => expect(clock.pending()).toBe(1), { timeout: 5000 });
    const count = async (): Promise<number> => parsePromText(await metrics.text()).get('epctl_interrupts_poll_seconds')!.samples.find((x) => x.name === 'epctl_interrupts_poll_seconds_count')!.value;
    expect(await count()).toBe(0);
    const N = 5;
    // A ring before each poll keeps the period fast (the watch backs off only while nothing happens).
    const virq = k.irq.request(doorbellChip('7e000000.pcie-ep'), 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
    for (let i = 0; i < N; i++) {
      k.irq.fire(virq, 0);
      await clock.advance(DEFAULT_INTERVAL_MS.tracefs);
    }
    expect(polls).toBe(N);
    expect(await count()).toBe(N);
    // Quiet, the poll slows down to DOORBELL_IDLE_POLL_MS (rings would still come from the trace).
    await clock.advance(100 + 200 + 400 + 800 + DOORBELL_IDLE_POLL_MS);
    expect(polls).toBe(N + 5);
    await clock.advance(DOORBELL_IDLE_POLL_MS);
    expect(polls).toBe(N + 6);
    expect(await count()).toBe(N + 6);
    await agent.stop();
  });

  it('names the controllers a config waits for', () => {
    expect(namedControllers({ version: 1, controllers: { auto: {} }, functions: [{ driver: 'pci_epf_ntb', name: 'n', primary: 'a', secondary: 'b' }] })).toEqual({ names: ['a', 'b'], any: true });
  });
});
