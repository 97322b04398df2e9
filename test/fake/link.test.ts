// Linking a function into controllers/<epc>/ and unlinking it: bind-time checks, function
// numbers, and the WARN splat of an unlink while started (pci-ep-cfs.c; observed 6.1, 6.12, 7.3.4).
import { describe, expect, it } from 'vitest';
import {
  IMX95_EPCS,
  VERSIONS,
  boot,
  countMatching,
  epcPath,
  linkPrimary,
  linkToEpc,
  linkVf,
  logSince,
  ls,
  mkLinkable,
  mkVntb,
  mkfn,
  startEpc,
  typeGroup,
} from './helpers.js';

const CUT_HERE = '------------[ cut here ]------------';
const END_TRACE = '---[ end trace 0000000000000000 ]---';
/** 7.3.4 splat format (observed 7.3.4): file:line first, then function and CPU#n: comm/pid. */
const WARN_251_NEW = /WARNING: drivers\/pci\/endpoint\/pci-ep-cfs\.c:251 at pci_epc_epf_unlink\+0x[0-9a-f]+\/0x[0-9a-f]+, CPU#0: \S+\/\d+/;
const WARN_143_NEW =
  /WARNING: drivers\/pci\/endpoint\/pci-ep-cfs\.c:143 at pci_primary_epc_epf_unlink\+0x[0-9a-f]+\/0x[0-9a-f]+, CPU#0: \S+\/\d+/;

describe.each(VERSIONS)('linking on %s', (kernel) => {
  // pci-ep-cfs.c, observed 6.12: listed as fgood -> ../../../pci_ep/functions/pci_epf_test/fgood
  it('a link into controllers/<epc>/ succeeds and reads back in configfs relative form', async () => {
    const fake = await boot(kernel);
    const fn = await mkLinkable(fake, 'pci_epf_test', 'fgood');
    const link = await linkToEpc(fake, fn, undefined, 'fgood');
    expect(await ls(fake, epcPath())).toEqual(['fgood', 'start']);
    expect(await fake.readlink(link)).toBe('../../../pci_ep/functions/pci_epf_test/fgood');
  });

  // pci-ep-cfs.c, observed 6.12: the function's primary/ stays empty after a controllers/ link
  it("a controllers/ link leaves the function's primary/ empty", async () => {
    const fake = await boot(kernel);
    const fn = await mkLinkable(fake);
    await linkToEpc(fake, fn);
    expect(await fake.readdir(`${fn}/primary`)).toEqual([]);
  });

  // pci-ep-cfs.c, observed 6.12: allowed with start 0 or 1
  it('a link succeeds while the EPC is started', async () => {
    const fake = await boot(kernel);
    await startEpc(fake);
    const fn = await mkLinkable(fake);
    await linkToEpc(fake, fn);
    expect(await fake.readdir(epcPath())).toContain('l1');
  });

  // pci-ep-cfs.c, observed 6.12: same function already linked to an EPC (e.g. under a second name) → EBUSY
  it('a second link of the same function fails with EBUSY', async () => {
    const fake = await boot(kernel);
    const fn = await mkLinkable(fake);
    await linkToEpc(fake, fn, undefined, 'first');
    await expect(linkToEpc(fake, fn, undefined, 'second')).rejects.toMatchObject({ code: 'EBUSY', syscall: 'symlink' });
    expect(await ls(fake, epcPath())).toEqual(['first', 'start']);
  });

  // pci-ep-cfs.c, observed 6.12: no free function number (max-functions 2 on qemu-virt) → EINVAL + dmesg
  it('a third function on qemu-virt fails with EINVAL and "Exceeding max supported Function Number"', async () => {
    const fake = await boot(kernel);
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'a'), undefined, 'a');
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'b'), undefined, 'b');
    const c = await mkLinkable(fake, 'pci_epf_test', 'c');
    const mark = fake.dmesg().length;
    await expect(linkToEpc(fake, c, undefined, 'c')).rejects.toMatchObject({ code: 'EINVAL' });
    expect(logSince(fake, mark)).toContainEqual(expect.stringContaining('pci_epc 7e000000.pcie-ep: Exceeding max supported Function Number'));
    expect(await ls(fake, epcPath())).toEqual(['a', 'b', 'start']);
  });

  // pci-ep-cfs.c, observed 6.12: function numbers come from a per-EPC bitmap; unlink frees the number
  it('an unlink frees the function number for the next link', async () => {
    const fake = await boot(kernel);
    const a = await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'a'), undefined, 'a');
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'b'), undefined, 'b');
    await fake.unlink(a);
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'c'), undefined, 'c');
    expect(await ls(fake, epcPath())).toEqual(['b', 'c', 'start']);
  });

  // pci-ep-cfs.c, observed 6.12: unlink → 0 and the link is gone
  it('unlink of a controllers/ link succeeds and removes it', async () => {
    const fake = await boot(kernel);
    const link = await linkToEpc(fake, await mkLinkable(fake));
    await fake.unlink(link);
    expect(await fake.readdir(epcPath())).toEqual(['start']);
  });

  // pci-ep-cfs.c, observed 6.12 (unlink while start is 0 prints nothing) — the WARN needs start=1
  it('unlink while the EPC is stopped prints no WARN and leaves the kernel untainted', async () => {
    const fake = await boot(kernel);
    const link = await linkToEpc(fake, await mkLinkable(fake));
    const mark = fake.dmesg().length;
    await fake.unlink(link);
    expect(countMatching(logSince(fake, mark), CUT_HERE)).toBe(0);
    expect(fake.tainted).toBe(false);
  });

  // pci-ep-cfs.c, observed 6.12: VF checks — a VF can never be linked to an EPC (EINVAL)
  it('linking a function that is a VF fails with EINVAL', async () => {
    const fake = await boot(kernel);
    const pf = await mkLinkable(fake, 'pci_epf_test', 'pf');
    const vf = await mkLinkable(fake, 'pci_epf_test', 'vf');
    await linkVf(fake, pf, vf);
    await expect(linkToEpc(fake, vf)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(await fake.readdir(epcPath())).toEqual(['start']);
  });
});

