// Saving and restoring the fake (api.ts toState / FakeKernelState; --mock-state): the restored
// kernel reads the same and carries on where the saved one stopped — IDR index, shared header,
// WARN_ONCE sites, taint, kernel log, pending fault rules and the hidden per-EPF state (is_bound, pci-epf-core.c).
import { describe, expect, it } from 'vitest';
import {
  CFS,
  boot,
  cat,
  countMatching,
  epcPath,
  fnPath,
  linkSecondary,
  linkToEpc,
  linkVf,
  ls,
  mkLinkable,
  mkfn,
  reload,
  startEpc,
  type FakeKernel,
  type FakeKernelState,
} from './helpers.js';

const CUT_HERE = '------------[ cut here ]------------';

/** toState → JSON text → parse → loadFakeKernel, as --mock-state does through a file. */
async function roundTrip(fake: FakeKernel): Promise<FakeKernel> {
  const json = JSON.stringify(fake.toState());
  return reload(JSON.parse(json) as FakeKernelState);
}

/** Every file and link under a directory, with contents / targets, for comparing two kernels. */
async function snapshot(fake: FakeKernel, dir: string, out: Record<string, string> = {}): Promise<Record<string, string>> {
  for (const name of await fake.readdir(dir)) {
    const path = `${dir}/${name}`;
    const st = await fake.lstat(path);
    if (st.kind === 'symlink') out[path] = `-> ${await fake.readlink(path)}`;
    else if (st.kind === 'dir') await snapshot(fake, path, out);
    else {
      try {
        out[path] = new TextDecoder().decode(await fake.read(path));
      } catch (e) {
        out[path] = `! ${(e as { code?: string }).code}`;
      }
    }
  }
  return out;
}

describe('toState', () => {
  // api.ts FakeKernelState: format, version, board, release
  it('names its format, version, board and release', async () => {
    const fake = await boot('7.3');
    expect(fake.toState()).toMatchObject({ format: 'epctl-fake-kernel', version: 1, board: 'qemu-virt', release: '7.3.4' });
  });

  // api.ts toState(): JSON-safe
  it('is JSON-safe: a JSON round trip gives an equal state', async () => {
    const fake = await boot('7.3');
    await mkfn(fake);
    const state = fake.toState();
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });

  // api.ts FakeKernelState.release
  it('keeps the release of a 6.12 kernel', async () => {
    const fake = await boot('6.12');
    const again = await roundTrip(fake);
    expect(again.release).toBe(fake.release);
    expect(again.release.startsWith('6.12')).toBe(true);
  });
});

