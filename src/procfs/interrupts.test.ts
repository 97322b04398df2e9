// The /proc/interrupts parser on every layout of kernel/irq/proc.c (verbatim excerpts of 6.1/6.12/7.3.4 in
// test/fixtures/interrupts/), its errors, and its totality on arbitrary and mutated input.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InterruptsParseError, parseInterrupts, type ParsedInterrupts } from './interrupts.js';
import { doorbellRows } from '../doorbell/irqs.js';
import { EXIT } from '../exit-codes.js';
import { IrqTable } from '../fake/irq.js';
import { parseRelease } from '../kernel/version.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/interrupts/${name}`, import.meta.url), 'utf8');

/** A header of n CPU columns as the ≤ 6.13 kernels print it (prec 3). */
const header = (n: number): string =>
  `${' '.repeat(11)}${Array.from({ length: n }, (_, c) => `CPU${String(c).padEnd(8)}`).join('')}\n`;

function parseError(text: string): InterruptsParseError {
  try {
    parseInterrupts(text, 'saved/interrupts.txt');
  } catch (e) {
    if (e instanceof InterruptsParseError) return e;
    throw e;
  }
  throw new Error('parsed without error');
}

describe('observed layouts (6.1, 6.12, 7.3.4 QEMU lanes)', () => {
  it('reads the 6.12 two-space file: IRQ rows, eight IPIs and the Err row', () => {
    const parsed = parseInterrupts(fixture('6.12-1cpu-virtio.txt'));
    expect(parsed.cpus).toEqual(['CPU0']);
    expect(parsed.rows[0]).toStrictEqual({
      id: '11',
      irq: 11,
      counts: [599],
      chip: 'GICv3',
      hwirq: 27,
      trigger: 'Level',
      actions: ['arch_timer'],
    });
    expect(parsed.rows[3]).toMatchObject({ irq: 17, chip: 'ITS-PCI-MSIX-0000:00:02.0', hwirq: 1, counts: [4] });
    expect(parsed.rows.filter((r) => r.id.startsWith('IPI')).map((r) => r.text)).toContain('KGDB roundup interrupts');
    expect(parsed.rows.at(-1)).toStrictEqual({ id: 'Err', counts: [0], actions: [] });
  });

  it('reads the 6.1 ITS-MSI row whose LPI hwirq overflows its column', () => {
    const parsed = parseInterrupts(header(1) + fixture('6.1-excerpt.txt'));
    expect(parsed.rows[0]).toStrictEqual({
      id: '16',
      irq: 16,
      counts: [0],
      chip: 'ITS-MSI',
      hwirq: 32768,
      trigger: 'Edge',
      actions: ['virtio1-config'],
    });
    expect(parsed.rows[1]).toStrictEqual({
      id: 'IPI3',
      counts: [0],
      actions: [],
      text: 'CPU stop (for crash dump) interrupts',
    });
  });

  it('reads the 7.3.4 rework: four-wide numbers, left-aligned chip, two-space IPI rows, " Err:"', () => {
    const parsed = parseInterrupts(fixture('7.3.4-1cpu-vntb-db4.txt'));
    const dbs = doorbellRows(parsed, '7e000000.pcie-ep');
    expect(dbs.map((r) => [r.irq, r.hwirq, r.trigger, r.actions])).toEqual([
      [18, 0, 'Edge', ['pci_epf_vntb_db']],
      [19, 1, 'Edge', ['pci_epf_vntb_db']],
      [20, 2, 'Edge', ['pci_epf_vntb_db']],
      [21, 3, 'Edge', ['pci_epf_vntb_db']],
    ]);
    expect(parsed.rows.find((r) => r.id === 'IPI0')?.text).toBe('Rescheduling interrupts');
    expect(parsed.rows.at(-1)).toStrictEqual({ id: 'Err', counts: [0], actions: [] });
  });

  it('reads the RK3588 eight-CPU doorbell row of the pre-6.14 series', () => {
    const parsed = parseInterrupts(header(8) + fixture('rk3588-8cpu-pre6.14-row.txt'));
    const [row] = doorbellRows(parsed, 'a40000000.pcie-ep');
    expect(row).toStrictEqual({
      id: '117',
      irq: 117,
      counts: [0, 0, 0, 0, 0, 0, 0, 0],
      chip: 'ITS-pMSI-a40000000.pcie-ep',
      hwirq: 0,
      trigger: 'Edge',
      actions: ['pci-epc-doorbell0'],
    });
  });

  it('splits the eDMA-fallback action field into its two actions', () => {
    const parsed = parseInterrupts(header(8) + fixture('rk3588-8cpu-6.14-edma-fallback.txt'));
    expect(parsed.rows[0]).toStrictEqual({
      id: '53',
      irq: 53,
      counts: [8, 0, 0, 0, 0, 0, 0, 0],
      chip: 'GICv3',
      hwirq: 303,
      trigger: 'Level',
      actions: ['dw-edma-core:a40000000.pcie-ep', 'pci-ep-test-doorbell'],
    });
    expect(parsed.rows[1]?.actions).toEqual(['dw-edma-core:a40000000.pcie-ep']);
  });

  it('reads the constructed i.MX95 six-CPU row with its count on CPU5', () => {
    const parsed = parseInterrupts(header(6) + fixture('imx95-6cpu-constructed-row.txt'));
    expect(doorbellRows(parsed, '4c380000.pcie-ep')[0]?.counts).toEqual([0, 0, 0, 0, 0, 1]);
  });

  it('reads a two-CPU 7.3.4 file whose Err row has one count (observed 7.3.4)', () => {
    const text = '            CPU0       CPU1       \n IPI0:          3          1  Rescheduling interrupts\n Err:          0\n';
    const parsed = parseInterrupts(text);
    expect(parsed.cpus).toEqual(['CPU0', 'CPU1']);
    expect(parsed.rows.map((r) => r.counts)).toEqual([[3, 1], [0]]);
  });

  it('reads a dump taken from a serial console, with "\\r" at each line end (observed in the QEMU lane)', () => {
    const text = fixture('7.3.4-1cpu-vntb-db4.txt');
    expect(parseInterrupts(text.replaceAll('\n', '\r\n'))).toStrictEqual(parseInterrupts(text));
  });
});

