// Telling the doorbell code apart by its symbols: exact names only (never a prefix or a
// suffix of another symbol), with or without a module column, with hidden (zero) addresses.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { doorbellImplementation, symbolLines, DOORBELL_SYMBOLS } from './kallsyms.js';

const line = (name: string, type = 't', mod?: string): string => `0000000000000000 ${type} ${name}${mod ? `\t[${mod}]` : ''}`;

describe('/proc/kallsyms', () => {
  it('tells merged, v9 and none apart by the write-message callbacks', () => {
    expect(doorbellImplementation([line('_text', 'T'), line('pci_epf_write_msi_msg'), line('pci_epf_alloc_doorbell', 'T')].join('\n') + '\n')).toBe('merged');
    expect(doorbellImplementation([line('pci_epc_write_msi_msg'), line('pci_epf_alloc_doorbell', 'T')].join('\n'))).toBe('posted-v9');
    expect(doorbellImplementation([line('pci_epc_start', 'T'), line('pci_epf_alloc_doorbell', 'T')].join('\n'))).toBe('none');
    // Built as a module: the name is followed by a tab and the module.
    expect(doorbellImplementation(line('pci_epf_write_msi_msg', 't', 'pci_ep_msi'))).toBe('merged');
  });

  it('never counts a symbol whose name only contains a doorbell symbol, wherever the lines fall', () => {
    const decoy = fc.constantFrom(...DOORBELL_SYMBOLS).chain((n) => fc.constantFrom(`${n}_x`, `x${n}`, `${n}.cold`, `__pfx_${n}`, `${n}2`));
    const other = fc.stringMatching(/^[a-z_]{1,20}$/);
    fc.assert(
      fc.property(fc.array(fc.oneof(decoy, other), { maxLength: 40 }), fc.boolean(), (names, trailing) => {
        const text = names.map((n) => line(n)).join('\n') + (trailing ? '\n' : '');
        const real = names.filter((n) => (DOORBELL_SYMBOLS as readonly string[]).includes(n));
        expect(symbolLines(text).length).toBe(real.length);
        if (real.length === 0) expect(doorbellImplementation(text)).toBe('none');
      }),
      { numRuns: 300 },
    );
  });
});
