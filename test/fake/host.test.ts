// The simulated host (src/fake/host.ts) against the observed 7.3.4 lane (pci-epf-test.c,
// pci-epf-vntb.c): pci-epf-test's register BAR and doorbell, vNTB's ctrl region and
// doorbells, the ITS translater reached by a CPU store (QEMU) or not (SoC), and --mock-state.
import { describe, it, expect } from 'vitest';
import { fakeStateSchema } from '../../src/fake/state-schema.js';
import { boardNames } from '../../src/boards/index.js';
import { boot, reload, mkLinkable, mkVntb, linkToEpc, linkPrimary, startEpc, typeGroup, QEMU_EPC, IMX95_EPCS, type FakeKernel } from './helpers.js';

const R = { COMMAND: 0x04, STATUS: 0x08, IRQ_TYPE: 0x24, IRQ_NUMBER: 0x28, DB_BAR: 0x34, DB_OFFSET: 0x38, DB_DATA: 0x3c };

async function interrupts(fake: FakeKernel): Promise<string> {
  return new TextDecoder().decode(await fake.read('/proc/interrupts'));
}

/** The /proc/interrupts row of `action`, as whitespace-split fields, or undefined. */
async function row(fake: FakeKernel, action: string, hwirq?: number): Promise<string[] | undefined> {
  for (const line of (await interrupts(fake)).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (line.includes(action) && (hwirq === undefined || f[3] === String(hwirq))) return f;
  }
  return undefined;
}

async function testFunction(kernel = '7.3', board = 'qemu-virt', epc = QEMU_EPC): Promise<FakeKernel> {
  const fake = await boot(kernel, board);
  await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'func1'), epc);
  await startEpc(fake, epc);
  return fake;
}

const reg = (fake: FakeKernel, off: number, epc = QEMU_EPC): Promise<bigint> => fake.host.barRead(epc, 0, 0, off, 32);
const setReg = (fake: FakeKernel, off: number, v: number, epc = QEMU_EPC): Promise<void> => fake.host.barWrite(epc, 0, 0, off, 32, BigInt(v));

