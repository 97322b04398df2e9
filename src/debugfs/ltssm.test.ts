// ltssm_status: the kernel's "%s (0x%02x)\n" lines (two or more hex digits), hostile bytes never
// throwing anything but the typed error, and each reason a reading is missing.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { LTSSM_STATES, LtssmParseError, describeLtssm, ltssmPath, parseLtssm, readLinkState } from './ltssm.js';
import { KernelError } from '../kernel/errors.js';
import type { ErrnoCode } from '../kernel/errno.js';
import type { KernelPort } from '../kernel/port.js';
import { parseRelease } from '../kernel/version.js';
import { createFakeKernel } from '../fake/index.js';

const MOUNTS_WITH_DEBUGFS = 'sysfs /sys sysfs rw 0 0\ndebugfs /sys/kernel/debug debugfs rw,relatime 0 0\n';
const MOUNTS_WITHOUT = 'sysfs /sys sysfs rw 0 0\nproc /proc proc rw 0 0\n';

/** A read-only port over a few files; `errors` makes one path fail with an errno. */
function filesPort(files: Record<string, string>, errors: Record<string, ErrnoCode> = {}): KernelPort {
  const fail = (path: string, code: ErrnoCode): never => {
    throw new KernelError({ code, syscall: 'open', path });
  };
  return {
    backend: 'sysroot',
    origin: 'test',
    read: async (p) => (errors[p] ? fail(p, errors[p]!) : p in files ? new TextEncoder().encode(files[p]) : fail(p, 'ENOENT')),
    exists: async (p) => p in files,
  } as KernelPort;
}

describe('parseLtssm', () => {
  it('reads the kernel lines of pcie-designware-debugfs.c, naming L0 as link up', () => {
    expect(parseLtssm('L0 (0x11)\n')).toEqual({ state: 'L0', code: 0x11, phase: 'l0', linkUp: true });
    expect(parseLtssm('DETECT_QUIET (0x00)\n')).toEqual({ state: 'DETECT_QUIET', code: 0, phase: 'detect', linkUp: false });
    expect(parseLtssm('UNKNOWN (0x3f)\n')).toMatchObject({ state: 'UNKNOWN', code: 0x3f, phase: 'unknown', linkUp: false });
    expect(describeLtssm(parseLtssm('L0 (0x11)\n'))).toBe('L0 (0x11): link up');
  });

  it('takes three hex digits (the posted L1_1 (0x141), linux-pci 2026), never assuming two', () => {
    expect(parseLtssm('L1_1 (0x141)\n')).toEqual({ state: 'L1_1', code: 0x141, phase: 'power-management', linkUp: false });
    expect(describeLtssm(parseLtssm('L1_2 (0x142)\n'))).toBe('L1_2 (0x142): link in a low-power state');
  });

  it('names every state of the enum with its phase, and only L0 is link up', () => {
    LTSSM_STATES.forEach((name, code) => {
      const l = parseLtssm(`${name} (0x${code.toString(16).padStart(2, '0')})\n`);
      expect(l.code).toBe(code);
      expect(l.phase).not.toBe('unknown');
      expect(l.linkUp).toBe(code === 0x11);
    });
  });

  it('refuses what the kernel never prints, with the typed error', () => {
    for (const bad of ['', 'L0', 'L0 (0x1)\n', 'L0 (11)\n', 'L0 (0x11)\n\n', 'l0 (0x11)\n', 'L0 (0X11)\n', ' L0 (0x11)\n', 'L0 (0x11) \n', 'L0 (0xZZ)\n', 'L0 (0x123456789)\n', 'L0\0 (0x11)\n'])
      expect(() => parseLtssm(bad, '/x'), JSON.stringify(bad)).toThrow(LtssmParseError);
  });

  it('on any string, returns a state or throws LtssmParseError, nothing else (fixed seed)', () => {
    const near = fc.tuple(fc.constantFrom(...LTSSM_STATES, 'UNKNOWN', 'L1_1', 'x'), fc.stringMatching(/^[0-9a-fA-FxX]{0,10}$/), fc.constantFrom('\n', '', '\n\n', ' ', '\r\n')).map(([n, h, end]) => `${n} (0x${h})${end}`);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 200 }), near), (text) => {
        try {
          const l = parseLtssm(text, '/x');
          expect(l.code).toBeGreaterThanOrEqual(0);
          expect(l.linkUp).toBe(l.state === 'L0');
        } catch (e) {
          expect(e).toBeInstanceOf(LtssmParseError);
        }
      }),
      { seed: 0x15a5, numRuns: 2000 },
    );
  });

  it('stays linear on a long hostile line (no backtracking blow-up)', () => {
    const t0 = performance.now();
    expect(() => parseLtssm('A'.repeat(1_000_000) + ' (0x11)\n')).toThrow(LtssmParseError);
    expect(() => parseLtssm('L0 (0x' + '1'.repeat(1_000_000))).toThrow(LtssmParseError);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});

