// The sysfs side of the PCI endpoint stack: /sys/class/pci_epc, the EPC platform device and
// /sys/bus/pci-epf (observed 6.12; pci-epc-core.c names both alike; drivers/of/kobj.c name file).
import { describe, expect, it } from 'vitest';
import { IMX95_EPCS, QEMU_EPC, boot, cat, ls, mkfn, text } from './helpers.js';

const CLASS = '/sys/class/pci_epc';
const BUS = '/sys/bus/pci-epf';
const PLATFORM = `/sys/devices/platform/${QEMU_EPC}`;

describe('/sys/class/pci_epc on qemu-virt', () => {
  // pci-ep-cfs.c, observed 6.12: /sys/class/pci_epc/<epc> has the same name as controllers/<epc>
  it('lists one entry per EPC, named as in controllers/', async () => {
    const fake = await boot('7.3');
    expect(await ls(fake, CLASS)).toEqual([QEMU_EPC]);
  });

  // observed 6.12: /sys/class/pci_epc/<epc> → ../../devices/platform/<epc>/pci_epc/<epc> (observed)
  it('the class entry is a link to the pci_epc device under the platform device', async () => {
    const fake = await boot('7.3');
    expect(await fake.readlink(`${CLASS}/${QEMU_EPC}`)).toBe(`../../devices/platform/${QEMU_EPC}/pci_epc/${QEMU_EPC}`);
  });

  // observed 6.12: holds only device, subsystem, uevent (power/ too on CONFIG_PM kernels [inferred])
  it('the class device holds device, subsystem and uevent (and at most power/)', async () => {
    const fake = await boot('7.3');
    const entries = await fake.readdir(`${CLASS}/${QEMU_EPC}`);
    expect(entries).toEqual(expect.arrayContaining(['device', 'subsystem', 'uevent']));
    for (const e of entries) expect(['device', 'subsystem', 'uevent', 'power']).toContain(e);
  });

  // observed 6.12: device → ../../../<epc>
  it('its device link points back at the platform device', async () => {
    const fake = await boot('7.3');
    expect(await fake.readlink(`${CLASS}/${QEMU_EPC}/device`)).toBe(`../../../${QEMU_EPC}`);
    expect(await fake.stat(`${CLASS}/${QEMU_EPC}/device`)).toMatchObject({ kind: 'dir' });
  });

  // observed 6.12: subsystem → class pci_epc
  it('its subsystem link resolves to the pci_epc class', async () => {
    const fake = await boot('7.3');
    expect(await fake.readlink(`${CLASS}/${QEMU_EPC}/subsystem`)).toMatch(/\/class\/pci_epc$/);
  });
});

describe('EPC platform device on qemu-virt', () => {
  // observed 6.12 and drivers/of/platform.c: of_node → ../../../firmware/devicetree/base/pcie-ep@7e000000
  it('of_node links to the DT node pcie-ep@7e000000', async () => {
    const fake = await boot('7.3');
    expect(await fake.readlink(`${PLATFORM}/of_node`)).toBe('../../../firmware/devicetree/base/pcie-ep@7e000000');
    expect(await fake.stat(`${PLATFORM}/of_node`)).toMatchObject({ kind: 'dir' });
  });

  // drivers/of/kobj.c, observed 6.12: the node's name file holds the name without unit address, NUL-terminated
  it('the DT node reached through of_node has name "pcie-ep\\0"', async () => {
    const fake = await boot('7.3');
    expect(text(await fake.read(`${PLATFORM}/of_node/name`))).toBe('pcie-ep\0');
  });

  // observed 6.12: driver → cdns-pcie (the QEMU lane)
  it('driver links to the cdns-pcie platform driver', async () => {
    const fake = await boot('7.3');
    expect(await fake.readlink(`${PLATFORM}/driver`)).toMatch(/\/cdns-pcie$/);
  });

  // observed 6.12: platform device entries driver, driver_override, modalias, of_node, pci_epc/, subsystem, uevent
  it('holds driver, driver_override, modalias, of_node, pci_epc, subsystem and uevent', async () => {
    const fake = await boot('7.3');
    expect(await fake.readdir(PLATFORM)).toEqual(
      expect.arrayContaining(['driver', 'driver_override', 'modalias', 'of_node', 'pci_epc', 'subsystem', 'uevent']),
    );
  });

  // observed 6.12: uevent DRIVER=, OF_NAME=pcie-ep, OF_FULLNAME=/pcie-ep@7e000000, OF_COMPATIBLE_0=…
  it('uevent names the driver and the DT node', async () => {
    const fake = await boot('7.3');
    const lines = (await cat(fake, `${PLATFORM}/uevent`)).split('\n');
    expect(lines).toContain('DRIVER=cdns-pcie');
    expect(lines).toContain('OF_NAME=pcie-ep');
    expect(lines).toContain('OF_FULLNAME=/pcie-ep@7e000000');
    expect(lines).toContain('OF_COMPATIBLE_0=cdns,cdns-pcie-ep');
  });
});

