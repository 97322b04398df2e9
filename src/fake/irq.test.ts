// The fake kernel's IRQ table: /proc/interrupts byte for byte against the observed excerpts of
// the 6.1, 6.12 and 7.3.4 QEMU lanes, virq allocation (irq_domain), sysfs attributes (irqdesc.c), the
// saved state, and a round trip through the parser for every layout.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IrqTable, interruptsLayout, ipiNames, type IrqTableState, type IrqTrigger } from './irq.js';
import { parseRelease, type KernelVersion } from '../kernel/version.js';
import { parseInterrupts, type IrqRow } from '../procfs/interrupts.js';
import type { BootIrq } from '../boards/types.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/interrupts/${name}`, import.meta.url), 'utf8');

function kernel(release: string): KernelVersion {
  const v = parseRelease(release);
  if (!v) throw new Error(release);
  return v;
}

// The QEMU virt board of the observed lanes: timer, UART, virtio-rng MSI-X through the ITS.
function qemuBoot(timer: number, input: number, msi: 'pci-msix' | 'its-msi' = 'pci-msix'): BootIrq[] {
  const chip = msi === 'pci-msix' ? 'ITS-PCI-MSIX-0000:00:02.0' : 'ITS-MSI';
  return [
    { irq: 11, chip: 'GICv3', hwirq: 27, trigger: 'Level', actions: ['arch_timer'], counts: [timer] },
    { irq: 13, chip: 'GICv3', hwirq: 33, trigger: 'Level', actions: ['uart-pl011'] },
    { irq: 16, chip, hwirq: msi === 'pci-msix' ? 0 : 32768, trigger: 'Edge', actions: ['virtio1-config'] },
    { irq: 17, chip, hwirq: msi === 'pci-msix' ? 1 : 32769, trigger: 'Edge', actions: ['virtio1-input'], counts: [input] },
  ];
}

const EPC_CHIP = 'ITS-pMSI-7e000000.pcie-ep';

describe('/proc/interrupts as the modelled kernel prints it (observed 6.1, 6.12, 7.3.4)', () => {
  it('reproduces the 7.3.4 one-CPU file after a vNTB link with db_count 4, header spaces included', () => {
    const table = IrqTable.fromBoard(qemuBoot(572, 3), 1, kernel('7.3.4'));
    const virqs = [0, 1, 2, 3].map((hwirq) =>
      table.request({ chip: EPC_CHIP, hwirq, trigger: 'Edge', action: 'pci_epf_vntb_db' }),
    );
    expect(virqs).toEqual([18, 19, 20, 21]);
    expect(table.procInterrupts()).toBe(fixture('7.3.4-1cpu-vntb-db4.txt'));
  });

  it('reproduces the 6.12 one-CPU file with the two-space layout and eight IPIs', () => {
    const table = IrqTable.fromBoard(qemuBoot(599, 4), 1, kernel('6.12.117'));
    expect(table.procInterrupts()).toBe(fixture('6.12-1cpu-virtio.txt'));
  });

  it('prints the 6.1 ITS-MSI row with its LPI hwirq and the seven 6.1 IPIs', () => {
    const text = IrqTable.fromBoard(qemuBoot(0, 0, 'its-msi'), 1, kernel('6.1.192')).procInterrupts();
    const lines = text.split('\n');
    for (const line of fixture('6.1-excerpt.txt').trimEnd().split('\n')) expect(lines).toContain(line);
    expect(lines.filter((l) => l.startsWith('IPI'))).toHaveLength(7);
  });

  it('gives a two-CPU 7.3.4 header two CPU columns but the Err row a single count (observed 7.3.4)', () => {
    const text = IrqTable.fromBoard(qemuBoot(1, 1), 2, kernel('7.3.4')).procInterrupts();
    const lines = text.split('\n');
    expect(lines[0]).toBe('            CPU0       CPU1       ');
    expect(lines.at(-2)).toBe(' Err:          0');
    expect(lines).toContain('IPI0:          0          0  Rescheduling interrupts');
  });

  it('gives the 7.3.4 pci-epf-test doorbell the first free virq, 18, and reuses it after DISABLE (kernel/irq/irqdesc.c)', () => {
    const table = IrqTable.fromBoard(qemuBoot(572, 3), 1, kernel('7.3.4'));
    const db = { chip: EPC_CHIP, hwirq: 0, trigger: 'Edge' as const, action: 'pci-ep-test-doorbell' };
    const virq = table.request(db);
    expect(virq).toBe(18);
    expect(table.procInterrupts().split('\n')).toContain(fixture('7.3.4-epf-test-doorbell-row.txt').trimEnd());
    table.free(virq);
    expect(table.procInterrupts()).not.toContain('pci-ep-test-doorbell');
    expect(table.request(db)).toBe(18);
  });

  it('prints the RK3588 eight-CPU doorbell row in the pre-6.14 layout', () => {
    const boot: BootIrq[] = [
      { irq: 117, chip: 'ITS-pMSI-a40000000.pcie-ep', hwirq: 0, trigger: 'Edge', actions: ['pci-epc-doorbell0'] },
    ];
    const text = IrqTable.fromBoard(boot, 8, kernel('6.12.0')).procInterrupts();
    expect(text.split('\n')).toContain(fixture('rk3588-8cpu-pre6.14-row.txt').trimEnd());
  });

  it('prints the RK3588 eDMA-fallback rows, a shared IRQ with two actions, in the v6.14+ layout', () => {
    const boot: BootIrq[] = [
      {
        irq: 53,
        chip: 'GICv3',
        hwirq: 303,
        trigger: 'Level',
        actions: ['dw-edma-core:a40000000.pcie-ep', 'pci-ep-test-doorbell'],
        counts: [8],
      },
      { irq: 54, chip: 'GICv3', hwirq: 304, trigger: 'Level', actions: ['dw-edma-core:a40000000.pcie-ep'], counts: [7] },
    ];
    const text = IrqTable.fromBoard(boot, 8, kernel('6.19.0')).procInterrupts();
    expect(text).toContain(fixture('rk3588-8cpu-6.14-edma-fallback.txt'));
  });

  it('prints the constructed i.MX95 six-CPU row in the v6.14 layout with the count on CPU5', () => {
    const boot: BootIrq[] = [
      { irq: 210, chip: 'ITS-pMSI-4c380000.pcie-ep', hwirq: 0, trigger: 'Edge', actions: ['pci-ep-test-doorbell'] },
    ];
    const table = IrqTable.fromBoard(boot, 6, kernel('6.14.0'));
    table.fire(210, 5);
    expect(table.procInterrupts().split('\n')).toContain(fixture('imx95-6cpu-constructed-row.txt').trimEnd());
  });
});