describe('loadFakeKernel', () => {
  // api.ts toState(): everything needed to recreate this kernel exactly
  it('gives a kernel whose configfs reads byte for byte the same', async () => {
    const fake = await boot('7.3');
    const t = await mkLinkable(fake, 'pci_epf_test', 'func1');
    await fake.write(`${t}/vendorid`, '0x1957');
    await fake.write(`${t}/msi_interrupts`, '16');
    await mkfn(fake, 'pci_epf_vntb', 'vntb1');
    await linkToEpc(fake, t);
    await startEpc(fake);
    const again = await roundTrip(fake);
    expect(await snapshot(again, CFS)).toEqual(await snapshot(fake, CFS));
  });

  // pci-ep-cfs.c, observed 6.12: /sys/bus/pci-epf/devices/<entry>.<N> per function
  it('keeps the sysfs devices of the functions', async () => {
    const fake = await boot('7.3');
    await mkfn(fake, 'pci_epf_test', 'a');
    await mkfn(fake, 'pci_epf_vntb', 'b');
    const again = await roundTrip(fake);
    expect(await ls(again, '/sys/bus/pci-epf/devices')).toEqual(['pci_epf_test.0', 'pci_epf_vntb.1']);
  });

  // pci-ep-cfs.c, observed 6.12: the IDR continues (lowest free, including a hole left by rmdir)
  it('continues the IDR index where the saved kernel stopped', async () => {
    const fake = await boot('7.3');
    await mkfn(fake, 'pci_epf_test', 'a');
    await mkfn(fake, 'pci_epf_test', 'b');
    await mkfn(fake, 'pci_epf_test', 'c');
    await fake.rmdir(fnPath('pci_epf_test', 'b'));
    const again = await roundTrip(fake);
    const d = await mkfn(again, 'pci_epf_vntb', 'd');
    const e = await mkfn(again, 'pci_epf_vntb', 'e');
    expect(await again.readdir(d)).toContain('pci_epf_vntb.1');
    expect(await again.readdir(e)).toContain('pci_epf_vntb.3');
  });

  // pci-epf-test.c test_header, observed 6.12: the shared header survives rmdir of all functions, and so a save
  it('keeps the shared header when no function exists any more', async () => {
    const fake = await boot('7.3');
    const a = await mkfn(fake);
    await fake.write(`${a}/vendorid`, '0x16c3');
    await fake.rmdir(a);
    const again = await roundTrip(fake);
    const b = await mkfn(again, 'pci_epf_test', 'b');
    expect(await cat(again, `${b}/vendorid`)).toBe('0x16c3\n');
  });

  // pci-ep-cfs.c, observed 6.12: WARN_ON_ONCE sites that fired stay fired for the rest of the boot
  it('remembers WARN_ONCE sites that already fired', async () => {
    const fake = await boot('7.3');
    const a = await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'a'), undefined, 'a');
    const b = await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'b'), undefined, 'b');
    await startEpc(fake);
    await fake.unlink(a);
    const again = await roundTrip(fake);
    const mark = again.dmesg().length;
    await again.unlink(b);
    expect(countMatching(again.dmesg().slice(mark), CUT_HERE)).toBe(0);
  });

  // api.ts FakeKernel.tainted
  it('keeps the taint', async () => {
    const fake = await boot('7.3');
    const link = await linkToEpc(fake, await mkLinkable(fake));
    await startEpc(fake);
    await fake.unlink(link);
    expect(fake.tainted).toBe(true);
    const again = await roundTrip(fake);
    expect(again.tainted).toBe(true);
  });

  // api.ts kernelLog(): the ring continues after a reload
  it('keeps the kernel log and appends to it', async () => {
    const fake = await boot('7.3');
    await mkfn(fake, 'pci_epf_vntb', 'v1');
    const again = await roundTrip(fake);
    expect(again.dmesg()).toEqual(fake.dmesg());
    expect(again.kernelLog()).toEqual(fake.kernelLog());
    await mkfn(again, 'pci_epf_vntb', 'v2');
    expect(again.dmesg().slice(0, fake.dmesg().length)).toEqual(fake.dmesg());
    expect(again.dmesg().length).toBeGreaterThan(fake.dmesg().length);
  });

  // api.ts FaultRule: "from now" counts across a save
  it('keeps pending fault rules', async () => {
    const fake = await boot('7.3');
    const path = fnPath('pci_epf_test', 'func1');
    fake.injectFault({ op: 'mkdir', path, errno: 'ENOMEM', nth: 2 });
    await mkfn(fake, 'pci_epf_test', 'other');
    const again = await roundTrip(fake);
    // the saved kernel has seen no matching op yet: the 2nd matching op from injection fails
    await again.mkdir(path);
    await again.rmdir(path);
    await expect(again.mkdir(path)).rejects.toMatchObject({ code: 'ENOMEM' });
  });

  // pci-ep-cfs.c, pci-epf-core.c: is_vf is sticky and invisible; it must survive a save
  it('keeps a former VF unlinkable', async () => {
    const fake = await boot('7.3');
    const pf = await mkLinkable(fake, 'pci_epf_test', 'pf');
    const vf = await mkLinkable(fake, 'pci_epf_test', 'vf');
    await fake.unlink(await linkVf(fake, pf, vf));
    const again = await roundTrip(fake);
    await expect(linkToEpc(again, vf)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  // observed 7.3.4: "bound once" belongs to the EPF device and nothing shows it; it must survive a save
  it('keeps the bound-once state, so H1 still oopses after a reload', async () => {
    const fake = await boot('7.3');
    const fn = await mkLinkable(fake);
    await fake.unlink(await linkToEpc(fake, fn));
    const again = await roundTrip(fake);
    await expect(linkSecondary(again, fn)).rejects.toMatchObject({ name: 'KernelOops' });
  });

  // pci-ep-cfs.c: cached start flag; EALREADY on 6.12+
  it('keeps the start flag (and EALREADY for the same value)', async () => {
    const fake = await boot('7.3');
    await startEpc(fake);
    const again = await roundTrip(fake);
    expect(await cat(again, `${epcPath()}/start`)).toBe('1\n');
    await expect(again.write(`${epcPath()}/start`, '1')).rejects.toMatchObject({ code: 'EALREADY' });
  });

  // api.ts FakeKernelState.board
  it('keeps the board: an imx95 state reloads as imx95', async () => {
    const fake = await boot('7.3', 'imx95');
    const again = await roundTrip(fake);
    expect(again.board.name).toBe('imx95');
    expect(await ls(again, `${CFS}/controllers`)).toEqual(['4c300000.pcie-ep', '4c380000.pcie-ep']);
  });
});

describe('saved state keeps how the kernel was built', () => {
  // A kernel made with module-built drivers and configfs unmounted reloads the same way.
  it('reloads the config overrides and the configfs mount with the model', async () => {
    const { createFakeKernel, loadFakeKernel } = await import('../../src/fake/index.js');
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '6.12', config: { PCI_EPF_TEST: 'm' }, configfsMounted: false });
    const again = loadFakeKernel(JSON.parse(JSON.stringify(k.toState())));
    expect(await again.exists('/sys/kernel/config/pci_ep')).toBe(false);
    again.modprobe('pci_epf_test');
    expect(await again.readdir('/sys/bus/pci-epf/drivers')).toContain('pci_epf_test');
  });
});

describe('a state that is not one', () => {
  it('is refused with a usage error naming the expected format', async () => {
    const { loadFakeKernel } = await import('../../src/fake/index.js');
    const bad = { format: 'something-else', version: 1, board: 'imx95', release: '7.3.4', model: {} } as never;
    expect(() => loadFakeKernel(bad)).toThrow(expect.objectContaining({ exitCode: 64, message: expect.stringContaining('format epctl-fake-kernel, version 1') }));
  });
});
