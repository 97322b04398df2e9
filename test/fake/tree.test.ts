// The configfs tree the fake shows at boot, and what lstat reports for its nodes
// (pci-ep-cfs.c, observed 6.12 and 7.3.4; imx95.dtsi, the QEMU lane).
import { describe, expect, it } from 'vitest';
import { boot, CFS, CTRLS, FUNCS, IMX95_EPCS, QEMU_EPC, VERSIONS, epcPath, linkToEpc, ls, mkLinkable, mkfn, typeGroup } from './helpers.js';

describe.each(VERSIONS)('pci_ep tree of qemu-virt at boot on %s', (kernel) => {
  // pci-ep-cfs.c, observed 6.12: default groups registered at init
  it('pci_ep/ holds exactly the functions and controllers default groups', async () => {
    const fake = await boot(kernel);
    expect(await ls(fake, CFS)).toEqual(['controllers', 'functions']);
  });

  // pci-ep-cfs.c, observed 6.12 (one dir per id_table entry), the QEMU lane (pci_epf_test and pci_epf_vntb built in)
  it('functions/ holds one directory per registered EPF driver', async () => {
    const fake = await boot(kernel);
    // The lane kernel's drivers (observed 7.3.4 by the differential); nvmet_pci_epf is v6.14+.
    const nvmet = kernel === '7.3' ? ['nvmet_pci_epf'] : [];
    expect(await ls(fake, FUNCS)).toEqual([...nvmet, 'pci_epf_ntb', 'pci_epf_test', 'pci_epf_vntb']);
  });

  // pci-ep-cfs.c, observed 6.12: "one empty dir per id_table entry"
  it('each functions/<driver>/ directory is empty until a function is made', async () => {
    const fake = await boot(kernel);
    expect(await fake.readdir(`${FUNCS}/pci_epf_test`)).toEqual([]);
    expect(await fake.readdir(`${FUNCS}/pci_epf_vntb`)).toEqual([]);
  });

  // pci-ep-cfs.c, observed 6.12: controllers/<epc> named dev_name(parent); the QEMU lane
  it('controllers/ holds one directory per EPC, named like its platform device', async () => {
    const fake = await boot(kernel);
    expect(await ls(fake, CTRLS)).toEqual([QEMU_EPC]);
  });

  // pci-ep-cfs.c, observed 6.12: "start" is its only file
  it('controllers/<epc>/ holds start as its only entry', async () => {
    const fake = await boot(kernel);
    expect(await fake.readdir(epcPath())).toEqual(['start']);
  });

  // pci-ep-cfs.c, observed 6.12: attribute files list as -rw-r--r--, size 4096
  it('function attribute files are regular 0644 files of size 4096', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    const st = await fake.lstat(`${fn}/vendorid`);
    expect(st).toMatchObject({ kind: 'file', mode: 0o644, size: 4096 });
  });

  // pci-ep-cfs.c, observed 6.12 (start -rw-r--r--, i.e. 0644)
  it('controllers/<epc>/start is a regular 0644 file of size 4096', async () => {
    const fake = await boot(kernel);
    expect(await fake.lstat(`${epcPath()}/start`)).toMatchObject({ kind: 'file', mode: 0o644, size: 4096 });
  });

  // pci-ep-cfs.c, observed 6.12: functions/<driver>/ is drwxr-xr-x
  it('pci_ep/, functions/<driver>/ and controllers/<epc>/ are 0755 directories', async () => {
    const fake = await boot(kernel);
    for (const dir of [CFS, FUNCS, CTRLS, `${FUNCS}/pci_epf_test`, epcPath()]) {
      expect(await fake.lstat(dir), dir).toMatchObject({ kind: 'dir', mode: 0o755 });
    }
  });
});

describe('pci_ep tree of imx95 at boot', () => {
  // Brief/boards profile: imx95 registers pci_epf_test, pci_epf_ntb and pci_epf_vntb
  it('functions/ holds pci_epf_ntb, pci_epf_test and pci_epf_vntb', async () => {
    const fake = await boot('7.3', 'imx95');
    expect(await ls(fake, FUNCS)).toEqual(['pci_epf_ntb', 'pci_epf_test', 'pci_epf_vntb']);
  });

  // imx95.dtsi: EPC names 4c300000.pcie-ep and 4c380000.pcie-ep
  it('controllers/ holds both i.MX95 EPCs, each with only start', async () => {
    const fake = await boot('7.3', 'imx95');
    expect(await ls(fake, CTRLS)).toEqual([...IMX95_EPCS]);
    for (const epc of IMX95_EPCS) expect(await fake.readdir(epcPath(epc))).toEqual(['start']);
  });
});