describe('pci-epf-test through the simulated host (7.3.4)', () => {
  it('ENABLE: STATUS 0x440, DB_BAR 1, DB_OFFSET 0x10040, DB_DATA 0, COMMAND back to 0, the row appears', async () => {
    const fake = await testFunction();
    expect(await row(fake, 'pci-ep-test-doorbell')).toBeUndefined();
    await setReg(fake, R.IRQ_TYPE, 0);
    await setReg(fake, R.IRQ_NUMBER, 1);
    await setReg(fake, R.COMMAND, 0x40);
    expect(await reg(fake, R.COMMAND)).toBe(0n);
    expect(await reg(fake, R.STATUS)).toBe(0x440n);
    expect(await reg(fake, R.DB_BAR)).toBe(1n);
    expect(await reg(fake, R.DB_OFFSET)).toBe(0x10040n);
    expect(await reg(fake, R.DB_DATA)).toBe(0n);
    const r = await row(fake, 'pci-ep-test-doorbell');
    expect(r?.slice(1)).toEqual(['0', 'ITS-pMSI-7e000000.pcie-ep', '0', 'Edge', 'pci-ep-test-doorbell']);
    expect(fake.dmesg().some((l) => /doorbell|Invalid command/.test(l))).toBe(false);
  });

  it('ring: DB_DATA at BAR1 + DB_OFFSET counts +1 per write and sets STATUS bit 9; a wrong DB_DATA does nothing', async () => {
    const fake = await testFunction();
    await setReg(fake, R.COMMAND, 0x40);
    const before = fake.dmesg().length;
    await fake.host.barWrite(QEMU_EPC, 0, 1, 0x10040, 32, 0n);
    expect(await reg(fake, R.STATUS)).toBe(0x640n);
    expect((await row(fake, 'pci-ep-test-doorbell'))?.[1]).toBe('1');
    await fake.host.barWrite(QEMU_EPC, 0, 1, 0x10040, 32, 0n);
    expect((await row(fake, 'pci-ep-test-doorbell'))?.[1]).toBe('2');
    await fake.host.barWrite(QEMU_EPC, 0, 1, 0x10040, 32, 7n);
    expect((await row(fake, 'pci-ep-test-doorbell'))?.[1]).toBe('2');
    expect(fake.dmesg().length).toBe(before);
  });

  it('DISABLE: STATUS 0x1040, DB_BAR 0xffffffff, DB_OFFSET kept, the row gone, BAR1 back to its memory (6.18+)', async () => {
    const fake = await testFunction();
    await setReg(fake, R.COMMAND, 0x40);
    await setReg(fake, R.COMMAND, 0x80);
    expect(await reg(fake, R.STATUS)).toBe(0x1040n);
    expect(await reg(fake, R.DB_BAR)).toBe(0xffffffffn);
    expect(await reg(fake, R.DB_OFFSET)).toBe(0x10040n);
    expect(await row(fake, 'pci-ep-test-doorbell')).toBeUndefined();
    await fake.host.barWrite(QEMU_EPC, 0, 1, 0x10040, 32, 0x1234n);
    expect(await fake.host.barRead(QEMU_EPC, 0, 1, 0x10040, 32)).toBe(0x1234n);
    // A second run works (the RK3588 "works once" fix).
    await setReg(fake, R.COMMAND, 0x40);
    expect(await reg(fake, R.STATUS)).toBe(0x440n);
    await fake.host.barWrite(QEMU_EPC, 0, 1, 0x10040, 32, 0n);
    expect(await reg(fake, R.STATUS)).toBe(0x640n);
  });

  it('6.17 clears the doorbell BAR on DISABLE (pci_epc_clear_bar): the host reads all-ones there', async () => {
    const fake = await testFunction('6.17.0');
    await setReg(fake, R.COMMAND, 0x40);
    expect(await reg(fake, R.STATUS)).toBe(0x440n);
    // The 6.x default BAR1 is 512 bytes: the translater's offset in it is 0x40.
    expect(await reg(fake, R.DB_OFFSET)).toBe(0x40n);
    await setReg(fake, R.COMMAND, 0x80);
    expect(await reg(fake, R.STATUS)).toBe(0x1040n);
    expect(await fake.host.barRead(QEMU_EPC, 0, 1, 0x40, 32)).toBe(0xffffffffn);
  });

  it('before 6.17 the doorbell commands are unknown: "Invalid command 0x40", STATUS 0', async () => {
    const fake = await testFunction('6.12');
    await setReg(fake, R.COMMAND, 0x40);
    expect(await reg(fake, R.COMMAND)).toBe(0n);
    expect(await reg(fake, R.STATUS)).toBe(0n);
    expect(fake.dmesg().at(-1)).toBe('pci_epf_test pci_epf_test.0: Invalid command 0x40');
  });

  it('failed ENABLE (msi-parent only): STATUS 0x840, DB_* 0, no row; DISABLE then oopses and later commands go unserved', async () => {
    const fake = await testFunction('7.3', 'qemu-virt-msi-parent');
    await setReg(fake, R.COMMAND, 0x40);
    expect(await reg(fake, R.STATUS)).toBe(0x840n);
    expect([await reg(fake, R.DB_BAR), await reg(fake, R.DB_OFFSET), await reg(fake, R.DB_DATA)]).toEqual([0n, 0n, 0n]);
    expect(fake.dmesg().slice(-2)).toEqual(["pci_epf_test pci_epf_test.0: Can't find MSI domain for EPC", 'pci_epf_test pci_epf_test.0: Failed to allocate doorbell: -95']);
    expect(await row(fake, 'pci-ep-test-doorbell')).toBeUndefined();
    await setReg(fake, R.COMMAND, 0x80);
    const log = fake.dmesg();
    expect(log).toContain('Unable to handle kernel NULL pointer dereference at virtual address 000000000000000c');
    expect(log).toContain('Workqueue: kpcitest pci_epf_test_cmd_handler');
    expect(log).toContain('pc : pci_epf_test_cmd_handler+0x178/0x9c4');
    expect(fake.tainted).toBe(true);
    // COMMAND reads 0, STATUS got no bit (zeroed at the start of the command).
    expect(await reg(fake, R.COMMAND)).toBe(0n);
    expect(await reg(fake, R.STATUS)).toBe(0n);
    // The kernel keeps running (configfs still answers); the command work is gone.
    expect(new TextDecoder().decode(await fake.read(`/sys/kernel/config/pci_ep/controllers/${QEMU_EPC}/start`))).toBe('1\n');
    await setReg(fake, R.COMMAND, 0x40);
    expect(await reg(fake, R.COMMAND)).toBe(0x40n);
  });

  it('a second function on the EPC cannot own doorbells: ENABLE fails 0x840 with the kernel\'s line', async () => {
    const fake = await testFunction();
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'func2'), QEMU_EPC, 'l2');
    await fake.host.barWrite(QEMU_EPC, 1, 0, R.COMMAND, 32, 0x40n);
    expect(await fake.host.barRead(QEMU_EPC, 1, 0, R.STATUS, 32)).toBe(0x840n);
    expect(fake.dmesg().at(-1)).toBe("pci_epf_test pci_epf_test.1: Doorbell doesn't support multiple EPF");
  });

  it('unlink frees the BARs: the row, the registers and the physical region are gone', async () => {
    const fake = await testFunction();
    await setReg(fake, R.COMMAND, 0x40);
    await fake.write(`/sys/kernel/config/pci_ep/controllers/${QEMU_EPC}/start`, '0');
    await fake.unlink(`/sys/kernel/config/pci_ep/controllers/${QEMU_EPC}/l1`);
    expect(await row(fake, 'pci-ep-test-doorbell')).toBeUndefined();
    await expect(fake.peek(0x7e800008n, 32)).rejects.toMatchObject({ code: 'EIO' });
    expect((await fake.host.endpoints())[0]).toMatchObject({ device: 'pci_epf_test.0', linkUp: false, bars: [] });
  });

  it('IRQ_TYPE > 2: "Failed to detect IRQ type", no command run', async () => {
    const fake = await testFunction();
    await setReg(fake, R.IRQ_TYPE, 3);
    await setReg(fake, R.COMMAND, 0x40);
    expect(fake.dmesg().at(-1)).toBe('pci_epf_test pci_epf_test.0: Failed to detect IRQ type');
    expect(await reg(fake, R.STATUS)).toBe(0n);
    expect(await row(fake, 'pci-ep-test-doorbell')).toBeUndefined();
  });

  it('the host sees nothing before start, and names the fix', async () => {
    const fake = await boot('7.3');
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'func1'));
    await expect(reg(fake, R.STATUS)).rejects.toThrow(/link of 7e000000.pcie-ep is down/);
  });
});

