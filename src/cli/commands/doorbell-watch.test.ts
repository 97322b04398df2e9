// `epctl doorbell watch` in-process: --count N prints N events and no more, the numeric flags
// refuse what a timer cannot wait (hostile inputs generated with a fixed seed), and a
// --controller the board does not have is a usage error naming the ones it has.
import { describe, it, expect, vi, afterEach } from 'vitest';
import path from 'node:path';
import fc from 'fast-check';
import { main } from '../main.js';
import { openPort } from '../../kernel/open.js';
import type { FakeKernelImpl } from '../../fake/kernel.js';
import { EpctlError } from '../../kernel/errors.js';
import { EXIT } from '../../exit-codes.js';
import { tempDirs } from '../../../test/helpers/tmp.js';
import { MAX_TIMER_MS, watchNumbers } from './doorbell-watch.js';

const tmp = tempDirs('epctl-dbwatch-cli');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main(argv);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('epctl doorbell watch (in-process)', () => {
  it('--count 1 on a board with 4 doorbells prints exactly 1 event', async () => {
    const file = path.join(await tmp(), 'board.json');
    const o = await openPort({ mock: 'qemu-virt', mockState: file });
    for (let i = 0; i < 4; i++) (o.port as FakeKernelImpl).irq.request('ITS-pMSI-7e000000.pcie-ep', i, 'Edge', 'pci_epf_vntb_db');
    await o.close();
    for (const source of ['tracefs', 'poll']) {
      const r = await run(['doorbell', 'watch', '--mock', 'qemu-virt', '--mock-state', file, '--json', '--source', source, '--count', '1', '--interval', '1']);
      expect(r.code).toBe(0);
      const lines = r.out.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'allocated', controller: '7e000000.pcie-ep' });
    }
  });

  it('--interval and --duration above what setTimeout can wait are usage errors naming the flag and the limit', async () => {
    const r = await run(['doorbell', 'watch', '--mock', 'qemu-virt', '--duration', '2147484']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.err).toMatch(/--duration 2147484: above the limit of 2147483 s/);
    const i = await run(['doorbell', 'watch', '--mock', 'qemu-virt', '--interval', String(MAX_TIMER_MS + 1)]);
    expect(i.code).toBe(EXIT.USAGE);
    expect(i.err).toMatch(/--interval 2147483648: above the limit of 2147483647 ms/);
  });

  it('hostile --interval/--count/--duration values: a usage error or a number setTimeout can wait (fixed seed)', () => {
    const hostile = fc.oneof(
      fc.string(),
      fc.constantFrom('1e309', 'Infinity', 'NaN', '-0', '0x10', '1e3', '9'.repeat(400), '2147483648', '2147483.648', '2147484', '0.0000001', ' 1', '1 ', '+1', '00', '0.'),
      fc.double({ noNaN: false }).map(String),
      fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
      fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}.${b}`),
    );
    fc.assert(
      fc.property(fc.constantFrom('interval', 'count', 'duration'), hostile, (flag, value) => {
        let got: ReturnType<typeof watchNumbers>;
        try {
          got = watchNumbers({ [flag]: value });
        } catch (e) {
          expect(e).toBeInstanceOf(EpctlError);
          expect((e as EpctlError).exitCode).toBe(EXIT.USAGE);
          expect((e as EpctlError).message.startsWith(`--${flag} `)).toBe(true);
          return;
        }
        const n = got[flag as keyof typeof got]!;
        expect(Number.isFinite(n) && n > 0).toBe(true);
        if (flag === 'interval') expect(n).toBeLessThanOrEqual(MAX_TIMER_MS);
        if (flag === 'duration') expect(n * 1000).toBeLessThanOrEqual(MAX_TIMER_MS);
        if (flag === 'count') expect(Number.isSafeInteger(n)).toBe(true);
      }),
      { seed: 20261130, numRuns: 2000 },
    );
  });
});