describe('layout rules of kernel/irq/proc.c and arch/arm64/kernel/smp.c', () => {
  it('picks the layout by version: classic before 6.14, decimal to 7.1, tabular from 7.2', () => {
    expect(['6.1.0', '6.13.9', '6.14.0', '7.1.5', '7.2.0', '7.3.4'].map((r) => interruptsLayout(kernel(r)))).toEqual([
      'classic',
      'classic',
      'decimal',
      'decimal',
      'tabular',
      'tabular',
    ]);
  });

  it('widens the IRQ column at nr_irqs 1000 before the rework and at 10000 after it (kernel/irq/proc.c)', () => {
    const boot: BootIrq[] = [{ irq: 1000, chip: 'GICv3', hwirq: 5, trigger: 'Level', actions: ['x'] }];
    const old = IrqTable.fromBoard(boot, 1, kernel('6.12.0')).procInterrupts().split('\n');
    expect(old[0]).toBe(`${' '.repeat(12)}CPU0       `);
    expect(old[1]).toBe('1000:          0     GICv3    5 Level     x');
    expect(old[2]).toBe('IPI0:          0       Rescheduling interrupts');
    expect(old.at(-2)).toBe(' Err:          0');
    const wide = IrqTable.fromBoard([{ ...boot[0]!, irq: 10000 }], 1, kernel('7.3.4')).procInterrupts().split('\n');
    expect(wide[0]).toBe(`${' '.repeat(13)}CPU0       `);
    expect(wide[1]).toBe('10000:          0  GICv3        5 Level     x');
    expect(wide[2]).toBe(' IPI0:          0  Rescheduling interrupts');
  });

  it('leaves the hwirq column blank for an IRQ without a domain, one space wider after the rework', () => {
    const boot: BootIrq[] = [{ irq: 5, chip: 'dummy', trigger: 'Edge', actions: ['foo'] }];
    const classic = IrqTable.fromBoard(boot, 1, kernel('6.12.0')).procInterrupts().split('\n')[1];
    const tabular = IrqTable.fromBoard(boot, 1, kernel('7.3.4')).procInterrupts().split('\n')[1];
    expect(classic).toBe('  5:          0     dummy     Edge      foo');
    expect(tabular).toBe('   5:          0  dummy          Edge      foo');
  });

  it('keeps the chip column as wide as the longest chip ever set, even after that IRQ is freed', () => {
    const table = IrqTable.fromBoard(qemuBoot(0, 0), 1, kernel('7.3.4'));
    const long = 'ITS-pMSI-a40000000.pcie-ep-with-a-longer-name';
    table.free(table.request({ chip: long, hwirq: 0, trigger: 'Edge', action: 'x' }));
    const row = table.procInterrupts().split('\n')[1];
    expect(row).toBe(`  11:          0  ${'GICv3'.padEnd(long.length)}   27 Level     arch_timer`);
  });

  it('hides action-less IRQs from 6.11 but lists them before when their count is not zero', () => {
    for (const [release, shown] of [
      ['6.1.0', true],
      ['6.12.0', false],
      ['7.3.4', false],
    ] as const) {
      const table = IrqTable.fromBoard(qemuBoot(0, 0), 1, kernel(release));
      const virq = table.request({ chip: EPC_CHIP, hwirq: 0, trigger: 'Edge', action: 'db' });
      table.fire(virq, 0);
      table.removeAction(virq, 'db');
      expect(table.procInterrupts().includes(EPC_CHIP), release).toBe(shown);
    }
  });

  it('prints a descriptor name as "-%-8s" after the trigger', () => {
    const boot: BootIrq[] = [{ irq: 20, chip: 'IO-APIC', hwirq: 2, trigger: 'Edge', actions: ['timer'] }];
    const table = IrqTable.fromBoard(boot, 1, kernel('6.12.0'));
    const virq = table.alloc([{ chip: 'PCI-MSI', hwirq: 7, trigger: 'Edge', descName: 'edge' }]);
    table.addAction(virq, 'nvme0q1');
    expect(table.procInterrupts().split('\n')[2]).toBe(' 21:          0   PCI-MSI   7 Edge    -edge      nvme0q1');
  });
});