describe('the ITS translater as a CPU store reaches it (port.poke)', () => {
  it('qemu-virt: a CPU store of DB_DATA to 0x08090040 rings the doorbell (requester ID 0 = the EP DeviceID)', async () => {
    const fake = await testFunction();
    await setReg(fake, R.COMMAND, 0x40);
    await fake.poke(0x08090040n, 32, 0n);
    expect((await row(fake, 'pci-ep-test-doorbell'))?.[1]).toBe('1');
    expect(await reg(fake, R.STATUS)).toBe(0x640n);
    await fake.poke(0x08090040n, 32, 1n);
    expect((await row(fake, 'pci-ep-test-doorbell'))?.[1]).toBe('1');
  });

  it('qemu-virt: the register BAR is RAM a CPU store reaches, and the command runs (the lane\'s devmem host)', async () => {
    const fake = await testFunction();
    const ep = (await fake.host.endpoints()).find((e) => e.device === 'pci_epf_test.0')!;
    expect(ep).toMatchObject({ controller: QEMU_EPC, function: 0, linkUp: true, dir: 'pci_epf_test/func1' });
    // BAR0 is the first BAR the fake placed in the reserved fake-epc RAM.
    const r = 0x7e800000n;
    await fake.poke(r + 0x04n, 32, 0x40n);
    expect(await fake.peek(r + 0x04n, 32)).toBe(0n);
    expect(await fake.peek(r + 0x08n, 32)).toBe(0x440n);
  });

  it('an SoC board (i.MX95): a CPU store to its GITS_TRANSLATER rings nothing, the host write does', async () => {
    const epc = IMX95_EPCS[0];
    const fake = await testFunction('7.3', 'imx95', epc);
    await setReg(fake, R.COMMAND, 0x40, epc);
    expect(await reg(fake, R.STATUS, epc)).toBe(0x440n);
    // ITS at 0x48040000: GITS_TRANSLATER 0x48050040.
    await fake.poke(0x48050040n, 32, 0n);
    expect((await row(fake, 'pci-ep-test-doorbell'))?.[1]).toBe('0');
    const bar = Number(await reg(fake, R.DB_BAR, epc));
    const off = Number(await reg(fake, R.DB_OFFSET, epc));
    await fake.host.barWrite(epc, 0, bar, off, 32, 0n);
    expect((await row(fake, 'pci-ep-test-doorbell'))?.[1]).toBe('1');
  });
});

