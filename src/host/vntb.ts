// The host side of a vNTB function's doorbells, as drivers/ntb/hw/epf/ntb_hw_epf.c reads and
// rings them: the control region (struct epf_ntb_ctrl in the ctrl BAR) publishes, per doorbell
// i, db_data[i] and db_offset[i], plus one db_entry_size; ringing i writes db_data[i] at
// db BAR + db_entry_size × i + db_offset[i] [inferred from ntb_epf_peer_db_set]. With MSI
// doorbells (observed 7.3.4) db_entry_size is 0 and every offset is the translater's place in
// the doorbell BAR; polled doorbells use db_entry_size 4 and offset 0.
// The ctrl region does not carry db_count: the host driver takes it from its interrupt vectors,
// so the caller passes it (epctl reads the function's db_count attribute).
import { VNTB_CTRL, VNTB_MAX_DB, vntbDbData, vntbDbOffset } from './registers.js';
import { read32, write32, type HostBarAccess } from './access.js';

export interface VntbDoorbell {
  index: number;
  data: number;
  offset: number;
}

export interface VntbCtrl {
  numMws: number;
  spadOffset: number;
  spadCount: number;
  dbEntrySize: number;
  doorbells: VntbDoorbell[];
}

export interface VntbBars {
  /** The ctrl_bar (BAR0 by default). */
  ctrl: number;
  /** The db_bar (BAR1 by default). */
  db: number;
}

export async function readCtrl(a: HostBarAccess, bars: VntbBars, dbCount: number): Promise<VntbCtrl> {
  if (!Number.isInteger(dbCount) || dbCount < 0 || dbCount > VNTB_MAX_DB) throw new RangeError(`db_count ${dbCount} is outside 0..${VNTB_MAX_DB}`);
  const r = (off: number): Promise<number> => read32(a, bars.ctrl, off);
  const doorbells: VntbDoorbell[] = [];
  for (let i = 0; i < dbCount; i++) doorbells.push({ index: i, data: await r(vntbDbData(i)), offset: await r(vntbDbOffset(i)) });
  return {
    numMws: await r(VNTB_CTRL.NUM_MWS),
    spadOffset: await r(VNTB_CTRL.SPAD_OFFSET),
    spadCount: await r(VNTB_CTRL.SPAD_COUNT),
    dbEntrySize: await r(VNTB_CTRL.DB_ENTRY_SIZE),
    doorbells,
  };
}

/** Where ringing doorbell `i` writes, and what. */
export function doorbellTarget(ctrl: VntbCtrl, i: number): { offset: number; data: number } {
  const db = ctrl.doorbells[i];
  if (!db) throw new RangeError(`doorbell ${i} does not exist (db_count ${ctrl.doorbells.length})`);
  return { offset: ctrl.dbEntrySize * i + db.offset, data: db.data };
}

/** Rings doorbell `i`: one 32-bit write of db_data[i] into the doorbell BAR. */
export async function ring(a: HostBarAccess, bars: VntbBars, ctrl: VntbCtrl, i: number): Promise<{ offset: number; data: number }> {
  const t = doorbellTarget(ctrl, i);
  await write32(a, bars.db, t.offset, t.data);
  return t;
}