describe('boards and kernels without an EPC or without pci_ep configfs', () => {
  // pci-ep-cfs.c, observed 6.12: with no EPC probed, controllers/ and /sys/class/pci_epc/ are empty
  it('a board profile without controllers has an empty controllers/ and /sys/class/pci_epc/', async () => {
    const qemu = await boot('7.3');
    const fake = await boot('7.3', { ...qemu.board, controllers: [] });
    expect(await fake.readdir(CTRLS)).toEqual([]);
    expect(await fake.readdir('/sys/class/pci_epc')).toEqual([]);
  });

  // drivers/pci/endpoint/Kconfig: without PCI_ENDPOINT_CONFIGFS there is no pci_ep at all, even with configfs mounted
  it('PCI_ENDPOINT_CONFIGFS=n leaves /sys/kernel/config without pci_ep', async () => {
    const fake = await boot('7.3', 'qemu-virt', { config: { PCI_ENDPOINT_CONFIGFS: 'n' } });
    expect(await fake.exists(CFS)).toBe(false);
  });

  // api.ts FakeKernelOptions.configfsMounted: configfs not mounted at /sys/kernel/config → no pci_ep there
  it('with configfs not mounted there is no pci_ep under /sys/kernel/config', async () => {
    const fake = await boot('7.3', 'qemu-virt', { configfsMounted: false });
    expect(await fake.exists(CFS)).toBe(false);
  });
});

describe('lstat of configfs nodes on 7.3.4', () => {
  // pci-ep-cfs.c (observed 7.3.4): directories 0755 size 0 nlink 2.
  // Only leaf directories are checked: the reference does not say how nlink counts sub-directories
  // of pci_ep/ or functions/<driver>/ (function dirs: 5, see the next test).
  it('leaf directories are 0755, size 0, nlink 2', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    for (const dir of [epcPath(), `${fn}/primary`, `${fn}/secondary`, await typeGroup(fake, fn)]) {
      expect(await fake.lstat(dir), dir).toEqual({ kind: 'dir', mode: 0o755, size: 0, nlink: 2, uid: 0, gid: 0 });
    }
  });

  // pci-ep-cfs.c (observed 7.3.4): function dirs nlink 5 (primary/, secondary/, type group)
  it('a function directory has nlink 5', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    expect(await fake.lstat(fn)).toEqual({ kind: 'dir', mode: 0o755, size: 0, nlink: 5, uid: 0, gid: 0 });
  });

  // pci-ep-cfs.c (observed 7.3.4): attributes 0644 size 4096 nlink 1
  it('attributes are 0644, size 4096, nlink 1', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    expect(await fake.lstat(`${fn}/msi_interrupts`)).toEqual({ kind: 'file', mode: 0o644, size: 4096, nlink: 1, uid: 0, gid: 0 });
    expect(await fake.lstat(`${epcPath()}/start`)).toEqual({ kind: 'file', mode: 0o644, size: 4096, nlink: 1, uid: 0, gid: 0 });
  });

  // pci-ep-cfs.c (observed 7.3.4): symlinks 0777 size 0
  it('a link in controllers/<epc>/ is a 0777 symlink of size 0', async () => {
    const fake = await boot('7.3');
    const link = await linkToEpc(fake, await mkLinkable(fake));
    expect(await fake.lstat(link)).toMatchObject({ kind: 'symlink', mode: 0o777, size: 0 });
  });

  // KernelPort.stat follows symlinks: the link's target is the function directory
  it('stat through a controllers/ link reports the function directory', async () => {
    const fake = await boot('7.3');
    const link = await linkToEpc(fake, await mkLinkable(fake));
    expect(await fake.stat(link)).toMatchObject({ kind: 'dir', mode: 0o755 });
    expect(await fake.exists(`${link}/vendorid`)).toBe(true);
  });
});