describe('what rings and what does not', () => {
  it('wrong DB_DATA values never ring (fixed-seed sample of 200 values)', async () => {
    const fake = await testFunction();
    await setReg(fake, R.COMMAND, 0x40);
    let seed = 0x5eed;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 200; i++) {
      const v = next() || 1;
      await fake.host.barWrite(QEMU_EPC, 0, 1, 0x10040, 32, BigInt(v));
      await fake.poke(0x08090040n, 32, BigInt(v));
    }
    expect((await row(fake, 'pci-ep-test-doorbell'))?.[1]).toBe('0');
    expect(await reg(fake, R.STATUS)).toBe(0x440n);
  });

  it('rk3588-msi-map (link-up notifier): a CPU store of COMMAND before start is not served, the host after start is', async () => {
    const epc = 'a40000000.pcie-ep';
    const fake = await boot('7.3', 'rk3588-msi-map');
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'func1'), epc);
    const ep = (await fake.host.endpoints()).find((e) => e.device === 'pci_epf_test.0')!;
    expect(ep.linkUp).toBe(false);
    await fake.poke(0xb0000000n + 0x04n, 32, 0x40n);
    expect(await fake.peek(0xb0000000n + 0x04n, 32)).toBe(0x40n);
    await startEpc(fake, epc);
    await setReg(fake, R.COMMAND, 0x40, epc);
    expect(await reg(fake, R.COMMAND, epc)).toBe(0n);
    expect(await reg(fake, R.STATUS, epc)).toBe(0x440n);
  });
});

describe('vNTB doorbells', () => {
  async function vntb(board = 'qemu-virt'): Promise<FakeKernel> {
    const fake = await boot('7.3', board);
    const fn = await mkVntb(fake, 'vntb1', 4);
    const tg = await typeGroup(fake, fn);
    await fake.write(`${tg}/num_mws`, '1');
    await fake.write(`${tg}/mw1`, '0x100000');
    await linkPrimary(fake, fn);
    await startEpc(fake);
    return fake;
  }

  it('the ctrl region holds db_data[i] = i, db_offset[i] = 0x40, db_entry_size 0, spad_offset 0x134; BAR1 → the ITS page', async () => {
    const fake = await vntb();
    const ctrl = (off: number): Promise<bigint> => fake.host.barRead(QEMU_EPC, 0, 0, off, 32);
    expect(await ctrl(0x20)).toBe(1n);
    expect(await ctrl(0x28)).toBe(0x134n);
    expect(await ctrl(0x30)).toBe(0n);
    for (let i = 0; i < 4; i++) {
      expect(await ctrl(0x34 + 4 * i)).toBe(BigInt(i));
      expect(await ctrl(0xb4 + 4 * i)).toBe(0x40n);
    }
  });

  it('ring i = db_data[i] at BAR1 + db_offset[i]: only row i counts', async () => {
    const fake = await vntb();
    await fake.host.barWrite(QEMU_EPC, 0, 1, 0x40, 32, 2n);
    for (let i = 0; i < 4; i++) expect((await row(fake, 'pci_epf_vntb_db', i))?.[1]).toBe(i === 2 ? '1' : '0');
  });

  it('polled fallback (msi-parent only): no rows, the write lands in BAR memory and the poll consumes it', async () => {
    const fake = await vntb('qemu-virt-msi-parent');
    expect(await row(fake, 'pci_epf_vntb_db')).toBeUndefined();
    const ctrl = (off: number): Promise<bigint> => fake.host.barRead(QEMU_EPC, 0, 0, off, 32);
    expect(await ctrl(0x30)).toBe(4n);
    expect(await ctrl(0x34 + 4 * 2)).toBe(3n);
    expect(await ctrl(0xb4 + 4 * 2)).toBe(0n);
    // db 0 is never polled: the write stays; db 2 is consumed (epf_ntb_cmd_handler writes 0).
    await fake.host.barWrite(QEMU_EPC, 0, 1, 0, 32, 1n);
    await fake.host.barWrite(QEMU_EPC, 0, 1, 8, 32, 3n);
    expect(await fake.host.barRead(QEMU_EPC, 0, 1, 0, 32)).toBe(1n);
    expect(await fake.host.barRead(QEMU_EPC, 0, 1, 8, 32)).toBe(0n);
  });
});

