// The cheap doorbell-row finder agrees with parseInterrupts on /proc/interrupts texts the fake
// renders in all three layouts (kernel/irq/proc.c), for every controller and for one; and, on
// texts with hostile lines mixed in, with parseInterrupts read line by line (a line it rejects
// is one findDoorbellRows must skip, never throw on).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { IrqTable } from '../fake/irq.js';
import { parseRelease } from '../kernel/version.js';
import { parseInterrupts, doorbellChip, EMBEDDED_DOORBELL_CHIP, InterruptsParseError, type IrqRow } from '../procfs/interrupts.js';
import { findDoorbellRows, DOORBELL_ACTIONS, type DoorbellRow } from './rows.js';
import type { BootIrq } from '../boards/types.js';
import type { IrqSpec } from '../fake/irq.js';

// classic (< 6.14), decimal (6.14 .. 7.1), tabular (7.2+): src/fake/irq.ts interruptsLayout.
const RELEASES = ['6.12.117', '6.15.2', '7.3.4'];
const EPCS = ['7e000000.pcie-ep', 'a40000000.pcie-ep', '4c380000.pcie-ep'];
const [VNTB, TEST] = DOORBELL_ACTIONS as [string, string];
/** Long enough to put the doorbell name past lineStartOf's guess: the lastIndexOf fallback. */
const LONG_ACTION = `long-action-${'x'.repeat(220)}`;

