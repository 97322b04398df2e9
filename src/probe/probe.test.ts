// probe on broken boards: every file probe reads is, in turn, made unreadable or filled with
// arbitrary bytes. probe must still return a report (never a throw but the typed "no board"),
// name the broken path in a problem, and never build an answer from bytes the kernel would not
// have written there.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createFakeKernel } from '../fake/index.js';
import { resolveLink, type KernelPort } from '../kernel/port.js';
import { KernelError } from '../kernel/errors.js';
import type { ErrnoCode } from '../kernel/errno.js';
import { EXIT } from '../exit-codes.js';
import { probe, exitCodeOf, type BoardState } from './probe.js';

type ReadOp = 'read' | 'readdir' | 'readlink';

/** The fake kernel, with one path's reads replaced: an errno, or other bytes, link text or listing. */
function hostile(inner: KernelPort, path: string, op: ReadOp, bad: { errno: ErrnoCode } | { bytes: Uint8Array } | { value: string | string[] }): KernelPort {
  const fail = (syscall: 'open' | 'scandir' | 'readlink') => Promise.reject(new KernelError({ code: (bad as { errno: ErrnoCode }).errno, syscall, path }));
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const orig = Reflect.get(target, prop, receiver) as unknown;
      if (typeof orig !== 'function') return orig;
      if (prop === op)
        return (p: string, ...rest: unknown[]) => {
          if (p !== path) return (orig as (...a: unknown[]) => unknown).call(target, p, ...rest);
          if ('errno' in bad) return fail(op === 'read' ? 'open' : op === 'readdir' ? 'scandir' : 'readlink');
          return Promise.resolve('bytes' in bad ? bad.bytes : bad.value);
        };
      return (orig as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** Every (op, path) probe reads on a board. */
async function touched(board: string): Promise<{ op: ReadOp; path: string }[]> {
  const k = createFakeKernel({ board });
  const seen = new Map<string, { op: ReadOp; path: string }>();
  const port = new Proxy(k as KernelPort, {
    get(target, prop, receiver) {
      const orig = Reflect.get(target, prop, receiver) as unknown;
      if (typeof orig !== 'function') return orig;
      return (...a: unknown[]) => {
        if (prop === 'read' || prop === 'readdir' || prop === 'readlink') seen.set(`${prop} ${a[0]}`, { op: prop, path: a[0] as string });
        return (orig as (...x: unknown[]) => unknown).apply(target, a);
      };
    },
  });
  await probe(port);
  return [...seen.values()];
}

const EXIT_CODES = new Set<number>(Object.values(EXIT));

function wellFormed(s: BoardState): void {
  expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  expect(EXIT_CODES.has(exitCodeOf(s))).toBe(true);
  for (const p of s.problems) {
    expect(p.path).not.toBe('');
    expect(p.hint).not.toBe('');
  }
  for (const c of s.controllers) expect([true, false, 'unknown']).toContain(c.doorbell.capable);
}

const BOARDS = ['imx95', 'qemu-virt', 'rk3588-msi-map'];

describe('probe with one unreadable file', () => {
  for (const board of BOARDS) {
    it(`on ${board}, reports every other controller and names the file, whichever file it is and whatever the errno`, async () => {
      const healthy = await probe(createFakeKernel({ board }));
      const reads = await touched(board);
      expect(reads.length).toBeGreaterThan(20);
      for (const { op, path } of reads)
        for (const errno of ['EACCES', 'EIO', 'EISDIR', 'ENOTDIR', 'ELOOP'] as const) {
          const s = await probe(hostile(createFakeKernel({ board }), path, op, { errno }));
          wellFormed(s);
          // Every controller is still listed: one broken entry spoils only itself.
          expect(s.controllers.map((c) => c.name)).toEqual(healthy.controllers.map((c) => c.name));
          // Nothing claims more than the healthy board allowed.
          s.controllers.forEach((c, i) => {
            if (c.doorbell.capable === true) expect(healthy.controllers[i]!.doorbell.capable).toBe(true);
          });
          // When the answer changed, a problem says which file broke it.
          if (JSON.stringify({ ...s, problems: [] }) !== JSON.stringify({ ...healthy, problems: [] }))
            expect([...s.problems.map((p) => p.path.replace(/:\d+$/, '')), ...s.kernel.configUnreadable.map((u) => u.path)], `${op} ${path} ${errno}: ${JSON.stringify(s.controllers.map((c) => c.doorbell.reason))}`).toContain(path);
        }
    });
  }
});

describe('probe with arbitrary bytes in one file', () => {
  for (const board of ['imx95', 'qemu-virt']) {
    it(`on ${board}, never throws and returns a well-formed report, whichever file holds the bytes`, async () => {
      const reads = (await touched(board)).filter((r) => r.op === 'read');
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...reads), fc.uint8Array({ maxLength: 64 }), async ({ path }, bytes) => {
          wellFormed(await probe(hostile(createFakeKernel({ board }), path, 'read', { bytes })));
        }),
        { numRuns: 120 },
      );
    });
  }

  it('shows a controller as started only when start reads "1\\n", and names start when it holds anything but what the kernel prints', async () => {
    const path = '/sys/kernel/config/pci_ep/controllers/7e000000.pcie-ep/start';
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constantFrom('0\n', '1\n', '1', '0', ' 1\n', 'y\n', '01\n', ''), fc.string({ maxLength: 8 })), async (text) => {
        const s = await probe(hostile(createFakeKernel({ board: 'qemu-virt' }), path, 'read', { bytes: new TextEncoder().encode(text) }));
        const c = s.controllers[0]!;
        const valid = text === '0\n' || text === '1\n';
        expect(c.started).toBe(valid ? text === '1\n' : null);
        expect(s.problems.some((p) => p.path === path && p.code === 'bad-kernel-data')).toBe(!valid);
        if (!valid) expect(exitCodeOf(s)).toBe(EXIT.BAD_DATA);
      }),
      { numRuns: 200 },
    );
  });

  it('takes no release from a /proc/version that is not UTF-8 or not the kernel banner, and says so', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 48 }), async (junk) => {
        const bytes = new Uint8Array([...new TextEncoder().encode('Linux version 7.3.'), ...junk]);
        const s = await probe(hostile(createFakeKernel({ board: 'imx95' }), '/proc/version', 'read', { bytes }));
        let text: string | undefined;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          text = undefined;
        }
        if (text === undefined) {
          expect(s.kernel.release).toBeNull();
          expect(s.problems).toContainEqual(expect.objectContaining({ path: '/proc/version', code: 'bad-kernel-data' }));
        }
        if (s.kernel.release !== null) expect(text).toContain(`Linux version ${s.kernel.release}`);
      }),
      { numRuns: 300 },
    );
  });
});

