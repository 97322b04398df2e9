// The host-visible register layouts of the endpoint functions, one table each, shared by the
// simulated kernel (src/fake) and the host side (src/host): they are the ABI between the two.
// Sources: drivers/pci/endpoint/functions/pci-epf-test.c (struct pci_epf_test_reg, __packed,
// little-endian; COMMAND_*/STATUS_* bits), drivers/misc/pci_endpoint_test.c (the host's
// PCI_ENDPOINT_TEST_* macros, same offsets), drivers/pci/endpoint/functions/pci-epf-vntb.c
// (struct epf_ntb_ctrl, __packed) and drivers/ntb/hw/epf/ntb_hw_epf.c (NTB_EPF_* offsets).

/** struct pci_epf_test_reg: byte offsets (0x40 bytes in all). */
export const TEST_REG = {
  MAGIC: 0x00,
  COMMAND: 0x04,
  STATUS: 0x08,
  LOWER_SRC_ADDR: 0x0c,
  UPPER_SRC_ADDR: 0x10,
  LOWER_DST_ADDR: 0x14,
  UPPER_DST_ADDR: 0x18,
  SIZE: 0x1c,
  CHECKSUM: 0x20,
  IRQ_TYPE: 0x24,
  IRQ_NUMBER: 0x28,
  FLAGS: 0x2c,
  CAPS: 0x30,
  DB_BAR: 0x34,
  DB_OFFSET: 0x38,
  DB_DATA: 0x3c,
} as const;

/** sizeof(struct pci_epf_test_reg). */
export const TEST_REG_SIZE = 0x40;

/** COMMAND values: one bit per command, compared for equality by the EP's switch. */
export const TEST_COMMAND = {
  RAISE_INTX_IRQ: 1 << 0,
  RAISE_MSI_IRQ: 1 << 1,
  RAISE_MSIX_IRQ: 1 << 2,
  READ: 1 << 3,
  WRITE: 1 << 4,
  COPY: 1 << 5,
  ENABLE_DOORBELL: 1 << 6,
  DISABLE_DOORBELL: 1 << 7,
} as const;

/** STATUS bits. */
export const TEST_STATUS = {
  READ_SUCCESS: 1 << 0,
  READ_FAIL: 1 << 1,
  WRITE_SUCCESS: 1 << 2,
  WRITE_FAIL: 1 << 3,
  COPY_SUCCESS: 1 << 4,
  COPY_FAIL: 1 << 5,
  IRQ_RAISED: 1 << 6,
  SRC_ADDR_INVALID: 1 << 7,
  DST_ADDR_INVALID: 1 << 8,
  DOORBELL_SUCCESS: 1 << 9,
  DOORBELL_ENABLE_SUCCESS: 1 << 10,
  DOORBELL_ENABLE_FAIL: 1 << 11,
  DOORBELL_DISABLE_SUCCESS: 1 << 12,
  DOORBELL_DISABLE_FAIL: 1 << 13,
} as const;

export type TestStatusBit = keyof typeof TEST_STATUS;

/** STATUS as the names of its set bits, lowest first (unknown bits as "bitN"). */
export function decodeTestStatus(status: number): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if (((status >>> bit) & 1) === 0) continue;
    const name = (Object.keys(TEST_STATUS) as TestStatusBit[]).find((k) => TEST_STATUS[k] === 1 << bit);
    out.push(name ?? `bit${bit}`);
  }
  return out;
}

/** IRQ_TYPE values (pci_endpoint_test.c IRQ_TYPE_INTX/MSI/MSIX); larger → "Failed to detect IRQ type". */
export const TEST_IRQ_TYPE = { INTX: 0, MSI: 1, MSIX: 2 } as const;

/** DB_BAR after cleanup: NO_BAR (-1) as a u32. */
export const TEST_NO_BAR = 0xffffffff;

/** struct epf_ntb_ctrl (pci-epf-vntb.c, __packed) = the host's NTB_EPF_* offsets. */
export const VNTB_CTRL = {
  NUM_MWS: 0x20,
  SPAD_OFFSET: 0x28,
  SPAD_COUNT: 0x2c,
  DB_ENTRY_SIZE: 0x30,
  /** db_data[32], u32 each. */
  DB_DATA: 0x34,
  /** db_offset[32], u32 each. */
  DB_OFFSET: 0xb4,
} as const;

/** sizeof(struct epf_ntb_ctrl): where the scratchpads start (spad_offset observed 0x134 on 7.3.4). */
export const VNTB_CTRL_SIZE = 0x134;

/** The most doorbells the ctrl region describes (db_data[32], db_offset[32]). */
export const VNTB_MAX_DB = 32;

export const vntbDbData = (i: number): number => VNTB_CTRL.DB_DATA + 4 * i;
export const vntbDbOffset = (i: number): number => VNTB_CTRL.DB_OFFSET + 4 * i;
