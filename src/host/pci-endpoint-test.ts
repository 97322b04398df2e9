// The host side of pci-epf-test's doorbell, as drivers/misc/pci_endpoint_test.c
// pci_endpoint_test_doorbell() does it, split into its steps so a person can run them one at a
// time: enable (IRQ_TYPE, IRQ_NUMBER = 1, COMMAND = ENABLE_DOORBELL, wait, check STATUS, read
// DB_BAR/DB_OFFSET/DB_DATA), ring (write DB_DATA at DB_OFFSET of BAR DB_BAR, wait for
// DOORBELL_SUCCESS), disable (COMMAND = DISABLE_DOORBELL). The host driver waits for its own
// IRQ; without one this client waits for the endpoint to take the command (COMMAND reads 0).
//
// Never DISABLE after a failed ENABLE: the endpoint still has DB_BAR 0 and no doorbell, and
// 7.3.4 oopses (observed, pci_epf_test_cmd_handler+0x178). The real host driver returns at "Failed to enable
// doorbell"; disable() here refuses unless the registers show a doorbell BAR past the register
// BAR (a fresh or failed ENABLE leaves DB_BAR at 0, a DISABLE leaves NO_BAR).
import { TEST_COMMAND, TEST_IRQ_TYPE, TEST_NO_BAR, TEST_REG, TEST_STATUS, decodeTestStatus } from './registers.js';
import { read32, waitFor, write32, type HostBarAccess, type WaitOptions } from './access.js';

export interface TestRegisters {
  command: number;
  status: number;
  /** STATUS as bit names (IRQ_RAISED, DOORBELL_ENABLE_SUCCESS, …). */
  statusBits: string[];
  irqType: number;
  irqNumber: number;
  dbBar: number;
  dbOffset: number;
  dbData: number;
}

export interface TestHostOptions extends WaitOptions {
  /** The BAR holding the test registers (test_reg_bar; BAR0 unless the EPC reserves it). */
  regBar?: number;
  /** IRQ_TYPE to ask for: 0 INTx (the lane's choice), 1 MSI, 2 MSI-X. */
  irqType?: number;
}

export type EnableResult =
  | { ok: true; status: number; dbBar: number; dbOffset: number; dbData: number }
  | { ok: false; status: number; reason: string };

export type RingResult = { ok: boolean; status: number; reason?: string };

export type DisableResult = { ok: boolean; status: number; reason?: string };

/** A DISABLE the client will not send, with why. */
export class UnsafeDisableError extends Error {}

const regBarOf = (o: TestHostOptions): number => o.regBar ?? 0;

export async function readRegisters(a: HostBarAccess, o: TestHostOptions = {}): Promise<TestRegisters> {
  const bar = regBarOf(o);
  const r = (off: number): Promise<number> => read32(a, bar, off);
  const status = await r(TEST_REG.STATUS);
  return {
    command: await r(TEST_REG.COMMAND),
    status,
    statusBits: decodeTestStatus(status),
    irqType: await r(TEST_REG.IRQ_TYPE),
    irqNumber: await r(TEST_REG.IRQ_NUMBER),
    dbBar: await r(TEST_REG.DB_BAR),
    dbOffset: await r(TEST_REG.DB_OFFSET),
    dbData: await r(TEST_REG.DB_DATA),
  };
}

/** Writes COMMAND and waits until the endpoint has taken it (COMMAND reads 0); false on timeout. */
async function command(a: HostBarAccess, cmd: number, o: TestHostOptions): Promise<boolean> {
  const bar = regBarOf(o);
  await write32(a, bar, TEST_REG.COMMAND, cmd);
  return waitFor(async () => (await read32(a, bar, TEST_REG.COMMAND)) === 0, o);
}