describe('no verdict built from invalid data', () => {
  const DT = '/sys/firmware/devicetree/base';
  const ITS = '/interrupt-controller@48000000/msi-controller@48040000';
  const EP = '/soc/pcie-ep@4c300000';
  const cellsOf = (b: Uint8Array): number[] | undefined => {
    if (b.length % 4) return undefined;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return Array.from({ length: b.length / 4 }, (_, i) => v.getUint32(i * 4));
  };
  /** What the kernel itself would accept there, judged without epctl's decoders. */
  const ORACLES: Record<string, (b: Uint8Array) => boolean> = {
    // drivers/of/irq.c of_map_id: whole 4-cell entries, one covering ID 0 that names the ITS (phandle 2).
    [`${EP}/msi-map`]: (b) => {
      const c = cellsOf(b);
      if (!c || c.length === 0 || c.length % 4) return false;
      for (let i = 0; i < c.length; i += 4) if (c[i]! === 0 && c[i + 3]! > 0) return c[i + 1] === 2;
      return false;
    },
    // A NUL-terminated string list holding the ITS compatible.
    [`${ITS}/compatible`]: (b) => b.length > 0 && b[b.length - 1] === 0 && new TextDecoder().decode(b).split('\0').includes('arm,gic-v3-its'),
    // The phandle msi-map names: exactly these 4 bytes.
    [`${ITS}/phandle`]: (b) => b.length === 4 && cellsOf(b)![0] === 2,
    // drivers/of/base.c __of_device_is_available: strcmp with "okay" or "ok", so the text up to
    // the first NUL counts (and there must be a NUL within the property).
    [`${EP}/status`]: (b) => b.includes(0) && ['okay', 'ok'].includes(new TextDecoder().decode(b.subarray(0, b.indexOf(0)))),
  };
  const original: Record<string, number[]> = {
    [`${EP}/msi-map`]: [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0x10, 0, 0, 0, 1],
    [`${ITS}/compatible`]: [...new TextEncoder().encode('arm,gic-v3-its\0')],
    [`${ITS}/phandle`]: [0, 0, 0, 2],
    [`${EP}/status`]: [...new TextEncoder().encode('okay\0')],
  };
  /** Arbitrary bytes, and near misses of the real value (one byte changed, cut, extended). */
  const bytesNear = (orig: number[]) =>
    fc.oneof(
      fc.uint8Array({ maxLength: 24 }),
      fc.tuple(fc.nat(orig.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, v]) => Uint8Array.from(orig.map((x, j) => (j === i ? v : x)))),
      fc.nat(orig.length).map((n) => Uint8Array.from(orig.slice(0, n))),
      fc.uint8Array({ minLength: 1, maxLength: 8 }).map((extra) => Uint8Array.from([...orig, ...extra])),
    );

  for (const [file, valid] of Object.entries(ORACLES)) {
    // An ITS doorbell: with a broken msi-map the i.MX95's eDMA still gives an embedded one.
    it(`calls 4c300000.pcie-ep ITS-doorbell-capable only when ${file.slice(file.lastIndexOf('/') + 1)} holds what the kernel would accept (${file})`, async () => {
      await fc.assert(
        fc.asyncProperty(bytesNear(original[file]!), async (bytes) => {
          const s = await probe(hostile(createFakeKernel({ board: 'imx95' }), `${DT}${file}`, 'read', { bytes }));
          const c = s.controllers.find((x) => x.name === '4c300000.pcie-ep')!;
          if (c.doorbell.capable && c.doorbell.mode === 'its') expect(valid(bytes), `capable from ${Buffer.from(bytes).toString('hex')}`).toBe(true);
        }),
        { numRuns: 150 },
      );
    });
  }
});

