// trace_pipe lines: the observed 7.3.4 lines, the 4-character flags of older kernels, the TGID
// column, comms with dashes and spaces, "LOST" lines; hostile input never throws.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseTraceLine, formatTraceLine, MAX_TRACE_LINE } from './trace-line.js';
import { actionFilter, irqFilter, isFilterValue } from './filter.js';
import { compileFilter } from '../fake/trace-events-filter.js';

describe('parseTraceLine', () => {
  it('reads the lines observed on 7.3.4 (include/trace/events/irq.h)', () => {
    expect(parseTraceLine('          devmem-275     [000] d.h..     3.529673: irq_handler_entry: irq=18 name=pci_epf_vntb_db')).toEqual({ kind: 'irq_handler_entry', comm: 'devmem', pid: 275, cpu: 0, flags: 'd.h..', usec: 3_529_673, irq: 18, name: 'pci_epf_vntb_db' });
    expect(parseTraceLine('          devmem-275     [000] d.h..     3.529817: irq_handler_exit: irq=18 ret=handled')).toMatchObject({ kind: 'irq_handler_exit', irq: 18, handled: true, usec: 3_529_817 });
    expect(parseTraceLine('          devmem-184     [000] d.h..     2.230194: irq_handler_entry: irq=18 name=pci-ep-test-doorbell')).toMatchObject({ name: 'pci-ep-test-doorbell' });
  });

  it('reads 4-character flags, the TGID column and comms with dashes, spaces and colons', () => {
    expect(parseTraceLine('<idle>-0     (-----) [000] d.h1 79281.108822: irq_handler_entry: irq=125 name=fts_ts')).toMatchObject({ comm: '<idle>', pid: 0, flags: 'd.h1', irq: 125 });
    expect(parseTraceLine('  kworker/u8:2-mm-45    (     45) [003] dnh.. 12.000001: irq_handler_entry: irq=7 name=a, b')).toMatchObject({ comm: 'kworker/u8:2-mm', pid: 45, cpu: 3, name: 'a, b' });
    expect(parseTraceLine('   my prog: x-9       [001] d.h.. 1.000000: irq_handler_exit: irq=7 ret=unhandled')).toMatchObject({ comm: 'my prog: x', handled: false });
  });

  it('reads LOST lines and skips headers, blanks and other text', () => {
    expect(parseTraceLine('CPU:3 [LOST 12 EVENTS]')).toEqual({ kind: 'lost', cpu: 3, count: 12 });
    // lost_events == -1: the ring buffer could not say how many (kernel/trace/trace.c print_trace_line).
    expect(parseTraceLine('CPU:0 [LOST EVENTS]')).toEqual({ kind: 'lost', cpu: 0, count: null });
    for (const l of ['', '# tracer: nop', '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION', 'garbage', 'x'.repeat(MAX_TRACE_LINE + 1)]) expect(parseTraceLine(l)).toBeUndefined();
    expect(parseTraceLine('  sh-1 [000] ..... 1.000000: sched_switch: prev=a')).toMatchObject({ kind: 'other', event: 'sched_switch' });
  });

  it('round-trips what the fake writes', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[ -~]{1,15}$/), fc.nat(4194304), fc.nat(255), fc.nat(10 ** 12), fc.nat(1023), fc.stringMatching(/^[!-~][ -~]{0,30}$/), (comm, pid, cpu, usec, irq, name) => {
        const line = formatTraceLine({ comm, pid, cpu, usec, flags: 'd.h..' }, 'irq_handler_entry', `irq=${irq} name=${name}`);
        const p = parseTraceLine(line);
        expect(p).toMatchObject({ kind: 'irq_handler_entry', pid, cpu, usec, irq, name: name });
        if (!comm.startsWith(' ') && !comm.endsWith(' ')) expect(p).toMatchObject({ comm });
      }),
      { seed: 7, numRuns: 500 },
    );
  });

  it('never throws on hostile lines', () => {
    const hostile = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.array(fc.constantFrom('-', ' ', '[', ']', ':', '.', '0', '9', 'irq=', 'name=', 'irq_handler_entry', 'CPU:', '[LOST ', ' EVENTS]', '(', ')', '\r', '\t', '\u0000', 'd.h..'), { maxLength: 80 }).map((a) => a.join('')),
    );
    fc.assert(
      fc.property(hostile, (line) => {
        const r = parseTraceLine(line);
        if (r !== undefined) expect(['irq_handler_entry', 'irq_handler_exit', 'other', 'lost']).toContain(r.kind);
      }),
      { seed: 42, numRuns: 1000 },
    );
    expect(parseTraceLine(undefined as unknown as string)).toBeUndefined();
  });
});

describe('filters epctl writes', () => {
  const fields = [
    { name: 'irq', kind: 'int' as const },
    { name: 'name', kind: 'string' as const },
  ];
  it('builds name and irq filters the kernel grammar accepts and that match what they name', () => {
    const f = actionFilter(['pci-ep-test-doorbell', 'pci_epf_vntb_db']);
    expect(f).toBe('name == "pci-ep-test-doorbell" || name == "pci_epf_vntb_db"');
    const c = compileFilter(f, fields);
    expect(c.match({ irq: 1, name: 'pci_epf_vntb_db' })).toBe(true);
    expect(c.match({ irq: 1, name: 'pci_epf_vntb_db2' })).toBe(false);
    expect(compileFilter(irqFilter([18, 19]), fields).match({ irq: 19, name: 'x' })).toBe(true);
    expect(compileFilter('name ~ "pci_epf_vntb*"', fields).match({ irq: 1, name: 'pci_epf_vntb_db' })).toBe(true);
    expect(compileFilter('name ~ "!pci*"', fields).match({ irq: 1, name: 'pci_epf_vntb_db' })).toBe(false);
  });
  it('refuses names the kernel cannot take in a quoted value', () => {
    for (const bad of ['', 'a"b', 'a\nb', 'x'.repeat(256)]) expect(isFilterValue(bad)).toBe(false);
    expect(() => actionFilter(['a"b'])).toThrow(expect.objectContaining({ hint: expect.stringMatching(/double quote/) }));
    expect(() => actionFilter([])).toThrow(RangeError);
  });
});