describe('--mock-state', () => {
  it('a reloaded kernel keeps the registers, the doorbell and its inbound window, and the physical map', async () => {
    const fake = await testFunction();
    await setReg(fake, R.COMMAND, 0x40);
    const saved = JSON.parse(JSON.stringify(fake.toState()));
    // What a --mock-state file holds passes the schema it is checked against on load.
    const parsed = fakeStateSchema(boardNames()).safeParse(saved);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(saved.model.devices['pci_epf_test.0'].host.inbound).toEqual({ '1': String(0x08080000) });
    const again = await reload(parsed.data!);
    expect(await reg(again, R.STATUS)).toBe(0x440n);
    await again.host.barWrite(QEMU_EPC, 0, 1, 0x10040, 32, 0n);
    expect((await row(again, 'pci-ep-test-doorbell'))?.[1]).toBe('1');
    await again.poke(0x08090040n, 32, 0n);
    expect((await row(again, 'pci-ep-test-doorbell'))?.[1]).toBe('2');
    expect(await again.peek(0x7e800000n + 0x08n, 32)).toBe(0x640n);
  });
});

describe('the embedded (eDMA) doorbell through the simulated host (7.3.4 source: pci-ep-msi.c, pcie-designware-ep.c, dw-edma-core.c)', () => {
  const EPC = '33800000.pcie-ep';
  it('i.MX8MP (no ITS): ENABLE falls back to the eDMA doorbell at rd_int_status, a host write of 0 rings the shared dw-edma-emul irq, DISABLE keeps the virq', async () => {
    const fake = await testFunction('7.3', 'imx8mp', EPC);
    await setReg(fake, R.COMMAND, 0x40, EPC);
    expect(await reg(fake, R.STATUS, EPC)).toBe(0x440n);
    const bar = Number(await reg(fake, R.DB_BAR, EPC));
    // The iATU window 0x33b00000 + DEFAULT_DBI_DMA_OFFSET 0x80000 + rd_int_status 0xa0, inside the BAR.
    expect(await reg(fake, R.DB_OFFSET, EPC)).toBe(0xa0n);
    expect(await reg(fake, R.DB_DATA, EPC)).toBe(0n);
    expect(fake.dmesg()).toContain("pci_epf_test pci_epf_test.0: Can't find MSI domain for EPC");
    expect(fake.dmesg()).toContain('pci_epf_test pci_epf_test.0: Using embedded (DMA) doorbell fallback');
    const r = await row(fake, 'pci-ep-test-doorbell');
    expect(r?.slice(-3)).toEqual(['dw-edma-emul', 'Level', 'pci-ep-test-doorbell']);
    const virq = r![0];
    for (let i = 0; i < 3; i++) await fake.host.barWrite(EPC, 0, bar, 0xa0, 32, 0n);
    expect(await reg(fake, R.STATUS, EPC)).toBe(0x640n);
    expect((await row(fake, 'pci-ep-test-doorbell'))?.[1]).toBe('3');
    // A non-zero write does not assert it; a CPU store is no host ring.
    await fake.host.barWrite(EPC, 0, bar, 0xa0, 32, 5n);
    expect((await row(fake, 'pci-ep-test-doorbell'))?.[1]).toBe('3');
    await setReg(fake, R.COMMAND, 0x80, EPC);
    expect(await reg(fake, R.STATUS, EPC) & 0x1000n).toBe(0x1000n);
    expect(await row(fake, 'pci-ep-test-doorbell')).toBeUndefined();
    // Enabled again: the same emulation virq (dw-edma owns it).
    await setReg(fake, R.COMMAND, 0x40, EPC);
    expect((await row(fake, 'pci-ep-test-doorbell'))?.[0]).toBe(virq);
  });

  it('Layerscape (DesignWare without eDMA registers): ENABLE fails with "Failed to allocate doorbell: -19"', async () => {
    const fake = await testFunction('7.3', 'ls1028a', '3400000.pcie-ep');
    await setReg(fake, R.COMMAND, 0x40, '3400000.pcie-ep');
    expect(await reg(fake, R.STATUS, '3400000.pcie-ep')).toBe(0x840n);
    expect(fake.dmesg()).toContain('pci_epf_test pci_epf_test.0: Failed to allocate doorbell: -19');
  });
});