describe('/sys/class/pci_epc on imx95', () => {
  // imx95.dtsi: two EPCs
  it('lists both i.MX95 EPCs', async () => {
    const fake = await boot('7.3', 'imx95');
    expect(await ls(fake, CLASS)).toEqual([...IMX95_EPCS]);
  });

  // observed 6.12: the DT node is reached through device/of_node; drivers/of/kobj.c name file; imx95.dtsi node pcie-ep@4c380000
  it('device/of_node of each EPC is its pcie-ep DT node', async () => {
    const fake = await boot('7.3', 'imx95');
    for (const epc of IMX95_EPCS) {
      const node = `${CLASS}/${epc}/device/of_node`;
      expect(await fake.readlink(node)).toMatch(new RegExp(`/pcie-ep@${epc.split('.')[0]}$`));
      expect(text(await fake.read(`${node}/name`))).toBe('pcie-ep\0');
    }
  });

  // observed 6.12 / imx95.dtsi: driver imx6q-pcie
  it('the platform driver of each EPC is imx6q-pcie', async () => {
    const fake = await boot('7.3', 'imx95');
    for (const epc of IMX95_EPCS) expect(await fake.readlink(`${CLASS}/${epc}/device/driver`)).toMatch(/\/imx6q-pcie$/);
  });
});

describe('/sys/bus/pci-epf', () => {
  // observed 6.12: devices/, drivers/, drivers_autoprobe (rw-r--r--), drivers_probe and uevent (--w-------)
  it('holds devices, drivers, drivers_autoprobe, drivers_probe and uevent with their modes', async () => {
    const fake = await boot('7.3');
    expect(await ls(fake, BUS)).toEqual(['devices', 'drivers', 'drivers_autoprobe', 'drivers_probe', 'uevent']);
    expect(await fake.lstat(`${BUS}/drivers_autoprobe`)).toMatchObject({ kind: 'file', mode: 0o644 });
    expect(await fake.lstat(`${BUS}/drivers_probe`)).toMatchObject({ kind: 'file', mode: 0o200 });
    expect(await fake.lstat(`${BUS}/uevent`)).toMatchObject({ kind: 'file', mode: 0o200 });
  });

  // drivers/pci/endpoint/pci-epf-core.c: drivers/<drv> mirrors functions/<drv> per registered driver
  it('drivers/ holds one directory per registered EPF driver', async () => {
    const fake = await boot('7.3');
    expect(await ls(fake, `${BUS}/drivers`)).toEqual(['nvmet_pci_epf', 'pci_epf_ntb', 'pci_epf_test', 'pci_epf_vntb']);
  });

  // observed 6.12: drivers/<driver>/ bind, uevent, unbind (all --w-------)
  it('each driver directory holds bind, uevent and unbind, write-only', async () => {
    const fake = await boot('7.3');
    const dir = `${BUS}/drivers/pci_epf_test`;
    expect(await fake.readdir(dir)).toEqual(expect.arrayContaining(['bind', 'uevent', 'unbind']));
    for (const f of ['bind', 'uevent', 'unbind']) expect(await fake.lstat(`${dir}/${f}`)).toMatchObject({ kind: 'file', mode: 0o200 });
  });

  // pci-ep-cfs.c, observed 6.12: devices/<entry>.<N> appears at mkdir, → ../../../devices/<entry>.<N>
  it('mkdir makes devices/pci_epf_test.0, a link to /sys/devices/pci_epf_test.0', async () => {
    const fake = await boot('7.3');
    expect(await fake.readdir(`${BUS}/devices`)).toEqual([]);
    await mkfn(fake);
    expect(await fake.readdir(`${BUS}/devices`)).toEqual(['pci_epf_test.0']);
    expect(await fake.readlink(`${BUS}/devices/pci_epf_test.0`)).toBe('../../../devices/pci_epf_test.0');
  });

  // observed 6.12: the device's driver link, subsystem and uevent DRIVER=pci_epf_test
  it('the EPF device is bound: driver link, subsystem and uevent DRIVER=pci_epf_test', async () => {
    const fake = await boot('7.3');
    await mkfn(fake);
    const dev = `${BUS}/devices/pci_epf_test.0`;
    expect(await fake.readlink(`${dev}/driver`)).toBe('../../bus/pci-epf/drivers/pci_epf_test');
    expect(await fake.exists(`${dev}/subsystem`)).toBe(true);
    expect((await cat(fake, `${dev}/uevent`)).split('\n')).toContain('DRIVER=pci_epf_test');
  });

  // observed 6.12: drivers/<driver>/ holds a link per bound device
  it('the driver directory gains a link to the new device', async () => {
    const fake = await boot('7.3');
    await mkfn(fake, 'pci_epf_vntb', 'vntb1');
    expect(await fake.lstat(`${BUS}/drivers/pci_epf_vntb/pci_epf_vntb.0`)).toMatchObject({ kind: 'symlink' });
  });

  // observed 6.1/6.12: the device goes at rmdir
  it('rmdir removes the device from devices/ and from its driver directory', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    await fake.rmdir(fn);
    expect(await fake.readdir(`${BUS}/devices`)).toEqual([]);
    expect(await fake.readdir(`${BUS}/drivers/pci_epf_test`)).not.toContain('pci_epf_test.0');
    expect(await fake.exists('/sys/devices/pci_epf_test.0')).toBe(false);
  });

  // observed 6.12 and the imx95 profile: imx95 registers three drivers
  it('on imx95 drivers/ holds pci_epf_ntb, pci_epf_test and pci_epf_vntb', async () => {
    const fake = await boot('7.3', 'imx95');
    expect(await ls(fake, `${BUS}/drivers`)).toEqual(['pci_epf_ntb', 'pci_epf_test', 'pci_epf_vntb']);
  });
});
