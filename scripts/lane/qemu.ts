// Runs QEMU's arm64 virt machine the way the lane boots it (hw/arm/virt.c: GICv3 with ITS, one
// Cortex-A57, 1 GiB, no NIC: the default virtio-net needs efi-virtio.rom from ipxe-qemu), with
// stdin from /dev/null and a wall-clock timeout, watching the console for a kernel oops so a
// hung guest is stopped at once instead of at the timeout.
import { execa } from 'execa';

/** Machine options shared by the boot and the DTB dump: phandles in the dump depend on -smp. */
export const MACHINE = { machine: 'virt,gic-version=3,its=on', cpu: 'cortex-a57', smp: '1', mem: '1G' } as const;

/** `-M … -cpu … -smp … -m …`, with extra machine properties (e.g. `dumpdtb=<file>`). */
export function machineArgs(extraMachineProps: string[] = []): string[] {
  return ['-M', [MACHINE.machine, ...extraMachineProps].join(','), '-cpu', MACHINE.cpu, '-smp', MACHINE.smp, '-m', MACHINE.mem, '-nographic', '-nic', 'none'];
}

/** Lines that mean the kernel oopsed (arch/arm64/mm/fault.c die_kernel_fault, arch/arm64/kernel/traps.c die). */
export const OOPS = /Unable to handle kernel|Internal error: Oops|Kernel panic - not syncing/;

export interface QemuBoot {
  readonly image: string;
  readonly dtb: string;
  readonly initrd: string;
  /** Extra kernel command line words after the lane's own. */
  readonly append?: readonly string[];
  readonly timeoutMs: number;
  /** Extra QEMU arguments, e.g. ['-trace', 'gicv3_its_translation_write']. */
  readonly extra?: readonly string[];
}

export interface QemuRun {
  /** Everything QEMU printed (console and QEMU's own messages), CRLF as received. */
  readonly output: string;
  readonly exitCode: number | undefined;
  readonly wallMs: number;
  readonly timedOut: boolean;
  /** The console line that showed an oops, when QEMU was stopped for one. */
  readonly oops?: string;
}

/** The lane's kernel command line: serial console, our /init, panic ends QEMU (with -no-reboot). */
export function kernelCommandLine(extra: readonly string[] = []): string {
  return ['console=ttyAMA0', 'rdinit=/init', 'panic=-1', 'loglevel=7', ...extra].join(' ');
}

/** Boots once and returns the console output; never throws for the guest's behaviour. */
export async function runQemu(b: QemuBoot): Promise<QemuRun> {
  const args = [
    ...machineArgs(),
    '-no-reboot',
    '-kernel', b.image,
    '-initrd', b.initrd,
    '-dtb', b.dtb,
    '-append', kernelCommandLine(b.append),
    '-device', 'virtio-rng-pci',
    ...(b.extra ?? []),
  ];
  const t0 = performance.now();
  const child = execa('qemu-system-aarch64', args, { stdin: 'ignore', reject: false, buffer: false, all: true });
  let output = '';
  let oops: string | undefined;
  let timedOut = false;
  const stop = () => child.kill('SIGKILL');
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, b.timeoutMs);
  child.all!.setEncoding('utf8');
  child.all!.on('data', (chunk: string) => {
    const from = Math.max(0, output.length - 200);
    output += chunk;
    if (oops === undefined) {
      const m = OOPS.exec(output.slice(from));
      if (m) {
        const at = from + m.index;
        const nl = output.indexOf('\n', at);
        oops = output.slice(output.lastIndexOf('\n', at) + 1, nl < 0 ? undefined : nl).replace(/\r/g, '');
        // The splat that follows is printed in one go; give it a moment to reach the console.
        setTimeout(stop, 300);
      }
    }
  });
  const r = await child;
  clearTimeout(timer);
  return { output, exitCode: r.exitCode, wallMs: performance.now() - t0, timedOut, ...(oops ? { oops } : {}) };
}
