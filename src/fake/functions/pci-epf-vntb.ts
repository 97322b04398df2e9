// drivers/pci/endpoint/functions/pci-epf-vntb.c as the fake models it: the type group with
// its parsers and quirks (observed 7.3.4), bind through the primary EPC only, MSI
// doorbells at bind (v6.19+, silently polled when allocation fails), the virtual PCI bus lines,
// and the unbind that crashes after a secondary-only bind (observed 7.3.4).
import { kstrtou, kstrtoint } from '../../configfs/values.js';
import { Errno, Oops, type KernelContext } from '../context.js';
import type { EpfDevice } from '../model.js';
import { KERN_ERR, KERN_INFO } from '../printk.js';
import { allocDoorbell, embeddedDoorbellBar, freeDoorbell } from '../pci-ep-msi.js';
import { DOORBELL_ACTION } from '../../procfs/interrupts.js';
import { epcSetBar, type CallChain } from '../pci-epf-core.js';
import { BASE_HEADER, type EpfDriverModel, type TypeGroupModel } from './types.js';
import { newHostState, pow2, read32, write32 } from '../bar-space.js';
import { VNTB_CTRL, VNTB_CTRL_SIZE, vntbDbData, vntbDbOffset } from '../../host/registers.js';
import type { AccessWidth } from '../../kernel/port.js';

const MAX_MW = 4;
const MW = ['mw1', 'mw2', 'mw3', 'mw4'];
const BARS = ['ctrl_bar', 'db_bar', 'mw1_bar', 'mw2_bar', 'mw3_bar', 'mw4_bar'];

/** The vNTB/NTB count attributes: kstrtou32, printed with "%d" (so ≥ 2^31 reads negative). */
const asInt32 = (v: number): number => v | 0;
const asInt64 = (v: bigint): bigint => BigInt.asIntN(64, v);

function dev_err(k: KernelContext, dev: EpfDevice, text: string): void {
  k.printk.dev(KERN_ERR, dev.driver, dev.name, text);
}

/** The shared NTB type-group semantics of pci-epf-vntb.c and pci-epf-ntb.c. */
export function ntbTypeGroup(withVntb: boolean, withBars: boolean): TypeGroupModel {
  const attributes = [
    ...(withBars ? ['ctrl_bar', 'db_bar'] : []),
    'db_count',
    ...MW.flatMap((mw) => (withBars ? [mw, `${mw}_bar`] : [mw])),
    'num_mws',
    'spad_count',
    ...(withVntb ? ['vbus_number', 'vntb_pid', 'vntb_vid'] : []),
  ];
  const defaults: Record<string, number | string> = { db_count: 0, num_mws: 0, spad_count: 0 };
  for (const mw of MW) defaults[mw] = '0';
  if (withBars) for (const bar of BARS) defaults[bar] = -1;
  if (withVntb) Object.assign(defaults, { vbus_number: 255, vntb_pid: 0, vntb_vid: 0 });

  /** mwN exists only up to num_mws, for show and store alike. */
  const checkMw = (k: KernelContext, dev: EpfDevice, attr: string): void => {
    const n = Number(attr.slice(2));
    const numMws = Number(dev.typeGroup['num_mws']);
    if (n <= numMws) return;
    if (k.b.strictTypeGroups) {
      dev_err(k, dev, `MW${n} out of range (num_mws=${numMws})`);
      throw new Errno('ERANGE');
    }
    dev_err(k, dev, `Invalid num_nws: ${numMws} value`);
    throw new Errno('EINVAL');
  };

  return {
    attributes,
    defaults,
    show(k, dev, attr) {
      if (MW.includes(attr)) {
        checkMw(k, dev, attr);
        return `${asInt64(BigInt(dev.typeGroup[attr]!))}\n`;
      }
      const v = Number(dev.typeGroup[attr]);
      return `${BARS.includes(attr) ? v : asInt32(v)}\n`;
    },
    store(k, dev, attr, text) {
      // Observed 7.3.4: every write is refused while attached, before parsing.
      if (k.b.strictTypeGroups && (dev.epc !== undefined || dev.secEpc !== undefined)) throw new Errno('EOPNOTSUPP');
      if (MW.includes(attr)) {
        const r = kstrtou(text, 64);
        if (!r.ok) throw new Errno(r.errno);
        checkMw(k, dev, attr);
        dev.typeGroup[attr] = String(r.value);
        return;
      }
      if (BARS.includes(attr)) {
        const r = kstrtoint(text);
        if (!r.ok) throw new Errno(r.errno);
        if (r.value < -1 || r.value > 5) throw new Errno('EINVAL');
        dev.typeGroup[attr] = r.value;
        return;
      }
      const r = kstrtou(text, 32);
      if (!r.ok) throw new Errno(r.errno);
      let v = Number(r.value);
      if (attr === 'num_mws' && v > MAX_MW) throw new Errno('EINVAL');
      // Observed 7.3.4: db_count is checked at write, 3..32.
      if (attr === 'db_count' && k.b.strictTypeGroups && (v < 3 || v > 32)) throw new Errno('EINVAL');
      // vntb_vid/vntb_pid land in a u16: silent truncation.
      if (attr === 'vntb_vid' || attr === 'vntb_pid') v &= 0xffff;
      dev.typeGroup[attr] = v;
    },
  };
}

