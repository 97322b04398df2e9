// The DTB variants, made from QEMU's own tree for the exact machine options of the boot
// (`dumpdtb` with the same -M/-cpu/-smp/-m: the ITS phandle depends on -smp), edited by dts.ts
// and compiled with `dtc -@` (so /sys/firmware/devicetree/base/__symbols__ exists). Each DTB is
// cached by the hash of its source text.
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { hashOf } from './cache.js';
import { DT_VARIANTS, editDts, type DtVariant } from './dts.js';
import { machineArgs } from './qemu.js';

/** Dumps and decompiles QEMU's tree for the lane's machine. */
export async function dumpQemuDts(workDir: string): Promise<string> {
  await fs.mkdir(workDir, { recursive: true });
  const dtb = path.join(workDir, `qemu-virt-${process.pid}.dtb`);
  try {
    await execa('qemu-system-aarch64', machineArgs([`dumpdtb=${dtb}`]), { stdin: 'ignore' });
    return (await execa('dtc', ['-q', '-I', 'dtb', '-O', 'dts', dtb])).stdout;
  } finally {
    await fs.rm(dtb, { force: true });
  }
}

/** Compiles every variant (or reuses the cached DTB with the same source). Returns the DTB paths. */
export async function buildDtbs(root: string): Promise<{ dtbs: Record<DtVariant, string>; cached: number }> {
  const dir = path.join(root, 'dtb');
  const qemuDts = await dumpQemuDts(dir);
  const dtbs = {} as Record<DtVariant, string>;
  let cached = 0;
  for (const v of DT_VARIANTS) {
    const src = editDts(qemuDts, v);
    const base = path.join(dir, `${v}-${hashOf(src)}`);
    const out = `${base}.dtb`;
    if (await fs.access(out).then(() => true, () => false)) cached++;
    else {
      await fs.writeFile(`${base}.dts`, src);
      await execa('dtc', ['-q', '-@', '-I', 'dts', '-O', 'dtb', '-o', `${out}.tmp`, `${base}.dts`]);
      await fs.rename(`${out}.tmp`, out);
    }
    dtbs[v] = out;
  }
  return { dtbs, cached };
}
