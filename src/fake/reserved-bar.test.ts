// RK3588's BAR4 (BAR_RESERVED, the eDMA registers: pcie-dw-rockchip.c rk3588_bar4_rsvd) as the
// 7.3.4 source treats it: pci-epf-test skips it and publishes the embedded doorbell there
// (DB_BAR 4, no set_bar), vNTB's doorbell works only with db_bar 4 (else -EINVAL, silent, and
// polling), a set_bar on it fails in dw_pcie_ep_set_bar ("Invalid BAR type"), and the
// simulated host rings the doorbell through BAR4.
import { describe, expect, it } from 'vitest';
import { createFakeKernel, type FakeKernel } from './index.js';
import { TEST_COMMAND, TEST_REG, TEST_STATUS } from '../host/registers.js';
import { EDMA_V0_DOORBELL_OFFSET } from '../devicetree/dwc.js';
import { readCtrl, ring as vntbRing } from '../host/vntb.js';
import { ring as testRing } from '../host/pci-endpoint-test.js';
import type { HostBarAccess } from '../host/access.js';

const EPC = 'a40000000.pcie-ep';
const PCI_EP = '/sys/kernel/config/pci_ep';
const EPC_LINE = 'rockchip-dw-pcie a40000000.pcie-ep: Invalid BAR type';

const access = (k: FakeKernel): HostBarAccess => ({
  read: (bar, offset, width) => k.host.barRead(EPC, 0, bar, offset, width),
  write: (bar, offset, width, value) => k.host.barWrite(EPC, 0, bar, offset, width, value),
});

async function testFunction(k: FakeKernel): Promise<void> {
  const fn = `${PCI_EP}/functions/pci_epf_test/func1`;
  await k.mkdir(fn);
  await k.write(`${fn}/msi_interrupts`, '1');
  await k.write(`${fn}/msix_interrupts`, '1');
  await k.symlink(fn, `${PCI_EP}/controllers/${EPC}/func1`);
  await k.write(`${PCI_EP}/controllers/${EPC}/start`, '1');
}

/** A vNTB with `type` written into its type group, linked and started; the link's errno, or undefined. */
async function vntbFunction(k: FakeKernel, type: Record<string, string>): Promise<string | undefined> {
  const fn = `${PCI_EP}/functions/pci_epf_vntb/func1`;
  await k.mkdir(fn);
  await k.write(`${fn}/msi_interrupts`, '4');
  const group = (await k.readdir(fn)).find((n) => n.startsWith('pci_epf_vntb.'))!;
  for (const [name, v] of Object.entries({ db_count: '4', spad_count: '16', num_mws: '1', mw1: '0x100000', ...type }))
    await k.write(`${fn}/${group}/${name}`, v);
  try {
    await k.symlink(fn, `${PCI_EP}/controllers/${EPC}/func1`);
  } catch (e) {
    return (e as { code?: string }).code;
  }
  await k.write(`${PCI_EP}/controllers/${EPC}/start`, '1');
  return undefined;
}

describe('pci-epf-test on RK3588 (7.3.4)', () => {
  it('leaves BAR4 out, and publishes the embedded doorbell in BAR4 at the eDMA doorbell offset without programming a BAR', async () => {
    const k = createFakeKernel({ board: 'rk3588' });
    await testFunction(k);
    const [e] = (await k.host.endpoints()).filter((x) => x.driver === 'pci_epf_test');
    expect(e!.bars.map((b) => b.bar)).toEqual([0, 1, 2, 3, 5]);
    const a = access(k);
    await a.write(0, TEST_REG.COMMAND, 32, BigInt(TEST_COMMAND.ENABLE_DOORBELL));
    const status = Number(await a.read(0, TEST_REG.STATUS, 32));
    expect(status & TEST_STATUS.DOORBELL_ENABLE_SUCCESS).toBeTruthy();
    expect(Number(await a.read(0, TEST_REG.DB_BAR, 32))).toBe(4);
    expect(Number(await a.read(0, TEST_REG.DB_OFFSET, 32))).toBe(Number(EDMA_V0_DOORBELL_OFFSET));
    expect(Number(await a.read(0, TEST_REG.DB_DATA, 32))).toBe(0);
    expect(k.dmesg().join('\n')).toContain('pci_epf_test pci_epf_test.0: Using embedded (DMA) doorbell fallback');
    expect(k.dmesg().join('\n')).not.toContain('Invalid BAR type');
  });

  it('the host rings it through BAR4: the shared dw-edma-emul IRQ fires and STATUS shows DOORBELL_SUCCESS', async () => {
    const k = createFakeKernel({ board: 'rk3588' });
    await testFunction(k);
    const a = access(k);
    await a.write(0, TEST_REG.COMMAND, 32, BigInt(TEST_COMMAND.ENABLE_DOORBELL));
    const r = await testRing(a);
    expect(r.ok).toBe(true);
    expect(Number(await a.read(0, TEST_REG.STATUS, 32)) & TEST_STATUS.DOORBELL_SUCCESS).toBeTruthy();
    const row = new TextDecoder().decode(await k.read('/proc/interrupts')).split('\n').find((l) => l.includes('dw-edma-emul'));
    expect(row).toMatch(/^\s*\d+:\s+1\s/);
  });

  it('BAR4 outside the eDMA register window is refused to the host; the window itself reads all-ones but for the doorbell', async () => {
    const k = createFakeKernel({ board: 'rk3588' });
    await testFunction(k);
    await expect(k.host.barRead(EPC, 0, 4, 0x2000, 32)).rejects.toThrow(/outside the eDMA registers in reserved BAR4/);
    expect(await k.host.barRead(EPC, 0, 4, 0x10, 32)).toBe(0xffffffffn);
  });
});