const hex4 = (v: number): string => v.toString(16).padStart(4, '0');
const vbus = (dev: EpfDevice): string => `0002:${Number(dev.typeGroup['vbus_number']).toString(16).padStart(2, '0')}`;

/**
 * epf_ntb_config_spad_bar_alloc: pci_epf_alloc_space() of the control region and scratchpads
 * (4 bytes each) through dma_alloc_coherent. Observed 7.3.4 (differential, spad_count 2^28):
 * an allocation above the buddy allocator's largest order (4 MiB on 4 KiB pages, lane kernel
 * without CMA) WARNs once per boot in the page allocator and the link fails with ENOMEM. The
 * control region's own size (about a page) is approximated [inferred]; counts near the edge are
 * not exercised.
 */
const MAX_DMA_ALLOC = 4 << 20;
const CTRL_REGION = 4096;
const ALLOC_FRAMES = ['__alloc_frozen_pages_noprof', '__alloc_pages_noprof', 'alloc_pages_node_noprof', '__dma_direct_alloc_pages.constprop.0', 'dma_direct_alloc', 'dma_alloc_attrs', 'pci_epf_alloc_space', 'epf_ntb_bind'];

function spadAlloc(k: KernelContext, dev: EpfDevice, chain: CallChain): void {
  const spad = BigInt.asUintN(32, BigInt(dev.typeGroup['spad_count']!));
  if (BigInt(CTRL_REGION) + spad * 4n <= BigInt(MAX_DMA_ALLOC)) return;
  k.printk.warnOnce('mm/page_alloc.c:5363', '__alloc_frozen_pages_noprof', [...ALLOC_FRAMES, ...chain], k.splat());
  const c = k.controller(dev.epc!);
  k.printk.dev(KERN_ERR, c.driver, c.name, 'failed to allocate mem space');
  dev_err(k, dev, 'Config/Status/SPAD alloc region fail');
  dev_err(k, dev, 'Failed to allocate BAR memory');
  throw new Errno('ENOMEM');
}

/**
 * epf_ntb_init_epc_bar, first in bind: the control, doorbell and first window BARs left
 * automatic (-1) get the lowest BARs not chosen by hand, in that order, and keep them (the
 * attributes read them back, after unlink and after a bind that failed later). Observed 7.3.4 by
 * the differential: 0/1/2 by default, ctrl_bar=3 gave db 0 and mw1 1; mw2..mw4 stay -1. A BAR
 * the EPC reserves is never chosen (epf_ntb_find_bar → pci_epc_get_next_free_bar).
 */
