// Scenario `ntb-links`: a pci_epf_ntb function (drivers/pci/endpoint/functions/pci-epf-ntb.c)
// bound across two EPCs, primary/ to one and secondary/ to the other, then both started.
// Returns each step's outcome and the kernel's view (/proc/interrupts); the host judges.
import fs from 'node:fs';
import path from 'node:path';
import { interrupts, PCI_EP, StepRunner } from './configfs.js';
import type { Scenario } from './scenarios.js';

export interface NtbParams {
  readonly primary: string;
  readonly secondary: string;
}

export const ntbLinks: Scenario = async (raw, ctx) => {
  const p = raw as NtbParams;
  const s = new StepRunner(ctx);
  const fn = 'functions/pci_epf_ntb/lane_ntb';
  s.mkdir(fn);
  s.write(`${fn}/vendorid`, '0x104c');
  s.write(`${fn}/deviceid`, '0xb00d');
  const g = s.typeGroup(fn, 'pci_epf_ntb');
  for (const [attr, v] of [['db_count', '4'], ['spad_count', '16'], ['num_mws', '1'], ['mw1', '0x100000']] as const) s.write(`${g}/${attr}`, v);
  s.link(`controllers/${p.primary}`, `${fn}/primary/${p.primary}`);
  s.link(`controllers/${p.secondary}`, `${fn}/secondary/${p.secondary}`);
  const listing = s.failed ? undefined : {
    primary: fs.readdirSync(path.join(PCI_EP, fn, 'primary')),
    secondary: fs.readdirSync(path.join(PCI_EP, fn, 'secondary')),
  };
  s.write(`controllers/${p.primary}/start`, '1');
  s.write(`controllers/${p.secondary}/start`, '1');
  return { steps: s.steps, listing, interrupts: interrupts() };
};