const irqArb = fc.record(
  {
    chip: fc.oneof(
      fc.constantFrom(...EPCS).map(doorbellChip),
      fc.constantFrom(EMBEDDED_DOORBELL_CHIP, 'GICv3', 'ITS-PCI-MSIX-0000:00:01.0', 'ITS-MSI', 'ITS-pMSI', 'ITS-pMSI-', 'pMSI-ITS-pMSI-x', 'dw-edma-emul0', `ITS-pMSI-${'y'.repeat(150)}.pcie-ep`),
    ),
    hwirq: fc.option(fc.nat(2000), { nil: undefined }),
    trigger: fc.constantFrom('Edge' as const, 'Level' as const),
    descName: fc.constantFrom('edge', 'fasteoi', 'x'),
    actions: fc.array(
      fc.oneof(
        fc.constantFrom(...DOORBELL_ACTIONS, 'dw-edma-core:a40000000.pcie-ep', 'nvme0q1', 'ITS-pMSI-7e000000.pcie-ep', 'pci-ep-test-doorbell2', `x${VNTB}`, `${TEST} 1`, LONG_ACTION),
        fc.stringMatching(/^[a-z][a-z0-9_:. -]{0,12}$/),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  },
  { requiredKeys: ['chip', 'hwirq', 'trigger', 'actions'] },
);

type Spec = IrqSpec & { actions: string[] };

function render(release: string, cpus: number, specs: Spec[], counts: number[][]): string {
  const v = parseRelease(release)!;
  // BootIrq plus the descriptor name, which the fake's desc() copies and renders ("-%-8s").
  const irqs = specs.map((s, k) => ({ ...s, irq: 10 + k * 3, counts: counts[k] ?? [] })) as BootIrq[];
  return IrqTable.fromBoard(irqs, cpus, v).procInterrupts();
}

const wanted = (epc: string | undefined) => (r: IrqRow): boolean =>
  r.irq !== undefined &&
  r.chip !== undefined &&
  (r.chip === EMBEDDED_DOORBELL_CHIP || (epc === undefined ? r.chip.startsWith('ITS-pMSI-') && r.chip.length > 9 : r.chip === doorbellChip(epc))) &&
  r.actions.some((a) => DOORBELL_ACTIONS.includes(a));

/** The DoorbellRow findDoorbellRows must give for a row parseInterrupts read. */
const asDoorbellRow = (r: IrqRow): DoorbellRow => ({
  virq: r.irq!,
  chip: r.chip!,
  controller: r.chip === EMBEDDED_DOORBELL_CHIP ? null : r.chip!.slice('ITS-pMSI-'.length),
  index: r.hwirq,
  action: r.actions.find((a) => DOORBELL_ACTIONS.includes(a))!,
  actions: r.actions,
  counts: r.counts,
  total: r.counts.reduce((a, b) => a + b, 0),
});

/** parseInterrupts on each line under the text's header; a line it rejects gives no row. */
function rowsLineByLine(text: string): IrqRow[] {
  const [header, ...lines] = text.split('\n');
  return lines.flatMap((line) => {
    try {
      return parseInterrupts(`${header}\n${line}`).rows;
    } catch (e) {
      if (e instanceof InterruptsParseError) return [];
      throw e;
    }
  });
}

/** Lines no kernel prints, most of them holding a doorbell name, some well-formed after all. */
const hostileArb = (cpus: number): fc.Arbitrary<string> => {
  const count = fc.constantFrom('0', '7', '4294967295', '99999999999999999999', '999999999999999999999', 'x', '1a', '-1', '');
  const gap = fc.constantFrom(' ', '  ', '\t', ' '.repeat(12), '', '\r', ' '.repeat(400));
  // Between tokens: mostly blanks, so that lines come close to well-formed.
  const blank = fc.oneof({ arbitrary: fc.constantFrom(' ', '  ', '\t '), weight: 5 }, { arbitrary: gap, weight: 1 });
  const chip = fc.constantFrom(doorbellChip(EPCS[0]!), doorbellChip(EPCS[1]!), EMBEDDED_DOORBELL_CHIP, 'ITS-pMSI-', `ITS-pMSI-${VNTB}`, `${EMBEDDED_DOORBELL_CHIP}x`, 'GICv3', VNTB, '0');
  // hwirq, trigger and descriptor-name forms, well-formed or not (x86's "<hwirq>-<name>").
  const middle = fc.constantFrom('0', '5', '123456789012345678901', '5-edge', '12345678901234567890-edge', '123456789012345678901-edge', '5-', '-', '-edge', 'Edge', 'Level', 'edge', 'Edgy');
  const action = fc.constantFrom(...DOORBELL_ACTIONS, `x${TEST}`, `${VNTB}x`, `${VNTB} 2`, LONG_ACTION, 'nvme0q1', 'é', '\u2028', '', ',');
  const token = fc.oneof(chip, middle, action);
  return fc.oneof(
    // A label, about `cpus` counts, a chip, hwirq/trigger/descName forms, actions.
    {
      weight: 3,
      arbitrary: fc
        .record({
          label: fc.oneof({ arbitrary: fc.constantFrom('  77:', '77:', '1234567890:'), weight: 4 }, fc.constantFrom('12345678901:', ' IPI9:', '7a:', ' 7 :', '', ':')),
          counts: fc.array(fc.tuple(gap, count), { minLength: Math.max(0, cpus - 1), maxLength: cpus + 1 }),
          // Often well-formed counts, so that the rest of the line decides.
          exact: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, fc.constant(false)),
          chip: fc.tuple(blank, chip),
          middle: fc.array(fc.tuple(blank, middle), { maxLength: 3 }),
          actions: fc.tuple(blank, fc.array(action, { minLength: 1, maxLength: 3 }), fc.constantFrom(', ', ', ', ',', ' , ')),
          end: fc.constantFrom('', ' ', '\r', '  \r'),
        })
        .map(({ label, counts, exact, chip, middle, actions: [g, as, sep], end }) => {
          const cs = exact ? Array.from({ length: cpus }, (_, k) => `${' '.repeat(k % 3)} ${k * 1000}`) : counts.map(([gp, c]) => gp + c);
          return label + cs.join('') + chip.join('') + middle.map(([gp, t]) => gp + t).join('') + g + as.join(sep) + end;
        }),
    },
    // Anything made of the same pieces.
    fc.array(fc.oneof(token, gap, count, fc.constantFrom(':', '12:', 'CPU0')), { maxLength: 12 }).map((p) => p.join('')),
  );
};

describe('findDoorbellRows', () => {
  it('agrees with parseInterrupts on generated texts of every layout', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RELEASES),
        fc.integer({ min: 1, max: 16 }),
        fc.array(irqArb, { minLength: 0, maxLength: 40 }),
        fc.array(fc.array(fc.nat(), { maxLength: 16 }), { maxLength: 40 }),
        fc.option(fc.constantFrom(...EPCS), { nil: undefined }),
        fc.boolean(),
        (release, cpus, specs, counts, epc, crlf) => {
          let text = render(release, cpus, specs as Spec[], counts);
          // A dump read from a serial console ends each line in "\r".
          if (crlf) text = text.replaceAll('\n', '\r\n');
          const want = parseInterrupts(text).rows.filter(wanted(epc)).map(asDoorbellRow);
          expect(findDoorbellRows(text, epc)).toEqual(want);
        },
      ),
      { seed: 20261130, numRuns: 300 },
    );
  });

  it('skips the lines parseInterrupts rejects, and reads the others as it does', () => {
    const arb = fc.integer({ min: 1, max: 16 }).chain((cpus) =>
      fc.record({
        release: fc.constantFrom(...RELEASES),
        cpus: fc.constant(cpus),
        specs: fc.array(irqArb, { maxLength: 12 }),
        hostile: fc.array(fc.tuple(fc.nat(), hostileArb(cpus)), { minLength: 1, maxLength: 8 }),
        epc: fc.option(fc.constantFrom(...EPCS), { nil: undefined }),
        crlf: fc.boolean(),
        lastNewline: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(arb, ({ release, cpus, specs, hostile, epc, crlf, lastNewline }) => {
        const lines = render(release, cpus, specs as Spec[], []).split('\n');
        lines.pop();
        for (const [at, line] of hostile) lines.splice(1 + (at % lines.length), 0, line);
        let text = lines.join('\n') + (lastNewline ? '\n' : '');
        if (crlf) text = text.replaceAll('\n', '\r\n');
        const want = rowsLineByLine(text).filter(wanted(epc)).map(asDoorbellRow);
        expect(findDoorbellRows(text, epc)).toEqual(want);
      }),
      { seed: 20261130, numRuns: 1000 },
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

  it('gives a line with both doorbell names one row, whose action is the first of them', () => {
    const text = `           CPU0       \n 20:          1  ITS-pMSI-7e000000.pcie-ep    0 Edge      ${TEST}, ${VNTB}\n 21:          2  dw-edma-emul              Level     ${VNTB}, ${TEST}\n`;
    expect(findDoorbellRows(text, '7e000000.pcie-ep')).toMatchObject([
      { virq: 20, action: TEST, actions: [TEST, VNTB] },
      { virq: 21, chip: EMBEDDED_DOORBELL_CHIP, controller: null, index: undefined, action: VNTB },
    ]);
  });
});