function assignBars(k: KernelContext, dev: EpfDevice): void {
  const bars = ['ctrl_bar', 'db_bar', 'mw1_bar', 'mw2_bar', 'mw3_bar', 'mw4_bar'];
  const used = new Set(bars.map((b) => Number(dev.typeGroup[b] ?? -1)).filter((n) => n >= 0));
  // pci_epc_get_next_free_bar() skips the BARs the EPC reserves (RK3588's BAR4).
  const features = k.controller(dev.epc!).features;
  for (const b of ['ctrl_bar', 'db_bar', 'mw1_bar']) {
    if (Number(dev.typeGroup[b] ?? -1) !== -1) continue;
    const free = [0, 1, 2, 3, 4, 5].find((n) => !used.has(n) && features.bars[n]!.type !== 'reserved');
    if (free === undefined) return;
    dev.typeGroup[b] = free;
    used.add(free);
  }
}

/**
 * epf_ntb_mw_bar_init on the lane's Cadence EPC, as observed 7.3.4 (differential): every window
 * up to num_mws needs a non-zero size and a BAR; only mw1 gets one automatically (assignBars),
 * so mw2..mwN left at -1 fail with "MW set failed" (mw2_bar=3 with mw1_bar=2 worked).
 */
function mwBarsSet(k: KernelContext, dev: EpfDevice): boolean {
  const n = Number(dev.typeGroup['num_mws']);
  for (let i = 1; i <= n; i++) {
    if (BigInt(dev.typeGroup[`mw${i}`]!) === 0n) return false;
    if (i >= 2 && Number(dev.typeGroup[`mw${i}_bar`] ?? -1) === -1) return false;
    // A window on a reserved BAR: the controller's set_bar refuses it ("Invalid BAR type").
    try {
      epcSetBar(k, dev.epc!, vntbBars(dev).mws[i - 1]!);
    } catch (e) {
      if (e instanceof Errno) return false;
      throw e;
    }
  }
  return true;
}

/** The BARs of a bound vNTB: the ctrl_bar/db_bar/mwN_bar attributes, else BAR0, 1, 2… (enum order). */
function vntbBars(dev: EpfDevice): { ctrl: number; db: number; mws: number[] } {
  const pick = (attr: string, dflt: number): number => {
    const v = Number(dev.typeGroup[attr] ?? -1);
    return v >= 0 ? v : dflt;
  };
  const n = Number(dev.typeGroup['num_mws']);
  return { ctrl: pick('ctrl_bar', 0), db: pick('db_bar', 1), mws: Array.from({ length: n }, (_, i) => pick(`mw${i + 1}_bar`, 2 + i)) };
}

/**
 * The host-visible side of a successful bind (pci-epf-vntb.c epf_ntb_config_spad_bar_alloc,
 * epf_ntb_db_bar_init, epf_ntb_mw_bar_init): the control region in the ctrl BAR with
 * num_mws, spad_offset (sizeof(struct epf_ntb_ctrl), observed 0x134), spad_count and the
 * doorbell table. Polled doorbells: db_entry_size 4, db_data[i] = 1 + i, db_offset[i] = 0, the
 * doorbell BAR is 4 × db_count bytes of memory. MSI doorbells (observed 7.3.4):
 * db_entry_size 0, db_data[i] = i (event ID = msi_index), db_offset[i] = the translater's
 * offset in the doorbell BAR, whose inbound window is the ITS page (0x08090000 for the
 * translater 0x08090040, so the base is aligned to the EPC's inbound alignment [inferred]).
 * BAR sizes are rounded to a power of two and to that alignment [inferred]. spad_offset =
 * ctrl_size: 7.3.4 takes ALIGN(sizeof(struct epf_ntb_ctrl), sizeof(u32)) = 0x134; 6.12.117
 * aligns it to the EPC's alignment, or rounds it up to a power of two when that is 0
 * (epf_ntb_config_spad_bar_alloc in each release's pci-epf-vntb.c): 0x200 on the lane's
 * Cadence EPC (align 256), read by the real-kernel lane. Which release changed it is not known
 * here: the fake takes the 6.12 layout before 6.19 [inferred].
 */