describe('linking on 7.3.4', () => {
  // pci-ep-cfs.c: re-linking a function after unlink works (observed 7.3.4)
  it('re-linking a function after unlink succeeds', async () => {
    const fake = await boot('7.3');
    const fn = await mkLinkable(fake);
    await fake.unlink(await linkToEpc(fake, fn));
    await linkToEpc(fake, fn, undefined, 'again');
    expect(await fake.readlink(`${epcPath()}/again`)).toBe('../../../pci_ep/functions/pci_epf_test/func1');
  });

  // pci-ep-cfs.c, observed 6.12, pci-epf-core.c: is_vf is sticky after the VF link is removed (EINVAL, no log)
  it('a former VF stays unlinkable after its VF link is removed: EINVAL, no log', async () => {
    const fake = await boot('7.3');
    const pf = await mkLinkable(fake, 'pci_epf_test', 'pf');
    const vf = await mkLinkable(fake, 'pci_epf_test', 'vf');
    await fake.unlink(await linkVf(fake, pf, vf));
    const mark = fake.dmesg().length;
    await expect(linkToEpc(fake, vf)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(logSince(fake, mark)).toEqual([]);
  });

  // pci-ep-cfs.c, observed 6.12: PF holding a VF link, EPC without max-virtual-functions → EINVAL +
  // "<drv> <drv>.<N>: PF<func_no>: Exceeds max vfunc number" (observed 7.3.4)
  it('linking a PF that holds a VF fails with EINVAL and "PF0: Exceeds max vfunc number"', async () => {
    const fake = await boot('7.3');
    const pf = await mkLinkable(fake, 'pci_epf_test', 'pf');
    const vf = await mkLinkable(fake, 'pci_epf_test', 'vf');
    await linkVf(fake, pf, vf);
    const mark = fake.dmesg().length;
    await expect(linkToEpc(fake, pf)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(logSince(fake, mark)).toContainEqual(expect.stringContaining('pci_epf_test pci_epf_test.0: PF0: Exceeds max vfunc number'));
    expect(await fake.readdir(epcPath())).toEqual(['start']);
  });

  // pci-ep-cfs.c: vNTB with db_count still 0 → EINVAL and three log lines (observed 7.3.4)
  it('linking a vNTB function whose db_count is 0 fails with EINVAL and logs why', async () => {
    const fake = await boot('7.3');
    const fn = await mkLinkable(fake, 'pci_epf_vntb', 'vntb1');
    const mark = fake.dmesg().length;
    await expect(linkPrimary(fake, fn)).rejects.toMatchObject({ code: 'EINVAL' });
    const lines = logSince(fake, mark);
    expect(lines).toContainEqual(expect.stringContaining('DB count 0 out of range (3 - 32)'));
    expect(lines).toContainEqual(expect.stringContaining('Interrupt configuration failed'));
    expect(lines).toContainEqual(expect.stringContaining('Failed to initialize EPC'));
    const order = ['DB count 0 out of range', 'Interrupt configuration failed', 'Failed to initialize EPC'].map((s) =>
      lines.findIndex((l) => l.includes(s)),
    );
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(await fake.readdir(`${fn}/primary`)).toEqual([]);
  });

  // observed 7.3.4: vNTB link logs the virtual bus (vbus_number 255 → 0002:ff) at level 6
  it('linking a vNTB function logs the PCI host bridge to bus 0002:ff', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const mark = fake.kernelLog().length;
    await linkPrimary(fake, fn);
    const records = fake.kernelLog().slice(mark);
    const wanted = [
      'PCI host bridge to bus 0002:ff',
      'pci_bus 0002:ff: root bus resource [io  0x0000-0xffffff]',
      'pci_bus 0002:ff: root bus resource [mem 0x00000000-0xffffffffffffffff]',
      'pci_bus 0002:ff: root bus resource [bus 00-ff]',
    ];
    for (const w of wanted) expect(records.find((r) => r.text.includes(w)), w).toMatchObject({ level: 6 });
  });

  // observed 7.3.4: with a non-zero vid/pid the link also logs the device line
  it('linking a vNTB function with vntb_vid/vntb_pid set logs the [vid:pid] device line', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const tg = await typeGroup(fake, fn);
    await fake.write(`${tg}/vntb_vid`, '0x00ff');
    await fake.write(`${tg}/vntb_pid`, '4');
    const mark = fake.dmesg().length;
    await linkPrimary(fake, fn);
    expect(logSince(fake, mark)).toContainEqual(expect.stringContaining('pci 0002:ff:00.0: [00ff:0004] type 00 class'));
  });

  // observed 7.3.4: vNTB unlink logs the bus release
  it('unlinking a vNTB function logs "busn_res: [bus ff] is released"', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const link = await linkPrimary(fake, fn);
    const mark = fake.dmesg().length;
    await fake.unlink(link);
    expect(logSince(fake, mark)).toContainEqual(expect.stringContaining('pci_bus 0002:ff: busn_res: [bus ff] is released'));
  });

  // pci-ep-cfs.c, observed 6.12: normal noise at link on EPCs without a DMA engine
  it('linking a pci_epf_test function on qemu-virt logs the DMA channel fallback lines', async () => {
    const fake = await boot('7.3');
    const fn = await mkLinkable(fake);
    const mark = fake.dmesg().length;
    await linkToEpc(fake, fn);
    const lines = logSince(fake, mark);
    expect(lines).toContainEqual(expect.stringContaining('pci_epf_test pci_epf_test.0: Failed to get private DMA rx channel. Falling back to generic one'));
    expect(lines).toContainEqual(expect.stringContaining('pci_epf_test pci_epf_test.0: Failed to get DMA channel'));
  });
});