describe('virq allocation and counts', () => {
  it('allocates a contiguous range first-fit above the boot IRQs, reusing freed numbers', () => {
    const table = IrqTable.fromBoard(qemuBoot(0, 0), 1, kernel('7.3.4'));
    const spec = { chip: EPC_CHIP, trigger: 'Edge' as const };
    expect(table.alloc([spec])).toBe(18);
    expect(table.alloc([spec])).toBe(19);
    table.free(18);
    expect(table.alloc([spec, spec])).toBe(20);
    expect(table.alloc([spec])).toBe(18);
    table.free(16);
    expect(table.alloc([spec])).toBe(16);
    expect(table.virqs()).toEqual([11, 13, 16, 17, 18, 19, 20, 21]);
  });

  it('counts a fired IRQ on the CPU that took it, wrapping at 2^32 like the kernel u32', () => {
    const table = IrqTable.fromBoard(
      [{ irq: 9, chip: 'GICv3', hwirq: 1, trigger: 'Level', actions: ['a'], counts: [0, 2 ** 32 - 1] }],
      2,
      kernel('7.3.4'),
    );
    table.fire(9, 0);
    table.fire(9, 1);
    expect(table.get(9)?.counts).toEqual([1, 0]);
    expect(() => table.fire(9, 2)).toThrow(RangeError);
    expect(() => table.fire(99, 0)).toThrow(RangeError);
  });

  it('counts IPIs per CPU in their own rows', () => {
    const table = IrqTable.fromBoard([], 2, kernel('6.12.0'));
    table.fireIpi(1, 1);
    expect(table.procInterrupts().split('\n')).toContain('IPI1:         0          1       Function call interrupts');
  });
});

describe('/sys/kernel/irq/<virq>/ (kernel/irq/irqdesc.c show functions, observed 6.12)', () => {
  it('shows chip_name, hwirq, type and actions of an MSI-X IRQ, each with a newline', () => {
    const table = IrqTable.fromBoard(qemuBoot(0, 0), 2, kernel('6.12.117'));
    expect(table.sysfsAttributes(16)).toEqual({
      per_cpu_count: '0,0\n',
      chip_name: 'ITS-PCI-MSIX-0000:00:02.0\n',
      hwirq: '0\n',
      type: 'edge\n',
      wakeup: 'disabled\n',
      name: '',
      actions: 'virtio1-config\n',
    });
  });

  it('joins shared actions with "," and leaves hwirq empty without a domain', () => {
    const table = IrqTable.fromBoard(
      [{ irq: 5, chip: 'dummy', trigger: 'Level', actions: ['a', 'b'], counts: [3] }],
      1,
      kernel('7.3.4'),
    );
    const attrs = table.sysfsAttributes(5);
    expect(attrs?.actions).toBe('a,b\n');
    expect(attrs?.hwirq).toBe('');
    expect(attrs?.type).toBe('level\n');
    expect(attrs?.per_cpu_count).toBe('3\n');
    table.free(5);
    expect(table.sysfsAttributes(5)).toBeUndefined();
  });
});