describe('pci-epf-vntb on RK3588 (7.3.4)', () => {
  it('db_bar 4 takes the embedded doorbell in BAR4: db_offset = the eDMA doorbell offset, data 0, and a host ring reaches its handler', async () => {
    const k = createFakeKernel({ board: 'rk3588' });
    expect(await vntbFunction(k, { db_bar: '4' })).toBeUndefined();
    const a = access(k);
    const ctrl = await readCtrl(a, { ctrl: 0, db: 4 }, 4);
    expect(ctrl.dbEntrySize).toBe(0);
    expect(ctrl.doorbells.map((d) => [d.data, d.offset])).toEqual(Array(4).fill([0, Number(EDMA_V0_DOORBELL_OFFSET)]));
    await vntbRing(a, { ctrl: 0, db: 4 }, ctrl, 1);
    const row = new TextDecoder().decode(await k.read('/proc/interrupts')).split('\n').find((l) => l.includes('dw-edma-emul'));
    expect(row).toMatch(/^\s*\d+:\s+1\s.*pci_epf_vntb_db$/);
    const [e] = (await k.host.endpoints()).filter((x) => x.driver === 'pci_epf_vntb');
    expect(e!.bars.map((b) => b.bar)).not.toContain(4);
  });

  it('an automatic db_bar (BAR1) fails the embedded doorbell with -EINVAL and no line of its own: vNTB polls BAR1', async () => {
    const k = createFakeKernel({ board: 'rk3588' });
    expect(await vntbFunction(k, {})).toBeUndefined();
    const log = k.dmesg().join('\n');
    expect(log).toContain('pci_epf_vntb pci_epf_vntb.0: Using embedded (DMA) doorbell fallback');
    expect(log).not.toContain('Invalid BAR type');
    expect(log).not.toContain('Failed to set Doorbell BAR');
    const ctrl = await readCtrl(access(k), { ctrl: 0, db: 1 }, 4);
    expect(ctrl.dbEntrySize).toBe(4);
    expect(new TextDecoder().decode(await k.read('/proc/interrupts'))).not.toContain('pci_epf_vntb_db');
  });

  it('automatic BARs never take the reserved BAR4 (pci_epc_get_next_free_bar)', async () => {
    const k = createFakeKernel({ board: 'rk3588' });
    // 0-3 chosen by hand: the automatic mw1 skips BAR4 and gets BAR5.
    expect(await vntbFunction(k, { ctrl_bar: '0', db_bar: '1', mw1_bar: '-1', num_mws: '2', mw2: '0x100000', mw2_bar: '2' })).toBeUndefined();
    const group = (await k.readdir(`${PCI_EP}/functions/pci_epf_vntb/func1`)).find((n) => n.startsWith('pci_epf_vntb.'))!;
    expect(new TextDecoder().decode(await k.read(`${PCI_EP}/functions/pci_epf_vntb/func1/${group}/mw1_bar`))).toBe('3\n');
  });

  it('ctrl_bar 4: set_bar fails in the controller ("Invalid BAR type") and the link fails with EINVAL', async () => {
    const k = createFakeKernel({ board: 'rk3588' });
    expect(await vntbFunction(k, { ctrl_bar: '4' })).toBe('EINVAL');
    const log = k.dmesg();
    const at = log.findIndex((l) => l.includes(EPC_LINE));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(log.slice(at + 1, at + 4).map((l) => l.replace(/^\[[ \d.]+\] /, ''))).toEqual([
      'pci_epf_vntb pci_epf_vntb.0: inft: Config/Status/SPAD BAR set failed',
      'pci_epf_vntb pci_epf_vntb.0: Config/self SPAD BAR init failed',
      'pci_epf_vntb pci_epf_vntb.0: Failed to initialize EPC',
    ]);
  });

  it('mw1_bar 4: "MW set failed" after the controller line, EINVAL', async () => {
    const k = createFakeKernel({ board: 'rk3588' });
    expect(await vntbFunction(k, { mw1_bar: '4' })).toBe('EINVAL');
    const log = k.dmesg().map((l) => l.replace(/^\[[ \d.]+\] /, ''));
    const at = log.indexOf(EPC_LINE);
    expect(log.slice(at, at + 4)).toEqual([EPC_LINE, 'pci_epf_vntb pci_epf_vntb.0: MW set failed', 'pci_epf_vntb pci_epf_vntb.0: MW BAR init failed', 'pci_epf_vntb pci_epf_vntb.0: Failed to initialize EPC']);
  });

  it('db_bar 4 with an ITS doorbell (rk3588-msi-map): the MSI window and then the polled BAR fail on BAR4, the link fails with EPERM (-1)', async () => {
    const k = createFakeKernel({ board: 'rk3588-msi-map' });
    expect(await vntbFunction(k, { db_bar: '4' })).toBe('EPERM');
    const log = k.dmesg().map((l) => l.replace(/^\[[ \d.]+\] /, ''));
    const at = log.indexOf(EPC_LINE);
    expect(log.slice(at)).toEqual([
      EPC_LINE,
      'pci_epf_vntb pci_epf_vntb.0: Failed to set Doorbell BAR',
      EPC_LINE,
      'pci_epf_vntb pci_epf_vntb.0: Doorbell BAR set failed',
      'pci_epf_vntb pci_epf_vntb.0: DB BAR init failed',
      'pci_epf_vntb pci_epf_vntb.0: Failed to initialize EPC',
    ]);
    expect(new TextDecoder().decode(await k.read('/proc/interrupts'))).not.toContain('pci_epf_vntb_db');
  });
});
