import { describe, expect, it } from 'vitest';
import { decodeConsole } from '../framing.js';
import { kmsgLine } from './report.js';

describe('the guest kernel log reader', () => {
  it('turns a /dev/kmsg record into the console form, dropping dictionary lines', () => {
    expect(kmsgLine('6,812,3456789,-;pci_epf_vntb pci_epf_vntb.0: pci-ep epf driver loaded\n SUBSYSTEM=pci-epf\n')).toBe(
      '[    3.456789] pci_epf_vntb pci_epf_vntb.0: pci-ep epf driver loaded',
    );
    expect(kmsgLine('4,1,12,c;x\n')).toBe('[    0.000012] x');
  });

  it('its lines are recognised as kernel lines when printed inside a frame', () => {
    const line = kmsgLine('1,9,1000000,-;Unable to handle kernel NULL pointer dereference\n');
    const d = decodeConsole(`@@EPCTL 0 4 ${line}\n0d4cbb29 W10=\n`);
    expect(d.errors).toEqual([]);
    expect(d.records).toEqual([[]]);
    expect(d.lines).toEqual([line]);
  });
});