describe('saved state', () => {
  it('survives JSON and goes on allocating where it left off', () => {
    const table = IrqTable.fromBoard(qemuBoot(572, 3), 1, kernel('7.3.4'));
    table.free(table.request({ chip: 'a-very-long-chip-name-for-width-tests', hwirq: 1, trigger: 'Edge', action: 'x' }));
    table.request({ chip: EPC_CHIP, hwirq: 0, trigger: 'Edge', action: 'db' });
    const copy = IrqTable.fromJSON(JSON.parse(JSON.stringify(table)) as IrqTableState);
    expect(copy.procInterrupts()).toBe(table.procInterrupts());
    const spec = { chip: EPC_CHIP, hwirq: 1, trigger: 'Edge' as const, action: 'db' };
    expect(copy.request(spec)).toBe(table.request(spec));
  });
});

// Round trip: a generated table rendered in every layout parses back to its rows (kernel/irq/proc.c).
const token = fc.stringMatching(/^[A-Za-z0-9_.:@/+-]{1,30}$/).filter((s) => !s.startsWith('-'));
const actionName = fc
  .array(token, { minLength: 1, maxLength: 3 })
  .map((words) => words.join(' '))
  .filter((s) => !s.includes(', '));
const u32 = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 }));

const stateArb = fc.integer({ min: 1, max: 16 }).chain((cpus) =>
  fc
    .record({
      nrIrqs: fc.oneof(fc.integer({ min: 64, max: 999 }), fc.integer({ min: 64, max: 2_000_000 })),
      extraWidth: fc.nat({ max: 12 }),
      descs: fc.array(
        fc.record(
          {
            chip: token,
            hwirq: fc.nat({ max: 100_000 }),
            trigger: fc.constantFrom<IrqTrigger>('Edge', 'Level'),
            descName: token,
            actions: fc.array(actionName, { maxLength: 3 }),
            counts: fc.array(u32, { minLength: cpus, maxLength: cpus }),
          },
          { requiredKeys: ['chip', 'trigger', 'actions', 'counts'] },
        ),
        { maxLength: 12 },
      ),
      irqs: fc.uniqueArray(fc.integer({ min: 1, max: 2_000_000 }), { minLength: 12, maxLength: 12 }),
      ipis: fc.array(fc.array(u32, { minLength: cpus, maxLength: cpus }), { minLength: 8, maxLength: 8 }),
      err: u32,
    })
    .map(({ nrIrqs, extraWidth, descs, irqs, ipis, err }) => {
      const list = descs.map((d, k) => ({ ...d, irq: (irqs[k] as number) % nrIrqs || 1 }));
      const unique = [...new Map(list.map((d) => [d.irq, d])).values()];
      return {
        cpus,
        nrIrqs,
        chipWidth: Math.max(8, ...unique.map((d) => d.chip.length)) + extraWidth,
        irqs: unique,
        ipis,
        err,
      };
    }),
);

function expectedRows(state: IrqTableState, v: KernelVersion): IrqRow[] {
  const listsIdle = v.major < 6 || (v.major === 6 && v.minor < 11);
  const rows: IrqRow[] = state.irqs
    .filter((d) => d.actions.length > 0 || (listsIdle && d.counts.some((c) => c !== 0)))
    .sort((a, b) => a.irq - b.irq)
    .map((d) => {
      const row: IrqRow = { id: String(d.irq), irq: d.irq, counts: d.counts, chip: d.chip, actions: d.actions };
      if (d.hwirq !== undefined) row.hwirq = d.hwirq;
      row.trigger = d.trigger;
      if (d.descName !== undefined) row.descName = d.descName;
      return row;
    });
  ipiNames(v).forEach((text, n) => rows.push({ id: `IPI${n}`, counts: state.ipis[n] ?? [], actions: [], text }));
  rows.push({ id: 'Err', counts: [state.err], actions: [] });
  return rows;
}

describe('round trip through the parser', () => {
  it('parses any generated table rendered in each layout back to the same rows', () => {
    const versions = ['6.1.0', '6.12.0', '6.19.0', '7.3.4'].map(kernel);
    fc.assert(
      fc.property(stateArb, (gen) => {
        for (const v of versions) {
          const ipiCount = ipiNames(v).length;
          const state: IrqTableState = {
            release: v.release,
            cpus: gen.cpus,
            nrIrqs: gen.nrIrqs,
            chipWidth: gen.chipWidth,
            bootIrqs: gen.irqs.map((d) => d.irq),
            firstDynamic: 1,
            irqs: structuredClone(gen.irqs),
            ipis: gen.ipis.slice(0, ipiCount),
            err: gen.err,
          };
          const table = IrqTable.fromJSON(state);
          const parsed = parseInterrupts(table.procInterrupts());
          expect(parsed.cpus).toEqual(Array.from({ length: gen.cpus }, (_, c) => `CPU${c}`));
          expect(parsed.rows).toStrictEqual(expectedRows(state, v));
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
