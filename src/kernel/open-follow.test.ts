// --mock-state followed across processes: a watch on one fake kernel sees the doorbells that
// another fake kernel, sharing the state file, allocates, rings and frees; the follower never
// writes the file back when it changed nothing. (Two kernels in one test process stand for the
// two epctl processes; the file is the only thing they share.)
import { describe, it, expect, vi } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { openPort, type OpenPort } from './open.js';
import type { FakeKernelImpl } from '../fake/kernel.js';
import { watchDoorbells, type DoorbellEvent, type WatchSource } from '../doorbell/watch.js';
import { DOORBELL_ACTION, doorbellChip } from '../procfs/interrupts.js';
import { tempDirs } from '../../test/helpers/tmp.js';

const newDir = tempDirs('epctl-follow');
const CHIP = doorbellChip('7e000000.pcie-ep');

/** What `epctl mock host ring` does, as another process: load the file, change, save. */
async function otherProcess(file: string, fn: (k: FakeKernelImpl) => void): Promise<void> {
  const open = await openPort({ mock: 'qemu-virt', mockState: file });
  fn(open.port as FakeKernelImpl);
  await open.close();
}

describe('--mock-state followed by a read-only watch', () => {
  for (const source of ['tracefs', 'poll'] as const satisfies readonly WatchSource[]) {
    it(`${source}: sees another process allocate, ring and free a doorbell, and leaves the file alone`, async () => {
      const file = path.join(await newDir(), 'board.json');
      await otherProcess(file, () => undefined);
      const follower: OpenPort = await openPort({ mock: 'qemu-virt', mockState: file, follow: true });
      const events: DoorbellEvent[] = [];
      const ac = new AbortController();
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      const done = watchDoorbells(follower.port, { source, intervalMs: 5, signal: ac.signal, onReady: () => ready(), onEvent: (e) => events.push(e) });
      await isReady;
      const until = async (pred: () => boolean): Promise<void> => {
        for (const deadline = Date.now() + 5000; !pred(); await new Promise((r) => setTimeout(r, 10)))
          if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(events)}`);
      };
      let virq = 0;
      await otherProcess(file, (k) => {
        virq = k.irq.request(CHIP, 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
      });
      await until(() => events.some((e) => e.event === 'allocated' && e.virq === virq));
      await otherProcess(file, (k) => {
        for (let i = 0; i < 3; i++) k.irq.fire(virq, 0);
      });
      await until(() => events.some((e) => e.event === 'rung' && e.count === 3));
      await otherProcess(file, (k) => k.irq.free(virq));
      await until(() => events.some((e) => e.event === 'freed'));
      ac.abort();
      await done;
      const before = await fs.stat(file);
      await follower.close();
      const after = await fs.stat(file);
      expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
      const mine = events.filter((e) => e.virq === virq);
      expect(mine.map((e) => e.event)).toEqual(source === 'tracefs' ? ['allocated', 'rung', 'rung', 'rung', 'freed'] : ['allocated', 'rung', 'freed']);
      expect(mine.at(-1)).toMatchObject({ count: 3, controller: '7e000000.pcie-ep' });
      // The follower's tracefs instance never reached the file.
      const saved = JSON.parse(await fs.readFile(file, 'utf8'));
      expect(Object.keys(saved.model.tracefs?.instances ?? {})).toEqual([]);
    });
  }
});

describe('a follower polls for as long as it runs', () => {
  it('keeps no log of its reads (bounded memory), yet still knows when it changed the board', async () => {
    const file = path.join(await newDir(), 'board.json');
    const follower = await openPort({ mock: 'qemu-virt', mockState: file, follow: true });
    const k = follower.port as FakeKernelImpl;
    for (let i = 0; i < 500; i++) await k.read('/proc/interrupts');
    expect(k.opLog.length).toBe(0);
    expect(k.changedBoard()).toBe(false);
    await k.mkdir('/sys/kernel/config/pci_ep/functions/pci_epf_test/t');
    expect(k.opLog.map((e) => e.op)).toEqual(['mkdir']);
    expect(k.changedBoard()).toBe(true);
    await follower.close();
  });
});

describe('a reader of --mock-state', () => {
  it('never writes the file back when it changed nothing (it holds no lock: another process may have saved meanwhile)', async () => {
    const file = path.join(await newDir(), 'board.json');
    await otherProcess(file, () => undefined);
    const reader = await openPort({ mock: 'qemu-virt', mockState: file });
    await reader.port.read('/proc/interrupts');
    await reader.port.peek(0x08090040n, 32);
    // Meanwhile a writer saves a change.
    await otherProcess(file, (k) => void k.irq.request(CHIP, 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb));
    const saved = await fs.readFile(file, 'utf8');
    await reader.close();
    expect(await fs.readFile(file, 'utf8')).toBe(saved);
  });

  it('creates a missing file, as --mock-state promises', async () => {
    const file = path.join(await newDir(), 'new.json');
    const reader = await openPort({ mock: 'qemu-virt', mockState: file });
    await reader.close();
    expect((await fs.stat(file)).isFile()).toBe(true);
  });
});

describe('a follower learns of a save from the file, not from its times', () => {
  /** The fds of this process open on PATH (the live file; a replaced one reads "… (deleted)"). */
  const fdsOn = async (file: string): Promise<string[]> => {
    const out: string[] = [];
    for (const fd of await fs.readdir('/proc/self/fd')) {
      const to = await fs.readlink(`/proc/self/fd/${fd}`).catch(() => '');
      if (to.startsWith(file)) out.push(to);
    }
    return out;
  };

  it('sees a save of the same size whose times are set back to the old ones (a save within one tick of the coarse clock)', async () => {
    const file = path.join(await newDir(), 'board.json');
    let virq = 0;
    await otherProcess(file, (k) => {
      virq = k.irq.request(CHIP, 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
    });
    const t0 = await fs.readFile(file, 'utf8');
    // One ring, saved as another process would; then both texts padded to one size (JSON allows
    // the blanks) and saved as writeStateFile does, by a rename.
    await otherProcess(file, (o) => o.irq.fire(virq, 0));
    const t1 = await fs.readFile(file, 'utf8');
    const size = Math.max(t0.length, t1.length) + 16;
    const save = async (text: string): Promise<void> => {
      await fs.writeFile(`${file}.tmp`, text.trimEnd().padEnd(size - 1) + '\n');
      await fs.rename(`${file}.tmp`, file);
    };
    // One round time for both saves, as the coarse clock would give two saves within a tick.
    const tick = 1_700_000_000;
    await save(t0);
    await fs.utimes(file, tick, tick);
    const follower = await openPort({ mock: 'qemu-virt', mockState: file, follow: true });
    const k = follower.port as FakeKernelImpl;
    const before = await fs.stat(file);
    await save(t1);
    await fs.utimes(file, tick, tick);
    expect((await fs.stat(file)).size).toBe(before.size);
    expect((await fs.stat(file)).mtimeMs).toBe(before.mtimeMs);
    const rings = async (): Promise<string> => (await k.read('/proc/interrupts')).toString().split('\n').find((l) => l.trim().startsWith(`${virq}:`)) ?? '';
    await vi.waitFor(async () => expect(await rings()).toMatch(new RegExp(`^\\s*${virq}:\\s+1\\s`)), { timeout: 5000 });
    // It holds the inode it read (so no later save can get its number), and only that one.
    expect(await fdsOn(file)).toEqual([file]);
    await follower.close();
    expect(await fdsOn(file)).toEqual([]);
  });
});
