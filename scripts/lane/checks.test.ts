import { describe, expect, it } from 'vitest';
import { checkVntb } from './checks.js';

const EPC = '7e000000.pcie-ep';

/** /proc/interrupts as 7.3.4 prints it (kernel-abi.md §8.4) with the four doorbell rows counting `counts`. */
function interrupts(counts: number[]): string {
  const rows = counts.map((c, i) => `  ${18 + i}:  ${String(c).padStart(9)}  ITS-pMSI-7e000000.pcie-ep    ${i} Edge      pci_epf_vntb_db`);
  return [
    '            CPU0       ',
    '  11:        572  GICv3                       27 Level     arch_timer',
    '  17:          3  ITS-PCI-MSIX-0000:00:02.0    1 Edge      virtio1-input',
    ...rows,
    'IPI0:          0  Rescheduling interrupts',
    ' Err:          0',
    '',
  ].join('\n');
}

const steps = [{ step: 'mkdir functions/pci_epf_vntb/lane_vntb', result: 'ok' }];

describe('the vNTB doorbell verdict', () => {
  it('passes when each ring moves only its own row by one', () => {
    const data = {
      steps,
      afterLink: interrupts([0, 0, 0, 0]),
      afterStart: interrupts([0, 0, 0, 0]),
      ctrl: { dbData: [0, 1, 2, 3], dbOffset: [0x40, 0x40, 0x40, 0x40] },
      rings: [0, 1, 2, 3].map((i) => ({ doorbell: i, address: '0x8090040', data: i, interrupts: interrupts([0, 1, 2, 3].map((j) => (j <= i ? 1 : 0))) })),
    };
    expect(checkVntb(EPC, 4, true, data).findings).toEqual([]);
  });

  it('names the ring that moved another row, and missing rows', () => {
    const data = {
      steps,
      afterLink: interrupts([0, 0, 0]),
      afterStart: interrupts([0, 0, 0]),
      rings: [{ doorbell: 0, address: '0x8090040', data: 0, interrupts: interrupts([1, 1, 0]) }],
    };
    expect(checkVntb(EPC, 4, true, data).findings).toEqual([
      '3 rows on ITS-pMSI-7e000000.pcie-ep after start, expected 4',
      'ringing doorbell 0 (0x8090040 ← 0) moved hwirq 1 by 1, expected 0',
      'rang 1 doorbells, expected 4',
    ]);
  });

  it('without doorbell code, rows are a finding and a clean start is the polling fallback', () => {
    expect(checkVntb(EPC, 4, false, { steps, afterLink: interrupts([]), afterStart: interrupts([]) })).toMatchObject({ findings: [], notes: [expect.stringMatching(/polling/)] });
    expect(checkVntb(EPC, 4, false, { steps, afterLink: interrupts([0]), afterStart: interrupts([0]) }).findings).toEqual(['1 rows on ITS-pMSI-7e000000.pcie-ep on a kernel without doorbell code']);
  });
});
