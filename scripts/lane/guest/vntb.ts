// Scenario `vntb-doorbell`: a vNTB function (drivers/pci/endpoint/functions/pci-epf-vntb.c)
// with N doorbells, linked through primary/ and started; then, when asked, each doorbell is
// rung as the host would: BAR targets from the Cadence inbound AT registers
// (CDNS_PCIE_AT_IB_EP_FUNC_BAR_ADDR0/1 in drivers/pci/controller/cadence/pcie-cadence.h), the
// doorbell data and offsets from the packed struct epf_ntb_ctrl behind BAR0, and a 32-bit write
// of db_data[i] to BAR1's target + db_offset[i]. Returns raw /proc/interrupts snapshots.
import { VNTB_CTRL } from '../../../src/host/registers.js';
import { cadenceInboundAddr0 } from '../../../src/host/cadence-devmem.js';
import { interrupts, StepRunner } from './configfs.js';
import { peek32, poke32 } from './run.js';
import type { Scenario } from './scenarios.js';

export interface VntbParams {
  readonly epc: string;
  readonly dbCount: number;
  readonly ring: boolean;
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function barTarget(reg: bigint, bar: number): Promise<bigint> {
  const lo = await peek32(reg + cadenceInboundAddr0(0, bar));
  const hi = await peek32(reg + cadenceInboundAddr0(0, bar) + 4n);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

export const vntbDoorbell: Scenario = async (raw, ctx) => {
  const p = raw as VntbParams;
  const s = new StepRunner(ctx);
  const fn = 'functions/pci_epf_vntb/lane_vntb';
  s.mkdir(fn);
  s.write(`${fn}/vendorid`, '0x1957');
  s.write(`${fn}/deviceid`, '0x080a');
  const g = s.typeGroup(fn, 'pci_epf_vntb');
  // num_mws before mw1: mwN above num_mws is ERANGE on 7.x.
  for (const [attr, v] of [['db_count', String(p.dbCount)], ['spad_count', '16'], ['num_mws', '1'], ['mw1', '0x100000'], ['vntb_vid', '0x1957'], ['vntb_pid', '0x080a'], ['vbus_number', '0x10']] as const)
    s.write(`${g}/${attr}`, v);
  s.link(`controllers/${p.epc}`, `${fn}/primary/${p.epc}`);
  const afterLink = interrupts();
  s.write(`controllers/${p.epc}/start`, '1');
  await sleep(200);
  const afterStart = interrupts();
  const out: Record<string, unknown> = { steps: s.steps, afterLink, afterStart };
  if (!p.ring || s.failed) return out;

  const reg = BigInt(`0x${p.epc.split('.')[0]}`);
  ctx.op('read BAR targets from the Cadence AT registers');
  const bar0 = await barTarget(reg, 0);
  const bar1 = await barTarget(reg, 1);
  ctx.op(`read struct epf_ntb_ctrl at BAR0 target 0x${bar0.toString(16)}`);
  const dbData: number[] = [];
  const dbOffset: number[] = [];
  for (let i = 0; i < p.dbCount; i++) {
    dbData.push(await peek32(bar0 + BigInt(VNTB_CTRL.DB_DATA + 4 * i)));
    dbOffset.push(await peek32(bar0 + BigInt(VNTB_CTRL.DB_OFFSET + 4 * i)));
  }
  const ctrl = { numMws: await peek32(bar0 + BigInt(VNTB_CTRL.NUM_MWS)), dbEntrySize: await peek32(bar0 + BigInt(VNTB_CTRL.DB_ENTRY_SIZE)), dbData, dbOffset };
  const rings: { doorbell: number; address: string; data: number; interrupts: string }[] = [];
  for (let i = 0; i < p.dbCount; i++) {
    const addr = bar1 + BigInt(dbOffset[i]!);
    ctx.op(`ring doorbell ${i}: devmem 0x${addr.toString(16)} 32 ${dbData[i]}`);
    await poke32(addr, dbData[i]!);
    await sleep(100);
    rings.push({ doorbell: i, address: `0x${addr.toString(16)}`, data: dbData[i]!, interrupts: interrupts() });
  }
  return { ...out, bars: { bar0: `0x${bar0.toString(16)}`, bar1: `0x${bar1.toString(16)}` }, ctrl, rings };
};