describe('vNTB on the embedded (eDMA) doorbell (7.3.4 pci-epf-vntb.c epf_ntb_db_bar_init_msi_doorbell)', () => {
  it('i.MX8MP: db_data[i] = 0 and db_offset[i] = rd_int_status in the doorbell BAR for every i; a host ring of any doorbell fires the one shared irq', async () => {
    const EPC = '33800000.pcie-ep';
    const fake = await boot('7.3', 'imx8mp');
    const f = await mkVntb(fake, 'v', 4);
    await linkPrimary(fake, f, EPC);
    await startEpc(fake, EPC);
    const ctrl = (off: number): Promise<bigint> => fake.host.barRead(EPC, 0, 0, off, 32);
    for (let i = 0; i < 4; i++) {
      expect(await ctrl(0x34 + 4 * i), `db_data[${i}]`).toBe(0n);
      expect(await ctrl(0xb4 + 4 * i), `db_offset[${i}]`).toBe(await ctrl(0xb4));
    }
    const lines = (await interrupts(fake)).split('\n').filter((l) => l.includes('pci_epf_vntb_db'));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.trim().split(/\s+/).slice(-3)).toEqual(['dw-edma-emul', 'Level', 'pci_epf_vntb_db']);
    const offset = Number(await ctrl(0xb4));
    // The automatic doorbell BAR: BAR2, as epf_ntb_find_bar() skips the BAR1 the EPC does not offer.
    const db = Number(new TextDecoder().decode(await fake.read(`${await typeGroup(fake, f)}/db_bar`)));
    expect(db).toBe(2);
    await fake.host.barWrite(EPC, 0, db, offset, 32, 0n);
    await fake.host.barWrite(EPC, 0, db, offset, 32, 0n);
    expect((await row(fake, 'pci_epf_vntb_db'))?.[1]).toBe('2');
  });
});

describe('a host ring carries the SoC stream ID the RC node records, not what the EP node claims', () => {
  it('i.MX95 v6.18 DT (pcie0_ep says DeviceID 0x98, its RC node 0x10): the doorbells are allocated, a ring never arrives', async () => {
    const EPC = '4c300000.pcie-ep';
    const fake = await boot('7.3', 'imx95-v6.18');
    const f = await mkVntb(fake, 'v', 4);
    await linkPrimary(fake, f, EPC);
    await startEpc(fake, EPC);
    expect((await interrupts(fake)).split('\n').filter((l) => l.includes('pci_epf_vntb_db'))).toHaveLength(4);
    const offset = Number(await fake.host.barRead(EPC, 0, 0, 0xb4, 32));
    await fake.host.barWrite(EPC, 0, 1, offset, 32, 0n);
    expect((await row(fake, 'pci_epf_vntb_db', 0))?.[1]).toBe('0');
    // The fixed DT (imx95: both say 0x10) rings.
    const good = await boot('7.3', 'imx95');
    await linkPrimary(good, await mkVntb(good, 'v', 4), EPC);
    await startEpc(good, EPC);
    await good.host.barWrite(EPC, 0, 1, Number(await good.host.barRead(EPC, 0, 0, 0xb4, 32)), 32, 0n);
    expect((await row(good, 'pci_epf_vntb_db', 0))?.[1]).toBe('1');
  });
});

describe('the embedded doorbell without a reachable DW_EDMA (include/linux/dma/edma.h IS_REACHABLE)', () => {
  it('CONFIG_DW_EDMA=m (arm64 defconfig): the fallback is taken with IRQ 0, request_irq fails, ENABLE fails with DB_BAR NO_BAR; probe says no', async () => {
    const { createFakeKernel } = await import('../../src/fake/index.js');
    const { probe } = await import('../../src/probe/probe.js');
    const EPC = '33800000.pcie-ep';
    const fake = createFakeKernel({ board: 'imx8mp', config: { DW_EDMA: 'm' } });
    const [c] = (await probe(fake)).controllers;
    expect(c!.doorbell).toMatchObject({ capable: false, mode: 'none' });
    expect(c!.doorbell.notes.join(' ')).toMatch(/CONFIG_DW_EDMA is =m .*Failed to request doorbell IRQ: 0/);
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'func1'), EPC);
    await startEpc(fake, EPC);
    await setReg(fake, R.COMMAND, 0x40, EPC);
    expect(await reg(fake, R.STATUS, EPC)).toBe(0x840n);
    expect(await reg(fake, R.DB_BAR, EPC)).toBe(0xffffffffn);
    expect(fake.dmesg().slice(-2)).toEqual(['pci_epf_test pci_epf_test.0: Using embedded (DMA) doorbell fallback', 'pci_epf_test pci_epf_test.0: Failed to request doorbell IRQ: 0']);
    // DB_BAR is NO_BAR: a DISABLE now is refused by the endpoint, no oops.
    await setReg(fake, R.COMMAND, 0x80, EPC);
    expect((await reg(fake, R.STATUS, EPC)) & 0x2000n).toBe(0x2000n);
    expect(fake.tainted).toBe(false);
  });
});