describe('one function per EPC on imx95', () => {
  // pci-ep-cfs.c, observed 6.12: max-functions default 1; imx95.dtsi: i.MX95 has no max-functions
  it('a second function on the same i.MX95 EPC fails with EINVAL and "Exceeding max supported Function Number"', async () => {
    const fake = await boot('7.3', 'imx95');
    const [epc0, epc1] = IMX95_EPCS;
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'a'), epc1, 'a');
    const b = await mkLinkable(fake, 'pci_epf_test', 'b');
    const mark = fake.dmesg().length;
    await expect(linkToEpc(fake, b, epc1, 'b')).rejects.toMatchObject({ code: 'EINVAL' });
    expect(logSince(fake, mark)).toContainEqual(expect.stringContaining(`pci_epc ${epc1}: Exceeding max supported Function Number`));
    // the other controller still has its slot
    await linkToEpc(fake, b, epc0, 'b');
    expect(await ls(fake, epcPath(epc0))).toEqual(['b', 'start']);
  });
});

describe('MSI/MSI-X checks at bind', () => {
  // observed: 6.1 → ln EINVAL, no link, dmesg "MSI configuration failed"
  it.each(['0', '33'])('on 6.1 a link with msi_interrupts %s fails with EINVAL and "MSI configuration failed"', async (msi) => {
    const fake = await boot('6.1');
    const fn = await mkLinkable(fake);
    await fake.write(`${fn}/msi_interrupts`, msi);
    const mark = fake.dmesg().length;
    await expect(linkToEpc(fake, fn)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(logSince(fake, mark)).toContainEqual(expect.stringContaining('MSI configuration failed'));
    expect(await fake.readdir(epcPath())).toEqual(['start']);
  });

  // pci-ep-cfs.c, observed 6.12: MSI-X > 2048 fails with "MSI-X configuration failed" (MSI is checked first).
  // qemu-virt's Cadence EPC is taken as msix_capable (the MSI-X row is observed on this lane).
  it('on 6.1 a link with msix_interrupts 2049 fails with EINVAL and "MSI-X configuration failed"', async () => {
    const fake = await boot('6.1');
    const fn = await mkLinkable(fake);
    await fake.write(`${fn}/msix_interrupts`, '2049');
    const mark = fake.dmesg().length;
    await expect(linkToEpc(fake, fn)).rejects.toMatchObject({ code: 'EINVAL' });
    const lines = logSince(fake, mark);
    expect(lines).toContainEqual(expect.stringContaining('MSI-X configuration failed'));
    expect(countMatching(lines, /MSI configuration failed/)).toBe(0);
  });

  // pci-ep-cfs.c, observed 6.12: MSI is checked first
  it('on 6.1 with both counts bad only the MSI failure is reported', async () => {
    const fake = await boot('6.1');
    const fn = await mkfn(fake);
    await fake.write(`${fn}/msix_interrupts`, '4096');
    const mark = fake.dmesg().length;
    await expect(linkToEpc(fake, fn)).rejects.toMatchObject({ code: 'EINVAL' });
    const lines = logSince(fake, mark);
    expect(lines).toContainEqual(expect.stringContaining('MSI configuration failed'));
    expect(countMatching(lines, 'MSI-X configuration failed')).toBe(0);
  });

  // pci-ep-cfs.c: 6.1 links when msi 1..32 and msix 1..2048
  it('on 6.1 a link with msi 32 and msix 2048 succeeds', async () => {
    const fake = await boot('6.1');
    const fn = await mkfn(fake);
    await fake.write(`${fn}/msi_interrupts`, '32');
    await fake.write(`${fn}/msix_interrupts`, '2048');
    await linkToEpc(fake, fn);
    expect(await fake.readdir(epcPath())).toContain('l1');
  });

  // observed 6.12 (epc_init errors only logged since ≈v6.11): 6.12+ → ln 0, dmesg only
  it.each(['6.12', '7.3'] as const)('on %s a link with msi_interrupts 0 succeeds and only logs "MSI configuration failed"', async (kernel) => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    const mark = fake.dmesg().length;
    await linkToEpc(fake, fn);
    expect(await fake.readlink(`${epcPath()}/l1`)).toBe('../../../pci_ep/functions/pci_epf_test/func1');
    expect(logSince(fake, mark)).toContainEqual(expect.stringContaining('MSI configuration failed'));
  });
});