function setupHostSide(k: KernelContext, dev: EpfDevice): void {
  const align = Math.max(1, k.controller(dev.epc!).features.align);
  const dbCount = Number(dev.typeGroup['db_count']);
  const spadCount = Number(dev.typeGroup['spad_count']) >>> 0;
  const { ctrl, db, mws } = vntbBars(dev);
  const msi = dev.doorbellVirqs !== undefined;
  // The doorbell address: the ITS's GITS_TRANSLATER, or the eDMA's rd_int_status for the
  // embedded doorbell, whose message data is 0 for every doorbell (pci-ep-msi.c
  // pci_epf_alloc_doorbell_embedded: one address/data replicated).
  const embedded = dev.doorbellEmbedded !== undefined;
  const domain = k.msiDomain(dev.epc!);
  // An embedded doorbell the EPC exposes in its reserved BAR (the db_bar, msiDoorbellBar): no
  // memory and no inbound window of vNTB's own; db_offset[i] is the message's offset there.
  const exposed = embedded ? embeddedDoorbellBar(k, dev.epc!) : undefined;
  const translater = exposed ? undefined : embedded ? domain.edmaDoorbell : domain.its?.translater;
  const base = translater === undefined ? undefined : translater & ~BigInt(align - 1);
  const dbOffset = exposed ? exposed.offset : translater === undefined || base === undefined ? 0 : Number(translater - base);
  const sizes: Record<number, number> = {};
  sizes[ctrl] = Math.max(align, pow2(VNTB_CTRL_SIZE + 2 * spadCount * 4));
  if (!exposed) sizes[db] = Math.max(align, pow2(msi ? dbOffset + 4 : 4 * Math.max(1, dbCount)));
  mws.forEach((bar, i) => {
    if (!(bar in sizes)) sizes[bar] = Math.max(align, pow2(Number(BigInt(dev.typeGroup[`mw${i + 1}`] ?? '0'))));
  });
  const h = newHostState(sizes);
  write32(h, ctrl, VNTB_CTRL.NUM_MWS, mws.length);
  const ctrlSize = k.b.vntbDoorbell ? VNTB_CTRL_SIZE : k.controller(dev.epc!).features.align > 0 ? Math.ceil(VNTB_CTRL_SIZE / align) * align : pow2(VNTB_CTRL_SIZE);
  write32(h, ctrl, VNTB_CTRL.SPAD_OFFSET, ctrlSize);
  write32(h, ctrl, VNTB_CTRL.SPAD_COUNT, spadCount);
  write32(h, ctrl, VNTB_CTRL.DB_ENTRY_SIZE, msi ? 0 : 4);
  for (let i = 0; i < Math.min(dbCount, 32); i++) {
    write32(h, ctrl, vntbDbData(i), msi ? (embedded ? 0 : i) : 1 + i);
    write32(h, ctrl, vntbDbOffset(i), msi ? dbOffset : 0);
  }
  if (msi && base !== undefined) h.inbound[String(db)] = String(base);
  dev.host = h;
}

/**
 * epf_ntb_db_bar_init_msi_doorbell after pci_epf_alloc_doorbell() succeeded (7.3.4
 * pci-epf-vntb.c): a doorbell the EPC already exposes in a BAR of its own (db_msg[0].bar, the
 * embedded doorbell in RK3588's BAR4) must be that BAR, the db_bar: otherwise -EINVAL, with no
 * log line, and vNTB polls. Else the doorbell BAR gets an inbound window onto the doorbell
 * (pci_epf_assign_bar_space, pci_epc_set_bar: "Failed to set Doorbell BAR"). Either failure
 * frees the doorbell and throws Errno.
 */