describe('readLinkState', () => {
  const epc = 'a40000000.pcie-ep';
  const path = ltssmPath(epc);
  const v = (r: string) => parseRelease(r)!;

  it('reads the file where debugfs is mounted', async () => {
    const s = await readLinkState(filesPort({ '/proc/mounts': MOUNTS_WITH_DEBUGFS, [path]: 'L0 (0x11)\n' }), epc, { version: v('6.18.0') });
    expect(s).toMatchObject({ available: true, state: 'L0', linkUp: true, path, text: 'L0 (0x11): link up' });
  });

  it('follows a debugfs mounted elsewhere', async () => {
    const s = await readLinkState(filesPort({ '/proc/mounts': 'none /mnt/dbg debugfs rw 0 0\n', [ltssmPath(epc, '/mnt/dbg')]: 'POLL_ACTIVE (0x02)\n' }), epc);
    expect(s).toMatchObject({ available: true, state: 'POLL_ACTIVE', phase: 'polling', path: '/mnt/dbg/dwc_pcie_a40000000.pcie-ep/ltssm_status' });
  });

  it('says debugfs is not mounted when /proc/mounts lists none, with the mount command', async () => {
    const s = await readLinkState(filesPort({ '/proc/mounts': MOUNTS_WITHOUT }), epc, { version: v('7.3.4') });
    expect(s).toMatchObject({ available: false, why: 'debugfs-not-mounted', hint: 'mount it: mount -t debugfs none /sys/kernel/debug' });
  });

  it('says the kernel is older than 6.15', async () => {
    const s = await readLinkState(filesPort({ '/proc/mounts': MOUNTS_WITH_DEBUGFS }), epc, { version: v('6.12.117') });
    expect(s).toMatchObject({ available: false, why: 'kernel-too-old' });
    if (!s.available) expect(s.reason).toContain('6.15');
  });

  it('says the kernel has no CONFIG_DEBUG_FS when its config says so', async () => {
    expect(await readLinkState(filesPort({ '/proc/mounts': MOUNTS_WITHOUT }), epc, { debugFs: 'n' })).toMatchObject({ why: 'no-debugfs-config' });
    expect(await readLinkState(filesPort({ '/proc/mounts': MOUNTS_WITH_DEBUGFS }), epc, { version: v('7.3.4'), debugFs: 'n' })).toMatchObject({ why: 'no-debugfs-config' });
  });

  it('on a 6.15+ kernel with debugfs, a missing file means not a DesignWare controller (or not initialised yet)', async () => {
    const s = await readLinkState(filesPort({ '/proc/mounts': MOUNTS_WITH_DEBUGFS }), epc, { version: v('7.3.4'), debugFs: 'y' });
    expect(s).toMatchObject({ available: false, why: 'no-ltssm-file' });
    if (!s.available) expect(s.reason).toMatch(/not a DesignWare controller.*PERST#/);
  });

  it('says only root reads debugfs on EACCES', async () => {
    expect(await readLinkState(filesPort({ '/proc/mounts': MOUNTS_WITH_DEBUGFS }, { [path]: 'EACCES' }), epc)).toMatchObject({ why: 'permission', hint: 'run epctl as root' });
  });

  it('throws the typed error for a file the kernel did not write', async () => {
    await expect(readLinkState(filesPort({ '/proc/mounts': MOUNTS_WITH_DEBUGFS, [path]: 'garbage' }), epc)).rejects.toBeInstanceOf(LtssmParseError);
  });
});

describe('the fake kernel serves ltssm_status', () => {
  it('on a DesignWare board from 6.15: mode 0444, DETECT_QUIET before start, L0 after', async () => {
    const k = createFakeKernel({ board: 'rk3588' });
    const p = ltssmPath('a40000000.pcie-ep');
    expect(await k.stat(p)).toMatchObject({ kind: 'file', mode: 0o444 });
    expect(new TextDecoder().decode(await k.read(p))).toBe('DETECT_QUIET (0x00)\n');
    await k.write('/sys/kernel/config/pci_ep/controllers/a40000000.pcie-ep/start', '1');
    expect(new TextDecoder().decode(await k.read(p))).toBe('L0 (0x11)\n');
    await expect(k.write(p, 'L0')).rejects.toMatchObject({ code: 'EACCES' });
    expect(await k.readdir('/sys/kernel/debug/dwc_pcie_a40000000.pcie-ep')).toContain('ltssm_status');
  });

  it('not before 6.15, not on the Cadence QEMU controller, not without CONFIG_DEBUG_FS', async () => {
    await expect(createFakeKernel({ board: 'rk3588', kernel: '6.12' }).read(ltssmPath('a40000000.pcie-ep'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(createFakeKernel({ board: 'qemu-virt' }).read(ltssmPath('7e000000.pcie-ep'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(createFakeKernel({ board: 'rk3588', config: { DEBUG_FS: 'n' } }).read(ltssmPath('a40000000.pcie-ep'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
