// The files of a simulated board that live in ordinary sysfs/procfs (memfs): the device tree
// under /sys/firmware/devicetree/base (drivers/of/kobj.c: one 0444 file of raw bytes per
// property) and the boot blob it was unflattened from, /sys/firmware/fdt (drivers/of/fdt.c
// of_fdt_raw_init: FDT v17, mode 0400), the EPC platform devices and /sys/class/pci_epc (drivers/pci/endpoint/pci-epc-core.c),
// the pci-epf bus (drivers/pci/endpoint/pci-epf-core.c), /proc/version and /proc/config.gz.
// The dynamic part (pci-epf devices and drivers) is rebuilt from the model after each change.
import nodePath from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Volume } from 'memfs';
import type { BoardProfile } from '../boards/types.js';
import { flatten } from '../devicetree/spec.js';
import { encodeFdt } from '../devicetree/fdt-encode.js';
import { FDT_PATH } from '../devicetree/fdt.js';
import type { Model } from './model.js';
import { PCI_EPC_CLASS, PCI_EPF_BUS as EPF_BUS, KERNEL_IRQ } from '../sysfs/paths.js';
import { PROC_VERSION } from '../procfs/version.js';
import { PROC_CONFIG_GZ } from '../procfs/kconfig.js';
import { CPU_ONLINE, formatCpuList } from '../sysfs/cpu.js';

import { DT_BASE } from '../devicetree/tree.js';

function file(vol: Volume, path: string, content: string | Uint8Array, mode = 0o644): void {
  vol.mkdirSync(nodePath.posix.dirname(path), { recursive: true });
  vol.writeFileSync(path, content);
  vol.chmodSync(path, mode);
}

/**
 * A symlink at `link` to the absolute `target`, spelt as sysfs spells it: fs/kernfs/symlink.c
 * kernfs_get_target_path climbs from the link's directory to the nearest ancestor of the
 * target's parent, then descends ("device -> ../../../7e000000.pcie-ep", observed).
 */
export function sysfsLinkText(link: string, target: string): string {
  const targetParent = nodePath.posix.dirname(target);
  let base = nodePath.posix.dirname(link);
  let ups = 0;
  while (base !== '/' && targetParent !== base && !targetParent.startsWith(base + '/')) {
    base = nodePath.posix.dirname(base);
    ups++;
  }
  return '../'.repeat(ups) + target.slice(base === '/' ? 1 : base.length + 1);
}

function link(vol: Volume, link: string, target: string): void {
  vol.mkdirSync(nodePath.posix.dirname(link), { recursive: true });
  vol.symlinkSync(sysfsLinkText(link, target), link);
}

export interface BoardFiles {
  release: string;
  config: ReadonlyMap<string, 'y' | 'm' | 'n'>;
  /** CONFIGFS_FS: /sys/kernel/config exists as a mount point. */
  configfs: boolean;
  /** Drivers that are modules (have /sys/module/<name> and a `module` link). */
  modules: ReadonlySet<string>;
}

export function buildBoard(vol: Volume, board: BoardProfile, files: BoardFiles): void {
  // Device tree.
  const tree = flatten(board.dt, { symbols: board.dtSymbols });
  for (const node of tree.nodes) vol.mkdirSync(DT_BASE + node, { recursive: true });
  for (const p of tree.properties) file(vol, `${DT_BASE}${p.node}/${p.name}`, p.bytes, 0o444);
  file(vol, FDT_PATH, encodeFdt(tree), 0o400);

  // Endpoint controllers: platform device, class link, platform driver.
  for (const c of board.controllers) {
    const compat = stringsOf(tree.properties.find((p) => p.node === c.dtPath && p.name === 'compatible')?.bytes);
    const nodeName = c.dtPath.slice(c.dtPath.lastIndexOf('/') + 1).split('@')[0]!;
    const modalias = `of:N${nodeName}T(null)${compat.map((s) => `C${s}`).join('')}`;
    file(vol, `${c.devicePath}/driver_override`, '(null)\n');
    file(vol, `${c.devicePath}/modalias`, `${modalias}\n`, 0o444);
    file(
      vol,
      `${c.devicePath}/uevent`,
      [`DRIVER=${c.driver}`, `OF_NAME=${nodeName}`, `OF_FULLNAME=${c.dtPath}`, ...compat.map((s, i) => `OF_COMPATIBLE_${i}=${s}`), `OF_COMPATIBLE_N=${compat.length}`, `MODALIAS=${modalias}`, ''].join('\n'),
    );
    link(vol, `${c.devicePath}/of_node`, DT_BASE + c.dtPath);
    link(vol, `${c.devicePath}/driver`, `/sys/bus/platform/drivers/${c.driver}`);
    link(vol, `${c.devicePath}/subsystem`, '/sys/bus/platform');
    link(vol, `/sys/bus/platform/drivers/${c.driver}/${c.name}`, c.devicePath);
    link(vol, `/sys/bus/platform/devices/${c.name}`, c.devicePath);
    const epcDir = `${c.devicePath}/pci_epc/${c.name}`;
    link(vol, `${epcDir}/device`, c.devicePath);
    link(vol, `${epcDir}/subsystem`, PCI_EPC_CLASS);
    file(vol, `${epcDir}/uevent`, '');
    link(vol, `${PCI_EPC_CLASS}/${c.name}`, epcDir);
  }
  vol.mkdirSync(PCI_EPC_CLASS, { recursive: true });
  vol.mkdirSync('/sys/devices/platform', { recursive: true });

  // The pci-epf bus (drivers/pci/endpoint/pci-epf-core.c; observed 6.12).
  vol.mkdirSync(`${EPF_BUS}/devices`, { recursive: true });
  vol.mkdirSync(`${EPF_BUS}/drivers`, { recursive: true });
  file(vol, `${EPF_BUS}/drivers_autoprobe`, '1\n');
  file(vol, `${EPF_BUS}/drivers_probe`, '', 0o200);
  file(vol, `${EPF_BUS}/uevent`, '', 0o200);

  // drivers/base/cpu.c: the online mask as a cpulist (src/sysfs/cpu.ts); every CPU of the board is up.
  file(vol, CPU_ONLINE, formatCpuList(Array.from({ length: board.cpus }, (_, i) => i)), 0o444);

  if (files.configfs) vol.mkdirSync('/sys/kernel/config', { recursive: true });
  vol.mkdirSync(KERNEL_IRQ, { recursive: true });
  file(vol, PROC_VERSION, `Linux version ${files.release} (epctl@fake) (aarch64-linux-gnu-gcc (Debian 14.2.0-19) 14.2.0, GNU ld (GNU Binutils for Debian) 2.44) #1 SMP PREEMPT\n`, 0o444);
  file(vol, '/proc/cmdline', 'console=ttyAMA0 root=/dev/mmcblk0p2 rw\n', 0o444);
  if (files.config.get('IKCONFIG_PROC') === 'y') file(vol, PROC_CONFIG_GZ, gzipSync(configText(files.config)), 0o444);
}