function msiDoorbellBar(k: KernelContext, dev: EpfDevice, db: number): void {
  const exposed = dev.doorbellEmbedded !== undefined ? embeddedDoorbellBar(k, dev.epc!) : undefined;
  if (exposed) {
    if (exposed.bar === db) return;
    freeDoorbell(k, dev);
    throw new Errno('EINVAL');
  }
  try {
    epcSetBar(k, dev.epc!, db);
  } catch (e) {
    if (!(e instanceof Errno)) throw e;
    dev_err(k, dev, 'Failed to set Doorbell BAR');
    freeDoorbell(k, dev);
    throw e;
  }
}

export const pciEpfVntb: EpfDriverModel = {
  name: 'pci_epf_vntb',
  // Memory controller class (epf_ntb_header in pci-epf-vntb.c).
  defaultHeader: { ...BASE_HEADER, baseclass_code: 0x05 },
  typeGroup: (k) => ntbTypeGroup(true, k.b.vntbBarAttributes),

  probe(k, dev) {
    k.printk.dev(KERN_INFO, dev.driver, dev.name, 'pci-ep epf driver loaded');
  },

  bind(k: KernelContext, dev: EpfDevice, chain: CallChain): void {
    // epf_ntb_bind returns 0 at once until the primary EPC is set.
    if (dev.epc === undefined) return;
    if (k.b.strictTypeGroups) {
      assignBars(k, dev);
      spadAlloc(k, dev, chain);
    }
    const bars = vntbBars(dev);
    // epf_ntb_epc_init → epf_ntb_config_sspad_bar_set: pci_epc_set_bar() of the ctrl BAR.
    setBarOrFail(k, dev, bars.ctrl, undefined, 'inft: Config/Status/SPAD BAR set failed', 'Config/self SPAD BAR init failed');
    const dbCount = Number(dev.typeGroup['db_count']);
    if (k.b.strictTypeGroups && (dbCount < 3 || dbCount > 32)) epcInitFail(k, dev, 'EINVAL', `DB count ${dbCount} out of range (3 - 32)`, 'Interrupt configuration failed');
    // 6.12.117 (observed by the differential): checked at bind, 1..32, same three lines.
    if (k.b.vntbDbRangeAtBind && (dbCount < 1 || dbCount > 32)) epcInitFail(k, dev, 'EINVAL', `DB count ${dbCount} out of range (1 - 32)`, 'Interrupt configuration failed');
    if (!k.b.strictTypeGroups && dbCount > 32) {
      dev_err(k, dev, 'DB count cannot be more than 32');
      throw new Errno('EINVAL');
    }
    if (k.b.vntbDoorbell) {
      try {
        allocDoorbell(k, dev, dbCount, DOORBELL_ACTION.pci_epf_vntb);
        msiDoorbellBar(k, dev, bars.db);
      } catch (e) {
        // epf_ntb_db_bar_init: any failure falls back to polled doorbells, silently.
        if (!(e instanceof Errno)) throw e;
      }
    }
    if (dev.doorbellVirqs === undefined) {
      // The polled fallback: pci_epf_alloc_space() (no check of the BAR's type) and
      // pci_epc_set_bar() of the doorbell BAR; its failure returns -1 (-EPERM to `ln -s`).
      setBarOrFail(k, dev, bars.db, 'EPERM', 'Doorbell BAR set failed', 'DB BAR init failed');
    }
    if (k.b.strictTypeGroups && !mwBarsSet(k, dev)) {
      // epf_ntb_epc_init → epf_ntb_mw_bar_init fails after the doorbells were set up; they are undone.
      if (k.b.vntbDoorbell) freeDoorbell(k, dev);
      epcInitFail(k, dev, 'EINVAL', 'MW set failed', 'MW BAR init failed');
    }
    // epf_ntb_bind → pci_register_driver(&vntb_pci_driver): one static driver "pci-vntb", so a
    // second vNTB bound at the same time fails (observed 7.3.4 by the differential: EBUSY).
    if (Object.values(k.m.devices).some((o) => o !== dev && o.driver === 'pci_epf_vntb' && o.epc !== undefined)) {
      if (k.b.vntbDoorbell) freeDoorbell(k, dev);
      k.printk.log(KERN_ERR, "Error: Driver 'pci-vntb' is already registered, aborting...");
      dev_err(k, dev, 'failure register vntb pci driver');
      throw new Errno('EBUSY');
    }
    setupHostSide(k, dev);
    const bus = vbus(dev);
    k.printk.log(KERN_INFO, `PCI host bridge to bus ${bus}`);
    k.printk.log(KERN_INFO, `pci_bus ${bus}: root bus resource [io  0x0000-0xffffff]`);
    k.printk.log(KERN_INFO, `pci_bus ${bus}: root bus resource [mem 0x00000000-0xffffffffffffffff]`);
    k.printk.log(KERN_INFO, `pci_bus ${bus}: root bus resource [bus 00-ff]`);
    const vid = Number(dev.typeGroup['vntb_vid']);
    const pid = Number(dev.typeGroup['vntb_pid']);
    // Observed 7.3.4: with a non-zero vid/pid the virtual bus enumerates the device; the class
    // read back as 0xffffff in the only recorded line.
    if (vid !== 0 || pid !== 0)
      k.printk.log(KERN_INFO, `pci ${bus}:00.0: [${hex4(vid)}:${hex4(pid)}] type 00 class 0xffffff conventional PCI endpoint`);
  },

  unbind(k: KernelContext, dev: EpfDevice, chain: CallChain): void {
    if (dev.epc === undefined) {
      // epf_ntb_unbind unregisters a pci_driver bind never registered (observed 7.3.4 as an oops).
      const note = `note: ${k.splat().caller.comm}[${k.splat().caller.pid}] exited with preempt_count 1`;
      throw new Oops(k.printk.oops('0000000000000000', ['pci_unregister_driver+0x44/0x8c', 'epf_ntb_unbind', ...chain], k.splat(), [note]));
    }
    freeDoorbell(k, dev);
    delete dev.host;
    const bus = vbus(dev);
    // The bus-number resource runs from vbus_number to ff; %pR prints one number when they are
    // equal (observed 7.3.4 by the differential: "[bus 57-ff]", and "[bus ff]" for 255).
    const first = bus.slice(5);
    if (k.b.vntbRemovesBus)
      k.printk.log(KERN_INFO, `pci_bus ${bus}: busn_res: [bus ${first === 'ff' ? first : `${first}-ff`}] is released`);
  },

  barWritten(_k: KernelContext, dev: EpfDevice, bar: number, offset: number, width: AccessWidth): void {
    // epf_ntb_cmd_handler, polled doorbells only: for i = 1..db_count-1 a non-zero epf_db[i]
    // is an event (ntb_db_event) and is written back to 0; epf_db[0] is never looked at.
    const h = dev.host;
    if (!h || dev.doorbellVirqs !== undefined || bar !== vntbBars(dev).db) return;
    const dbCount = Number(dev.typeGroup['db_count']);
    for (let i = 1; i < dbCount; i++)
      if (offset < 4 * i + 4 && offset + width / 8 > 4 * i && read32(h, bar, 4 * i) !== 0) write32(h, bar, 4 * i, 0);
  },
};

/** epf_ntb_epc_init failing: the step's own lines, then "Failed to initialize EPC", and its errno to `ln -s`. */
function epcInitFail(k: KernelContext, dev: EpfDevice, errno: ConstructorParameters<typeof Errno>[0], ...lines: string[]): never {
  for (const l of lines) dev_err(k, dev, l);
  dev_err(k, dev, 'Failed to initialize EPC');
  throw new Errno(errno);
}

/** pci_epc_set_bar() of BAR for an epf_ntb_epc_init step; a refusal fails the step with LINES (and ERRNO, or the set_bar's own). */
function setBarOrFail(k: KernelContext, dev: EpfDevice, bar: number, errno: ConstructorParameters<typeof Errno>[0] | undefined, ...lines: string[]): void {
  try {
    epcSetBar(k, dev.epc!, bar);
  } catch (e) {
    if (!(e instanceof Errno)) throw e;
    epcInitFail(k, dev, errno ?? e.code, ...lines);
  }
}