export async function enable(a: HostBarAccess, o: TestHostOptions = {}): Promise<EnableResult> {
  const bar = regBarOf(o);
  await write32(a, bar, TEST_REG.IRQ_TYPE, o.irqType ?? TEST_IRQ_TYPE.INTX);
  await write32(a, bar, TEST_REG.IRQ_NUMBER, 1);
  const taken = await command(a, TEST_COMMAND.ENABLE_DOORBELL, o);
  const status = await read32(a, bar, TEST_REG.STATUS);
  if (!taken) return { ok: false, status, reason: 'Failed to enable doorbell: the endpoint did not take the command (is its command work running?)' };
  if (status & TEST_STATUS.DOORBELL_ENABLE_FAIL || !(status & TEST_STATUS.DOORBELL_ENABLE_SUCCESS))
    return { ok: false, status, reason: 'Failed to enable doorbell' };
  return {
    ok: true,
    status,
    dbData: await read32(a, bar, TEST_REG.DB_DATA),
    dbOffset: await read32(a, bar, TEST_REG.DB_OFFSET),
    dbBar: await read32(a, bar, TEST_REG.DB_BAR),
  };
}

/** Whether the registers show an enabled doorbell: DB_BAR is a BAR past the register BAR. */
export function doorbellEnabled(regs: Pick<TestRegisters, 'dbBar'>, o: TestHostOptions = {}): boolean {
  return regs.dbBar !== TEST_NO_BAR && regs.dbBar > regBarOf(o) && regs.dbBar <= 5;
}

/** Rings the doorbell the registers publish: DB_DATA written at DB_OFFSET of BAR DB_BAR. */
export async function ring(a: HostBarAccess, o: TestHostOptions & { data?: number; zeroStatus?: boolean } = {}): Promise<RingResult> {
  const bar = regBarOf(o);
  const regs = await readRegisters(a, o);
  if (!doorbellEnabled(regs, o)) return { ok: false, status: regs.status, reason: 'the doorbell is not enabled (DB_BAR shows none)' };
  // pci_endpoint_test.c zeroes STATUS before the write, so a DOORBELL_SUCCESS left from an
  // earlier ring cannot pass for this one. By default only that bit is cleared, so STATUS keeps
  // ENABLE_SUCCESS (the lane read 0x640 after a ring); zeroStatus clears it all, as the driver.
  await write32(a, bar, TEST_REG.STATUS, o.zeroStatus ? 0 : regs.status & ~TEST_STATUS.DOORBELL_SUCCESS);
  await write32(a, regs.dbBar, regs.dbOffset, o.data ?? regs.dbData);
  const seen = await waitFor(async () => ((await read32(a, bar, TEST_REG.STATUS)) & TEST_STATUS.DOORBELL_SUCCESS) !== 0, o);
  const status = await read32(a, bar, TEST_REG.STATUS);
  return seen ? { ok: true, status } : { ok: false, status, reason: 'Failed to trigger doorbell in endpoint' };
}

export async function disable(a: HostBarAccess, o: TestHostOptions = {}): Promise<DisableResult> {
  const bar = regBarOf(o);
  const regs = await readRegisters(a, o);
  if (!doorbellEnabled(regs, o)) {
    const why =
      regs.dbBar === TEST_NO_BAR
        ? 'no doorbell is enabled (DB_BAR is NO_BAR)'
        : `no doorbell was enabled (DB_BAR is ${regs.dbBar}${regs.status & TEST_STATUS.DOORBELL_ENABLE_FAIL ? ' after a failed ENABLE' : ''}): a DISABLE now makes the endpoint's kernel oops`;
    throw new UnsafeDisableError(why);
  }
  const taken = await command(a, TEST_COMMAND.DISABLE_DOORBELL, o);
  const status = await read32(a, bar, TEST_REG.STATUS);
  if (!taken) return { ok: false, status, reason: 'the endpoint did not take the command' };
  if (status & TEST_STATUS.DOORBELL_DISABLE_FAIL) return { ok: false, status, reason: 'Failed to disable doorbell' };
  return { ok: true, status };
}