describe('layouts beyond the excerpts', () => {
  it('leaves hwirq unset for a domain-less IRQ whose column is blank', () => {
    const parsed = parseInterrupts(`${header(1)}  5:          0     dummy     Edge      foo\n`);
    expect(parsed.rows[0]).toStrictEqual({ id: '5', irq: 5, counts: [0], chip: 'dummy', trigger: 'Edge', actions: ['foo'] });
  });

  it('reads chip names longer than eight columns that touch the counts', () => {
    const parsed = parseInterrupts(`${header(1)} 16:          0 ITS-PCI-MSIX-0000:00:02.0   0 Edge      virtio1-config\n`);
    expect(parsed.rows[0]?.chip).toBe('ITS-PCI-MSIX-0000:00:02.0');
  });

  it('reads x86 rows: "<hwirq>-<name>" without a trigger, and arch rows with text or one count', () => {
    // Constructed in arch/x86/kernel/irq.c's formats: "%*s:" + " %10u" per CPU + text; ERR/MIS one count.
    const text =
      `${' '.repeat(11)}CPU0       CPU1\n` +
      '  0:         45          0   IO-APIC   2-edge      timer\n' +
      '120:          0       9081  PCI-MSI-0000:00:1f.6   0-edge      eno1\n' +
      'NMI:          3          2   Non-maskable interrupts\n' +
      'LOC:    1234567    1111111   Local timer interrupts\n' +
      'ERR:          0\n' +
      'MIS:          0\n';
    const parsed = parseInterrupts(text);
    expect(parsed.rows[0]).toStrictEqual({
      id: '0',
      irq: 0,
      counts: [45, 0],
      chip: 'IO-APIC',
      hwirq: 2,
      descName: 'edge',
      actions: ['timer'],
    });
    expect(parsed.rows[1]).toMatchObject({ chip: 'PCI-MSI-0000:00:1f.6', hwirq: 0, descName: 'edge', actions: ['eno1'] });
    expect(parsed.rows[2]).toStrictEqual({ id: 'NMI', counts: [3, 2], actions: [], text: 'Non-maskable interrupts' });
    expect(parsed.rows[3]?.counts).toEqual([1234567, 1111111]);
    expect(parsed.rows.slice(4).map((r) => [r.id, r.counts])).toEqual([
      ['ERR', [0]],
      ['MIS', [0]],
    ]);
  });

  it('keeps the descriptor name printed after the trigger apart from the actions', () => {
    const parsed = parseInterrupts(`${header(1)} 21:          0   PCI-MSI   7 Edge    -edge      nvme0q1\n`);
    expect(parsed.rows[0]).toMatchObject({ hwirq: 7, trigger: 'Edge', descName: 'edge', actions: ['nvme0q1'] });
  });

  it('reads an old arm64 IPI row whose ten-digit count touches the label', () => {
    const parsed = parseInterrupts(`${header(1)}IPI6:1000000000       CPU wake-up interrupts\n`);
    expect(parsed.rows[0]).toStrictEqual({ id: 'IPI6', counts: [1000000000], actions: [], text: 'CPU wake-up interrupts' });
  });

  it('keeps action names with spaces whole', () => {
    const parsed = parseInterrupts(`${header(1)} 12:       5323   IO-APIC  12 Edge      PS/2 Mouse, i8042\n`);
    expect(parsed.rows[0]?.actions).toEqual(['PS/2 Mouse', 'i8042']);
  });
});

