// The cheap doorbell-row finder agrees with parseInterrupts on /proc/interrupts texts the fake
// renders in all three layouts (kernel/irq/proc.c), for every controller and for one.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { IrqTable } from '../fake/irq.js';
import { parseRelease } from '../kernel/version.js';
import { parseInterrupts, doorbellChip } from '../procfs/interrupts.js';
import { findDoorbellRows, DOORBELL_ACTIONS } from './rows.js';
import type { BootIrq } from '../boards/types.js';

// classic (< 6.14), decimal (6.14 .. 7.1), tabular (7.2+): src/fake/irq.ts interruptsLayout.
const RELEASES = ['6.12.117', '6.15.2', '7.3.4'];
const EPCS = ['7e000000.pcie-ep', 'a40000000.pcie-ep', '4c380000.pcie-ep'];

const irqArb = fc.record({
  chip: fc.oneof(
    fc.constantFrom(...EPCS).map(doorbellChip),
    fc.constantFrom('GICv3', 'ITS-PCI-MSIX-0000:00:01.0', 'ITS-MSI', 'ITS-pMSI', 'ITS-pMSI-', 'pMSI-ITS-pMSI-x'),
  ),
  hwirq: fc.option(fc.nat(2000), { nil: undefined }),
  trigger: fc.constantFrom('Edge' as const, 'Level' as const),
  actions: fc.array(fc.oneof(fc.constantFrom(...DOORBELL_ACTIONS, 'dw-edma-core:a40000000.pcie-ep', 'nvme0q1', 'ITS-pMSI-7e000000.pcie-ep', 'pci-ep-test-doorbell2'), fc.stringMatching(/^[a-z][a-z0-9_:.-]{0,12}$/)), { minLength: 1, maxLength: 3 }),
});

function render(release: string, cpus: number, specs: Array<Omit<BootIrq, 'irq' | 'counts'>>, counts: number[][]): string {
  const v = parseRelease(release)!;
  const irqs: BootIrq[] = specs.map((s, k) => ({ ...s, irq: 10 + k * 3, counts: counts[k] ?? [] }));
  return IrqTable.fromBoard(irqs, cpus, v).procInterrupts();
}

describe('findDoorbellRows', () => {
  it('agrees with parseInterrupts on generated texts of every layout', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RELEASES),
        fc.integer({ min: 1, max: 16 }),
        fc.array(irqArb, { minLength: 0, maxLength: 40 }),
        fc.array(fc.array(fc.nat(), { maxLength: 16 }), { maxLength: 40 }),
        fc.option(fc.constantFrom(...EPCS), { nil: undefined }),
        (release, cpus, specs, counts, epc) => {
          const text = render(release, cpus, specs as Array<Omit<BootIrq, 'irq' | 'counts'>>, counts);
          const want = parseInterrupts(text)
            .rows.filter((r) => r.irq !== undefined && r.chip !== undefined && (epc === undefined ? r.chip.startsWith('ITS-pMSI-') && r.chip.length > 9 : r.chip === doorbellChip(epc)))
            .filter((r) => r.actions.some((a) => DOORBELL_ACTIONS.includes(a)))
            .map((r) => ({ virq: r.irq, chip: r.chip, index: r.hwirq, actions: r.actions, counts: r.counts }));
          const got = findDoorbellRows(text, epc).map((r) => ({ virq: r.virq, chip: r.chip, index: r.index, actions: r.actions, counts: r.counts }));
          expect(got).toEqual(want);
        },
      ),
      { seed: 20261130, numRuns: 300 },
    );
  });

  it('reads the observed 7.3.4 vNTB rows and the pre-6.14 RK3588 row', () => {
    const t734 = `            CPU0       \n  18:          5  ITS-pMSI-7e000000.pcie-ep    0 Edge      pci_epf_vntb_db\n  19:          0  ITS-pMSI-7e000000.pcie-ep    1 Edge      pci_epf_vntb_db\nIPI0:          0  Rescheduling interrupts\n Err:          0\n`;
    expect(findDoorbellRows(t734)).toEqual([
      { virq: 18, chip: 'ITS-pMSI-7e000000.pcie-ep', controller: '7e000000.pcie-ep', index: 0, action: 'pci_epf_vntb_db', actions: ['pci_epf_vntb_db'], counts: [5], total: 5 },
      expect.objectContaining({ virq: 19, index: 1, total: 0 }),
    ]);
    const rk = `           CPU0       CPU1       CPU2       CPU3       CPU4       CPU5       CPU6       CPU7       \n117:          3          0          0          0          0          0          0          4  ITS-pMSI-a40000000.pcie-ep   0 Edge      pci-ep-test-doorbell\n`;
    expect(findDoorbellRows(rk, 'a40000000.pcie-ep')).toMatchObject([{ virq: 117, total: 7, action: 'pci-ep-test-doorbell' }]);
    expect(findDoorbellRows(rk, '7e000000.pcie-ep')).toEqual([]);
  });
});
