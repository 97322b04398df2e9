import { describe, expect, it } from 'vitest';
import { firstDivergence, normaliseIrqRow, normaliseLog } from './normalise.js';
import type { Op, OpResult } from './ops.js';

describe('the normalisation', () => {
  it('drops console timestamps and pids, nothing else, outside splats', () => {
    expect(normaliseLog(['<6>[   39.218533] pci_epf_test pci_epf_test.0: Failed to get DMA channel', '<4>note: node[50] exited with preempt_count 1'])).toEqual([
      '<6>pci_epf_test pci_epf_test.0: Failed to get DMA channel',
      '<4>note: node[N] exited with preempt_count 1',
    ]);
    // An offset outside a splat is not a register dump: kept.
    expect(normaliseLog(['<6>x+0x14/0x44'])).toEqual(['<6>x+0x14/0x44']);
  });

  it("blanks the uuid of nvmet_pci_epf's random host NQN, nothing else of the line (rule 5)", () => {
    expect(normaliseLog(['<6>nvmet: Created nvm controller 1 for subsystem nqn.2026-11.io.epctl:lane for NQN nqn.2014-08.org.nvmexpress:uuid:b15a4e19-9198-4cf2-8b8d-054a19542449.'])).toEqual([
      '<6>nvmet: Created nvm controller 1 for subsystem nqn.2026-11.io.epctl:lane for NQN nqn.2014-08.org.nvmexpress:uuid:U.',
    ]);
    // A uuid elsewhere (a subsystem NQN a person chose) is kept.
    expect(normaliseLog(['<6>x nqn.2026-11.io:uuid:b15a4e19-9198-4cf2-8b8d-054a19542449'])).toEqual(['<6>x nqn.2026-11.io:uuid:b15a4e19-9198-4cf2-8b8d-054a19542449']);
  });

  it('drops register lines and symbol offsets inside a WARN splat, keeps the frames and the rest', () => {
    const splat = [
      '<6>------------[ cut here ]------------',
      '<4>WARNING: drivers/pci/endpoint/pci-ep-cfs.c:251 at pci_epc_epf_unlink+0x14/0x44, CPU#0: node/50',
      '<4>CPU: 0 UID: 0 PID: 50 Comm: node Not tainted 7.3.4 #1 PREEMPTLAZY',
      '<4>pstate: 61400005 (nZCv daif +PAN -UAO -TCO +DIT -SSBS BTYPE=--)',
      '<4>pc : pci_epc_epf_unlink+0x14/0x44',
      '<4>lr : configfs_unlink+0x100/0x1c8',
      '<4>sp : ffff80008123bd30',
      '<4>x29: ffff80008123bd30 x28: ffff000001f2a640 x27: 0000000000000000',
      '<4>Call trace:',
      '<4> pci_epc_epf_unlink+0x14/0x44 (P)',
      '<4>---[ end trace 0000000000000000 ]---',
      '<6>after+0x1/0x2',
    ];
    expect(normaliseLog(splat)).toEqual([
      '<6>------------[ cut here ]------------',
      '<4>WARNING: drivers/pci/endpoint/pci-ep-cfs.c:251 at pci_epc_epf_unlink, CPU#0: node/N',
      '<4>CPU: 0 UID: 0 PID: N Comm: node Not tainted 7.3.4 #1 PREEMPTLAZY',
      '<4>Call trace:',
      '<4> pci_epc_epf_unlink (P)',
      '<4>---[ end trace 0000000000000000 ]---',
      '<6>after+0x1/0x2',
    ]);
  });

  it("blanks the timer's counts only", () => {
    expect(normaliseIrqRow(' 11:       3412      GICv3  27 Level     arch_timer')).toBe(' 11:       N      GICv3  27 Level     arch_timer');
    const db = ' 20:          1  ITS-pMSI-7e000000.pcie-ep    0 Edge      pci_epf_vntb_db';
    expect(normaliseIrqRow(db)).toBe(db);
  });

  it('finds the first differing result, a missing one included, and ignores field order', () => {
    const ops: Op[] = [{ op: 'read', path: 'a' }, { op: 'read', path: 'b' }];
    const a: OpResult[] = [{ ret: 'ok', data: '1\n', log: [] }, { ret: 'ok', data: '2\n', log: [] }];
    const b: OpResult[] = [{ log: [], data: '1\n', ret: 'ok' }, { ret: 'ok', data: '3\n', log: [] }];
    expect(firstDivergence(ops, a, a)).toBeUndefined();
    expect(firstDivergence(ops, a, b)).toMatchObject({ index: 1, op: ops[1] });
    expect(firstDivergence(ops, a, a.slice(0, 1))).toMatchObject({ index: 1, fake: undefined });
  });
});
