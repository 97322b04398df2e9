// Small helpers for scenarios that drive /sys/kernel/config/pci_ep directly (as a person's
// shell would), recording each step's outcome (0 or the errno code) instead of stopping at the
// first error, so the host sees exactly which call the kernel refused.
import fs from 'node:fs';
import path from 'node:path';
import type { GuestContext } from './scenarios.js';

/** pci_ep's configfs root (drivers/pci/endpoint/pci-ep-cfs.c). */
export const PCI_EP = '/sys/kernel/config/pci_ep';

export interface StepOutcome {
  readonly step: string;
  /** 'ok' or the errno code (EINVAL, EOPNOTSUPP, …). */
  readonly result: string;
  readonly value?: string;
}

/** Runs configfs steps in order, announcing each to the host; stops after the first failure unless told to go on. */
export class StepRunner {
  readonly steps: StepOutcome[] = [];
  failed = false;

  constructor(private readonly ctx: GuestContext) {}

  /** One step; returns its value (or undefined when it failed or was skipped after a failure). */
  do<T>(step: string, fn: () => T, opts: { goOn?: boolean } = {}): T | undefined {
    if (this.failed) return undefined;
    this.ctx.op(step);
    try {
      const v = fn();
      this.steps.push({ step, result: 'ok', ...(typeof v === 'string' ? { value: v } : {}) });
      return v;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      this.steps.push({ step, result: code });
      if (!opts.goOn) this.failed = true;
      return undefined;
    }
  }

  mkdir(rel: string): void {
    this.do(`mkdir ${rel}`, () => fs.mkdirSync(path.join(PCI_EP, rel)));
  }

  write(rel: string, value: string): void {
    this.do(`write ${rel} ${value}`, () => fs.writeFileSync(path.join(PCI_EP, rel), value));
  }

  read(rel: string): string | undefined {
    return this.do(`read ${rel}`, () => fs.readFileSync(path.join(PCI_EP, rel), 'utf8'), { goOn: true });
  }

  /** `ln -s <target> <link>`, both relative to pci_ep. */
  link(target: string, linkRel: string): void {
    this.do(`ln -s ${target} ${linkRel}`, () => fs.symlinkSync(path.join(PCI_EP, target), path.join(PCI_EP, linkRel)));
  }

  /** The function's driver type group (`<driver>.<N>`), found by listing the function. */
  typeGroup(fnRel: string, driver: string): string | undefined {
    return this.do(`find ${fnRel}/${driver}.N`, () => {
      const g = fs.readdirSync(path.join(PCI_EP, fnRel)).find((e) => new RegExp(`^${driver}\\.\\d+$`).test(e));
      if (!g) throw new Error(`no ${driver}.N type group under ${fnRel}`);
      return `${fnRel}/${g}`;
    });
  }
}

/** /proc/interrupts as text (the host parses it). */
export function interrupts(): string {
  return fs.readFileSync('/proc/interrupts', 'utf8');
}