/** .config text: "CONFIG_X=y" and "# CONFIG_X is not set". */
export function configText(config: ReadonlyMap<string, 'y' | 'm' | 'n'>): string {
  return [...config].map(([k, v]) => (v === 'n' ? `# CONFIG_${k} is not set` : `CONFIG_${k}=${v}`)).join('\n') + '\n';
}

function stringsOf(bytes: Uint8Array | undefined): string[] {
  if (!bytes) return [];
  return Buffer.from(bytes).toString('latin1').split('\0').slice(0, -1);
}

/** Rebuilds /sys/bus/pci-epf and /sys/devices/<epf> from the model. */
/** What each Volume's bus was last built from (driver states, and each device's entries), so an attribute write rebuilds nothing and a mkdir adds one device. */
const builtFrom = new WeakMap<Volume, { drivers: string; devices: Map<string, string> }>();

export function syncEpfBus(vol: Volume, m: Model, modules: ReadonlySet<string>): void {
  const drivers = JSON.stringify(Object.entries(m.drivers).map(([d, st]) => [d, st.loaded, modules.has(d)]));
  const devices = new Map(Object.values(m.devices).map((d) => [d.name, JSON.stringify([d.driver, d.probed])]));
  const prev = builtFrom.get(vol);
  builtFrom.set(vol, { drivers, devices });
  if (prev && prev.drivers === drivers) {
    for (const [name, sig] of prev.devices) if (devices.get(name) !== sig) removeDevice(vol, name, JSON.parse(sig)[0] as string);
    for (const d of Object.values(m.devices)) if (prev.devices.get(d.name) !== devices.get(d.name)) addDevice(vol, d);
    return;
  }
  for (const dir of [`${EPF_BUS}/devices`, `${EPF_BUS}/drivers`]) {
    vol.rmSync(dir, { recursive: true, force: true });
    vol.mkdirSync(dir, { recursive: true });
  }
  for (const name of vol.readdirSync('/sys/devices') as string[])
    if (/^pci_epf_\w+\.\d+$/.test(name)) vol.rmSync(`/sys/devices/${name}`, { recursive: true, force: true });

  for (const [driver, st] of Object.entries(m.drivers)) {
    if (!st.loaded) continue;
    const dir = `${EPF_BUS}/drivers/${driver}`;
    for (const f of ['bind', 'unbind', 'uevent']) file(vol, `${dir}/${f}`, '', 0o200);
    if (modules.has(driver)) link(vol, `${dir}/module`, `/sys/module/${driver}`);
  }
  for (const d of Object.values(m.devices)) addDevice(vol, d);
}

/** A pci-epf device's sysfs entries: /sys/devices/<dev>, its bus link and, when probed, its driver links. */
function addDevice(vol: Volume, d: Model['devices'][string]): void {
  const devDir = `/sys/devices/${d.name}`;
  vol.mkdirSync(devDir, { recursive: true });
  link(vol, `${devDir}/subsystem`, EPF_BUS);
  file(vol, `${devDir}/uevent`, d.probed ? `DRIVER=${d.driver}\n` : '');
  link(vol, `${EPF_BUS}/devices/${d.name}`, devDir);
  if (d.probed) {
    link(vol, `${devDir}/driver`, `${EPF_BUS}/drivers/${d.driver}`);
    link(vol, `${EPF_BUS}/drivers/${d.driver}/${d.name}`, devDir);
  }
}

function removeDevice(vol: Volume, name: string, driver: string): void {
  // The links first, with unlink: rm would follow them to the directory they name.
  for (const l of [`${EPF_BUS}/devices/${name}`, `${EPF_BUS}/drivers/${driver}/${name}`]) {
    try {
      vol.unlinkSync(l);
    } catch {
      // Not there (an unprobed device has no driver link).
    }
  }
  vol.rmSync(`/sys/devices/${name}`, { recursive: true, force: true });
}
