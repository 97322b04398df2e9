// `epctl doorbell watch` in-process: --count N prints N events and no more.
import { describe, it, expect, vi, afterEach } from 'vitest';
import path from 'node:path';
import { main } from '../main.js';
import { openPort } from '../../kernel/open.js';
import type { FakeKernelImpl } from '../../fake/kernel.js';
import { tempDirs } from '../../../test/helpers/tmp.js';

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
});