describe('malformed input (exit code 7, the line named)', () => {
  it('names the line of a row with fewer counts than CPU columns', () => {
    const e = parseError(`${header(2)} 11:        599     GICv3  27 Level     arch_timer\n 13:          0          0     GICv3  33 Level     x\n`);
    expect(e.line).toBe(2);
    expect(e.exitCode).toBe(EXIT.BAD_DATA);
    expect(e.message).toMatch(/^saved\/interrupts\.txt:2: count 2 of 2 is not a decimal number/);
    expect(e.message).toContain('cat /proc/interrupts');
  });

  it('names the line of a non-numeric count', () => {
    const e = parseError(`${header(1)} 11:        599     GICv3  27 Level     arch_timer\n 12:         x7     GICv3  28 Level     y\n`);
    expect(e.line).toBe(3);
    expect(e.text).toBe(' 12:         x7     GICv3  28 Level     y');
  });

  it('rejects a file that does not start with the CPU header', () => {
    expect(parseError(' 11:        599     GICv3  27 Level     arch_timer\n').line).toBe(1);
    expect(parseError('').message).toContain('empty file');
  });

  it('rejects a row without a label colon, and an IRQ row that stops after its counts', () => {
    expect(parseError(`${header(1)}hello world\n`).line).toBe(2);
    expect(parseError(`${header(1)} 11:        599\n`).message).toContain('no chip column');
  });

  it('rejects counts longer than an unsigned long and IRQ numbers wider than the column can be', () => {
    expect(parseError(`${header(1)} 11: ${'9'.repeat(21)}     GICv3  27 Level     x\n`).message).toContain(
      'count 1 of 1 has more than 20 digits',
    );
    expect(parseError(`${header(1)}12345678901:          0     GICv3  27 Level     x\n`).message).toContain(
      'IRQ number has more than 10 digits',
    );
  });

  it('rejects an IPI row with one count for two CPUs, though Err may have one', () => {
    const e = parseError(`${header(2)}IPI0:          0  Rescheduling interrupts\n`);
    expect(e.message).toContain('count 2 of 2 is not a decimal number ("Rescheduling")');
  });
});

// Totality: nothing but InterruptsParseError escapes, whatever the input.
function checkTotal(text: string): void {
  let parsed: ParsedInterrupts;
  try {
    parsed = parseInterrupts(text);
  } catch (e) {
    if (!(e instanceof InterruptsParseError)) throw e;
    expect(e.exitCode).toBe(EXIT.BAD_DATA);
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.line).toBeLessThanOrEqual(text.split('\n').length);
    return;
  }
  for (const row of parsed.rows) {
    expect(row.counts.length === parsed.cpus.length || row.counts.length === 1).toBe(true);
    for (const c of row.counts) expect(Number.isFinite(c) && c >= 0).toBe(true);
  }
}

const pieces = fc.constantFrom(
  'CPU0', 'CPU1', 'CPU', ' ', '  ', '\n', '\r', '\t', '12:', '0:', ':', 'IPI0:', 'Err:', ' Err:', '0', '123',
  '4294967295', '99999999999999999999999', 'GICv3', 'Edge', 'Level', '-edge', '-', 'a, b', ', ', ',', 'x', 'é', '\u2028',
);
const tableText = fc.constantFrom('6.1.0', '6.12.0', '6.19.0', '7.3.4').chain((release) =>
  fc.integer({ min: 1, max: 4 }).map((cpus) => {
    const v = parseRelease(release);
    if (!v) throw new Error(release);
    const table = IrqTable.fromBoard(
      [
        { irq: 11, chip: 'GICv3', hwirq: 27, trigger: 'Level', actions: ['arch_timer'], counts: [5] },
        { irq: 12, chip: 'dummy', trigger: 'Edge', actions: ['a', 'b c'] },
      ],
      cpus,
      v,
    );
    table.request({ chip: 'ITS-pMSI-7e000000.pcie-ep', hwirq: 0, trigger: 'Edge', action: 'pci-ep-test-doorbell' });
    return table.procInterrupts();
  }),
);
const mutation = fc.record({
  at: fc.nat(),
  del: fc.nat({ max: 12 }),
  insert: fc.oneof(fc.string({ maxLength: 6 }), pieces),
});

describe('totality', () => {
  it('throws nothing but InterruptsParseError on arbitrary strings', () => {
    const arb = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.array(pieces, { maxLength: 60 }).map((p) => p.join('')),
      fc.array(pieces, { maxLength: 60 }).map((p) => `${header(2)}${p.join('')}`),
    );
    fc.assert(fc.property(arb, checkTotal), { numRuns: 10_000 });
  });

  it('throws nothing but InterruptsParseError on mutated valid files', () => {
    const arb = fc.tuple(tableText, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([text, muts]) => {
      let t = text;
      for (const m of muts) {
        const at = m.at % (t.length + 1);
        t = t.slice(0, at) + m.insert + t.slice(at + m.del);
      }
      return t;
    });
    fc.assert(fc.property(arb, checkTotal), { numRuns: 10_000 });
  });
});