describe('unlink while started: WARN splat', () => {
  // pci-ep-cfs.c: 7.3.4 new format at pci-ep-cfs.c:251 via controllers/, the unlink proceeds
  it('on 7.3.4 unlink from controllers/ while started prints the :251 splat and still removes the link', async () => {
    const fake = await boot('7.3');
    const link = await linkToEpc(fake, await mkLinkable(fake));
    await startEpc(fake);
    const mark = fake.kernelLog().length;
    await fake.unlink(link);
    expect(await fake.readdir(epcPath())).toEqual(['start']);
    const records = fake.kernelLog().slice(mark);
    const lines = records.map((r) => r.text);
    expect(records.find((r) => r.text.includes(CUT_HERE))).toMatchObject({ level: 6 });
    expect(records.find((r) => WARN_251_NEW.test(r.text))).toMatchObject({ level: 4 });
    expect(lines).toContainEqual(expect.stringContaining('Modules linked in:'));
    expect(lines).toContainEqual(expect.stringMatching(/CPU: 0 UID: 0 PID: \d+ Comm: \S+ Not tainted 7\.3\.4 #1 PREEMPTLAZY/));
    expect(lines).toContainEqual(expect.stringContaining('Hardware name: linux,dummy-virt (DT)'));
    expect(lines).toContainEqual(expect.stringContaining('Call trace:'));
    expect(lines).toContainEqual(expect.stringContaining(END_TRACE));
    const cut = lines.findIndex((l) => l.includes(CUT_HERE));
    const warn = lines.findIndex((l) => WARN_251_NEW.test(l));
    const end = lines.findIndex((l) => l.includes(END_TRACE));
    expect(cut).toBeLessThan(warn);
    expect(warn).toBeLessThan(end);
  });

  // pci-ep-cfs.c, observed 6.12: WARN_ON_ONCE — one splat per call site per boot
  it('on 7.3.4 a second unlink from controllers/ while started prints no second splat', async () => {
    const fake = await boot('7.3');
    const a = await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'a'), undefined, 'a');
    const b = await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'b'), undefined, 'b');
    await startEpc(fake);
    await fake.unlink(a);
    const mark = fake.dmesg().length;
    await fake.unlink(b);
    expect(countMatching(logSince(fake, mark), CUT_HERE)).toBe(0);
    expect(await fake.readdir(epcPath())).toEqual(['start']);
  });

  // pci-ep-cfs.c: primary/ has its own WARN_ON_ONCE at pci-ep-cfs.c:143 (observed 7.3.4)
  it('on 7.3.4 unlink from primary/ while started prints the :143 splat even after the :251 one', async () => {
    const fake = await boot('7.3');
    const a = await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'a'), undefined, 'a');
    const b = await mkLinkable(fake, 'pci_epf_test', 'b');
    const p = await linkPrimary(fake, b);
    await startEpc(fake);
    await fake.unlink(a);
    const mark = fake.dmesg().length;
    await fake.unlink(p);
    const lines = logSince(fake, mark);
    expect(lines).toContainEqual(expect.stringMatching(WARN_143_NEW));
    expect(countMatching(lines, CUT_HERE)).toBe(1);
    expect(await fake.readdir(`${b}/primary`)).toEqual([]);
  });

  // pci-ep-cfs.c, observed 6.12: the primary/ site also fires only once per boot
  it('on 7.3.4 a second unlink from primary/ while started prints no second splat', async () => {
    const fake = await boot('7.3');
    const a = await mkLinkable(fake, 'pci_epf_test', 'a');
    const b = await mkLinkable(fake, 'pci_epf_test', 'b');
    const pa = await linkPrimary(fake, a);
    const pb = await linkPrimary(fake, b);
    await startEpc(fake);
    await fake.unlink(pa);
    const mark = fake.dmesg().length;
    await fake.unlink(pb);
    expect(countMatching(logSince(fake, mark), CUT_HERE)).toBe(0);
  });

  // observed 7.3.4: after an earlier WARN the CPU line says Tainted W and a "Tainted: [W]=WARN" line follows
  it('on 7.3.4 the second splat of a boot shows the W taint', async () => {
    const fake = await boot('7.3');
    const a = await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'a'), undefined, 'a');
    const p = await linkPrimary(fake, await mkLinkable(fake, 'pci_epf_test', 'b'));
    await startEpc(fake);
    await fake.unlink(a);
    const mark = fake.dmesg().length;
    await fake.unlink(p);
    const lines = logSince(fake, mark);
    expect(lines).toContainEqual(expect.stringMatching(/CPU: 0 UID: 0 PID: \d+ Comm: \S+ Tainted: G {8}W {11}7\.3\.4/));
    expect(lines).toContainEqual(expect.stringContaining('Tainted: [W]=WARN'));
  });

  // api.ts FakeKernel.tainted: set once the modelled kernel WARNed
  it('the kernel is tainted after the splat and not before', async () => {
    const fake = await boot('7.3');
    const link = await linkToEpc(fake, await mkLinkable(fake));
    await startEpc(fake);
    expect(fake.tainted).toBe(false);
    await fake.unlink(link);
    expect(fake.tainted).toBe(true);
  });

  // observed 6.1 and 6.12: 6.12 → WARN at pci-ep-cfs.c:251, 6.1 → :239, both in the old
  // format "WARNING: CPU: 0 PID: <pid> at <file>:<line>"
  it.each([
    ['6.12', 251],
    ['6.1', 239],
  ] as const)('on %s unlink while started prints the old-format splat at pci-ep-cfs.c:%i', async (version, line) => {
    const fake = await boot(version);
    const link = await linkToEpc(fake, await mkLinkable(fake));
    await startEpc(fake);
    const mark = fake.dmesg().length;
    await fake.unlink(link);
    const lines = logSince(fake, mark);
    expect(lines).toContainEqual(expect.stringContaining(CUT_HERE));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`WARNING: CPU: 0 PID: \\d+ at drivers/pci/endpoint/pci-ep-cfs\\.c:${line}\\b`)));
    expect(lines).toContainEqual(expect.stringContaining(END_TRACE));
    expect(await fake.readdir(epcPath())).toEqual(['start']);
    expect(fake.tainted).toBe(true);
  });

  // pci-ep-cfs.c, observed 6.12: once per boot on 6.x too
  it.each(['6.1', '6.12'] as const)('on %s the splat appears once per boot', async (kernel) => {
    const fake = await boot(kernel);
    const a = await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'a'), undefined, 'a');
    const b = await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'b'), undefined, 'b');
    await startEpc(fake);
    await fake.unlink(a);
    await fake.unlink(b);
    expect(countMatching(fake.dmesg(), CUT_HERE)).toBe(1);
  });
});

