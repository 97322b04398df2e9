// The "System RAM" ranges of /proc/iomem, the kernel's own view of its RAM. It matters where the
// device tree is silent: an EFI boot drops the /memory nodes (drivers/firmware/efi/libstub/fdt.c
// update_fdt) and takes RAM from the EFI memory map, so a --force store outside every reg range
// may still land in RAM. Format (kernel/resource.c r_show): "%*s%0*llx-%0*llx : %s", two spaces
// of indent per level; a reader without CAP_SYS_ADMIN sees every address as 0.
import { readTextIfExists, type KernelPort } from '../kernel/port.js';
import { EpctlError } from '../kernel/errors.js';

export const PROC_IOMEM = '/proc/iomem';

export interface RamRange {
  base: bigint;
  size: bigint;
}

/** Top-level "System RAM" entries; undefined when the addresses are hidden (not root) or there are none. */
export function parseSystemRam(text: string): RamRange[] | undefined {
  const out: RamRange[] = [];
  let hidden = false;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{1,16})-([0-9a-fA-F]{1,16}) : (.*)$/.exec(line);
    if (!m) continue;
    const start = BigInt(`0x${m[1]}`);
    const end = BigInt(`0x${m[2]}`);
    if (start === 0n && end === 0n) hidden = true;
    if (m[3] === 'System RAM' && end >= start && !(start === 0n && end === 0n)) out.push({ base: start, size: end - start + 1n });
  }
  return hidden || out.length === 0 ? undefined : out;
}

/** The board's System RAM from /proc/iomem, or undefined when it is absent, unreadable or hidden. */
export async function readSystemRam(port: KernelPort): Promise<RamRange[] | undefined> {
  try {
    const text = await readTextIfExists(port, PROC_IOMEM);
    return text === undefined ? undefined : parseSystemRam(text);
  } catch (e) {
    // A supplement to the device tree, never a reason to fail.
    if (e instanceof EpctlError) return undefined;
    throw e;
  }
}
