// probe on broken boards: every file probe reads is, in turn, made unreadable or filled with
// arbitrary bytes. probe must still return a report (never a throw but the typed "no board"),
// name the broken path in a problem, and never build an answer from bytes the kernel would not
// have written there.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createFakeKernel } from '../fake/index.js';
import type { KernelPort } from '../kernel/port.js';
import { KernelError } from '../kernel/errors.js';
import type { ErrnoCode } from '../kernel/errno.js';
import { EXIT } from '../exit-codes.js';
import { probe, exitCodeOf, type BoardState } from './probe.js';

type ReadOp = 'read' | 'readdir' | 'readlink';

/** The fake kernel, with one path's reads replaced: an errno, or other bytes. */
function hostile(inner: KernelPort, path: string, op: ReadOp, bad: { errno: ErrnoCode } | { bytes: Uint8Array }): KernelPort {
  const fail = (syscall: 'open' | 'scandir' | 'readlink') => Promise.reject(new KernelError({ code: (bad as { errno: ErrnoCode }).errno, syscall, path }));
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const orig = Reflect.get(target, prop, receiver) as unknown;
      if (typeof orig !== 'function') return orig;
      if (prop === op)
        return (p: string, ...rest: unknown[]) => {
          if (p !== path) return (orig as (...a: unknown[]) => unknown).call(target, p, ...rest);
          if ('errno' in bad) return fail(op === 'read' ? 'open' : op === 'readdir' ? 'scandir' : 'readlink');
          return Promise.resolve(bad.bytes);
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