describe('entries the kernel never shows, named as bad kernel data', () => {
  const EPC = '7e000000.pcie-ep';
  const CLASS = `/sys/class/pci_epc/${EPC}`;
  const problemAt = (s: BoardState, path: string) => s.problems.find((p) => p.path === path && p.code === 'bad-kernel-data');

  it('a class entry that is not a symbolic link (readlink EINVAL)', async () => {
    const s = await probe(hostile(createFakeKernel({ board: 'qemu-virt' }), CLASS, 'readlink', { errno: 'EINVAL' }));
    expect(problemAt(s, CLASS)?.message).toContain('is not a symbolic link');
    expect(s.controllers[0]!.doorbell).toMatchObject({ capable: false, mode: 'unknown', code: 'unreadable' });
  });

  it('a class entry leading to a directory without the device link every EPC has', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    const device = `${resolveLink(CLASS, await k.readlink(CLASS))}/device`;
    const s = await probe(hostile(k, device, 'readlink', { errno: 'ENOENT' }));
    expect(problemAt(s, CLASS)?.message).toContain('which has no device link');
  });

  it('an of_node link that points outside the device tree', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    const device = resolveLink(CLASS, await k.readlink(CLASS));
    const platform = resolveLink(`${device}/device`, await k.readlink(`${device}/device`));
    const s = await probe(hostile(k, `${platform}/of_node`, 'readlink', { value: '/etc' }));
    expect(problemAt(s, `${platform}/of_node`)?.message).toContain('not at a node under /sys/firmware/devicetree/base');
  });

  it('controllers/ without an EPC that /sys/class/pci_epc lists (the kernel registers both together)', async () => {
    const s = await probe(hostile(createFakeKernel({ board: 'qemu-virt' }), '/sys/kernel/config/pci_ep/controllers', 'readdir', { value: [] }));
    expect(problemAt(s, '/sys/kernel/config/pci_ep/controllers')?.message).toContain(`has no ${EPC}`);
    expect(s.controllers.map((c) => c.name)).toEqual([EPC]);
  });

  it("an RC node's msi-map that cannot be read is named in the DeviceID note, not silently skipped", async () => {
    const rcMap = '/sys/firmware/devicetree/base/soc/pcie@4c300000/msi-map';
    const s = await probe(hostile(createFakeKernel({ board: 'imx95' }), rcMap, 'read', { bytes: new Uint8Array([1, 2, 3]) }));
    const c = s.controllers.find((x) => x.name === '4c300000.pcie-ep')!;
    expect(c.doorbell.notes.join(' ')).toContain(`${rcMap} cannot be read`);
  });
});

