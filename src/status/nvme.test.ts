// An NVMe controller's life read from the kernel log (status/nvme.ts fromLog), line formats as
// drivers/nvme/target/pci-epf.c prints them: made, link up/down, enabled and disabled or shut
// down by the host, destroyed, made again; two endpoints' lines apart; failures attributed only
// to the device that logged them.
import { describe, it, expect } from 'vitest';
import { fromLog } from './nvme.js';
import type { KmsgRecord } from '../kernel/port.js';

const A = 'nqn.2026-11.io.epctl:a';
const B = 'nqn.2026-11.io.epctl:b';
const log = (...lines: [dev: string, text: string][]): KmsgRecord[] => lines.map(([dev, text], i) => ({ level: 6, seq: i, usec: i, text: `nvmet_pci_epf ${dev}: ${text}` }));
const made = (nqn: string, q = 4) => `New PCI ctrl "${nqn}", ${q} I/O queues, mdts 524288 B`;

describe('an NVMe controller from the kernel log', () => {
  it('follows it through link up, the host enabling it, shutting it down, link down', () => {
    const steps: [string, string][] = [['nvmet_pci_epf.0', made(A)], ['nvmet_pci_epf.0', 'PCI link up'], ['nvmet_pci_epf.0', 'Enabling controller']];
    expect(fromLog(A, log(...steps), true).controller).toEqual({ device: 'nvmet_pci_epf.0', ioQueues: 4, mdtsBytes: 524288, link: 'up', hostEnabled: true });
    steps.push(['nvmet_pci_epf.0', 'Shutting down controller'], ['nvmet_pci_epf.0', 'PCI link down']);
    expect(fromLog(A, log(...steps), true).controller).toMatchObject({ link: 'down', hostEnabled: false });
    steps.push(['nvmet_pci_epf.0', 'Enabling controller'], ['nvmet_pci_epf.0', 'Disabling controller']);
    expect(fromLog(A, log(...steps), true).controller).toMatchObject({ hostEnabled: false });
  });

  it('is gone after "Destroying PCI ctrl", and a new one replaces it', () => {
    const l: [string, string][] = [['nvmet_pci_epf.0', made(A)], ['nvmet_pci_epf.0', 'PCI link up'], ['nvmet_pci_epf.0', `Destroying PCI ctrl "${A}"`]];
    expect(fromLog(A, log(...l), true)).toEqual({ controller: null, problem: null });
    expect(fromLog(A, log(...l, ['nvmet_pci_epf.1', made(A, 2)]), true).controller).toEqual({ device: 'nvmet_pci_epf.1', ioQueues: 2, mdtsBytes: 524288, link: 'unknown', hostEnabled: false });
  });

  it('keeps two endpoints apart, failures included', () => {
    const l = log(['nvmet_pci_epf.0', made(A)], ['nvmet_pci_epf.1', 'Port not found'], ['nvmet_pci_epf.1', 'PCI link up'], ['nvmet_pci_epf.0', 'Enabling controller']);
    expect(fromLog(A, l, false)).toEqual({ controller: { device: 'nvmet_pci_epf.0', ioQueues: 4, mdtsBytes: 524288, link: 'unknown', hostEnabled: true }, problem: null });
    // B never had a controller and is not the only NVMe function: nvmet_pci_epf.1's failure may be anyone's.
    expect(fromLog(B, l, false)).toEqual({ controller: null, problem: null });
    expect(fromLog(B, l, true)).toEqual({ controller: null, problem: 'nvmet_pci_epf.1: Port not found' });
  });

  it('names the failure its own device logged after its controller went', () => {
    const l = log(['nvmet_pci_epf.0', made(A)], ['nvmet_pci_epf.0', `Destroying PCI ctrl "${A}"`], ['nvmet_pci_epf.0', 'Invalid maximum number of queues 1'], ['nvmet_pci_epf.1', 'Port not found']);
    expect(fromLog(A, l, false)).toEqual({ controller: null, problem: 'nvmet_pci_epf.0: Invalid maximum number of queues 1' });
  });

  it('a device that serves another subsystem now is no longer this one', () => {
    expect(fromLog(A, log(['nvmet_pci_epf.0', made(A)], ['nvmet_pci_epf.0', made(B)]), true).controller).toBeNull();
  });
});