describe('the CPU line of a WARN splat by version', () => {
  // lib/dump_stack.c dump_stack_print_info: "UID: %u" since v6.11 (7.3.4 observed: "CPU: 0 UID: 0 PID: 50 Comm: node …")
  it.each([
    ['6.1', /^CPU: 0 PID: \d+ Comm: node Not tainted 6\.1\.192 #1$/],
    ['6.10.14', /^CPU: 0 PID: \d+ Comm: node Not tainted 6\.10\.14 #1$/],
    ['6.11.11', /^CPU: 0 UID: 0 PID: \d+ Comm: node Not tainted 6\.11\.11 #1$/],
    ['6.12', /^CPU: 0 UID: 0 PID: \d+ Comm: node Not tainted 6\.12\.117 #1 $/], // one trailing space (observed 6.12.117 by the differential)
    ['7.3', /^CPU: 0 UID: 0 PID: \d+ Comm: node Not tainted 7\.3\.4 #1 PREEMPTLAZY {2}$/],
  ] as const)('on %s reads %s', async (version, line) => {
    const fake = await boot(version);
    const link = await linkToEpc(fake, await mkLinkable(fake));
    await startEpc(fake);
    const mark = fake.dmesg().length;
    await fake.unlink(link);
    expect(logSince(fake, mark)).toContainEqual(expect.stringMatching(line));
  });
});