describe('facts for the NVMe endpoint planner', () => {
  const ONLINE = '/sys/devices/system/cpu/online';

  it('onlineCpus: the count /sys/devices/system/cpu/online lists', async () => {
    expect((await probe(createFakeKernel({ board: 'imx95' }))).onlineCpus).toBe(6);
    expect((await probe(createFakeKernel({ board: 'qemu-virt' }))).onlineCpus).toBe(1);
    const s = await probe(hostile(createFakeKernel({ board: 'qemu-virt' }), ONLINE, 'read', { bytes: Buffer.from('0,2-3\n') }));
    expect(s.onlineCpus).toBe(3);
    expect(s.problems).toEqual([]);
  });

  it('onlineCpus: null without the file (an older recording), with no problem', async () => {
    const s = await probe(hostile(createFakeKernel({ board: 'qemu-virt' }), ONLINE, 'read', { errno: 'ENOENT' }));
    expect(s.onlineCpus).toBeNull();
    expect(s.problems).toEqual([]);
  });

  it('onlineCpus: null, and a problem naming the file, for a list the kernel never writes', async () => {
    for (const text of ['0-3,2-5\n', '\n', 'all\n', '0-3']) {
      const s = await probe(hostile(createFakeKernel({ board: 'qemu-virt' }), ONLINE, 'read', { bytes: Buffer.from(text) }));
      expect(s.onlineCpus, JSON.stringify(text)).toBeNull();
      expect(s.problems).toEqual([expect.objectContaining({ code: 'bad-kernel-data', path: ONLINE })]);
      // The rest of the survey stands.
      expect(s.controllers[0]!.doorbell.capable).toBe(true);
    }
  });

  it('outboundWindows: the Cadence count the driver uses, DesignWare’s advisory num-ob-windows, or null', async () => {
    const windows = async (board: string) => (await probe(createFakeKernel({ board }))).controllers.map((c) => [c.outboundWindows, c.outboundWindowsSource]);
    expect(await windows('qemu-virt')).toEqual([[16, 'cdns,max-outbound-regions']]);
    expect(await windows('imx8mp')).toEqual([[4, 'num-ob-windows']]);
    expect(await windows('imx95')).toEqual([[null, null], [null, null]]);
  });

  it('outboundWindows: a property that is not one u32 is a device-tree problem that spoils nothing else', async () => {
    const prop = '/sys/firmware/devicetree/base/pcie-ep@7e000000/cdns,max-outbound-regions';
    const s = await probe(hostile(createFakeKernel({ board: 'qemu-virt' }), prop, 'read', { bytes: new Uint8Array([0, 0, 16]) }));
    expect(s.controllers[0]).toMatchObject({ outboundWindows: null, outboundWindowsSource: null, doorbell: { capable: true } });
    expect(s.problems).toEqual([expect.objectContaining({ code: 'bad-device-tree', path: prop })]);
  });
});

describe('probe on RK3588: the reserved BAR4', () => {
  it('rk3588 (no msi-map): the embedded doorbell, published in BAR4, and the note that says so', async () => {
    const [c] = (await probe(createFakeKernel({ board: 'rk3588' }))).controllers;
    expect(c!.doorbell).toMatchObject({ capable: true, mode: 'embedded', reservedBar: 4, doorbellBar: { bar: 4, offset: 0xa0 } });
    expect(c!.doorbell.notes[0]).toMatch(/sit in BAR4, .*DB_BAR 4.*db_bar = 4/);
  });

  it('rk3588-msi-map: ITS doorbells; BAR4 still reserved and named in a note', async () => {
    const [c] = (await probe(createFakeKernel({ board: 'rk3588-msi-map' }))).controllers;
    expect(c!.doorbell).toMatchObject({ capable: true, mode: 'its', reservedBar: 4 });
    expect(c!.doorbell.notes.join('\n')).toMatch(/reserves BAR4 for its DMA registers/);
  });
});
