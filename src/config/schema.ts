// The declarative config, version 1: which controllers are started and which functions exist,
// with their header, interrupt counts, driver type-group attributes and links. Names are the
// kernel's own (pci-ep-cfs.c attribute names, configfs entry names). The schema checks shape
// and the limits the kernel only checks late; what depends on the running kernel (which
// attributes a driver offers) is checked against the board by plan.
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { HEADER_FIELDS, MSI_VECTORS, MSIX_VECTORS, type HeaderField } from '../configfs/header.js';
import { MDTS_KB_MAX, NVME_DISC_SUBSYS_NAME, NVME_HEADER_FROM_SUBSYSTEM, NVMET_MN_MAX_SIZE, NVMET_NR_QUEUES, NVMET_SN_MAX_SIZE, NVMF_NQN_SIZE } from '../configfs/nvmet.js';

export const CONFIG_VERSION = 1;

/** One configfs entry: a single path component (fs/namei.c), not "." or "..", printable. */
const ENTRY = /^[A-Za-z0-9_.:+@-]{1,64}$/;
const entry = (what: string) =>
  z.string().check(z.refine((s) => ENTRY.test(s) && s !== '.' && s !== '..', { message: `a ${what}: 1..64 of A-Z a-z 0-9 _ . : + @ -, not "." or ".."` }));

const header = z.strictObject(
  Object.fromEntries(HEADER_FIELDS.map((a) => [a.name, z.optional(z.int().check(z.minimum(0), z.maximum(2 ** a.bits - 1)))])) as Record<HeaderField, z.ZodMiniOptional<z.ZodMiniInt>>,
);

/**
 * An NVMe Qualified Name as nvmet takes it for a subsystem directory: nvmet_subsys_alloc keeps
 * at most NVMF_NQN_SIZE (223) bytes (kstrndup, a longer name is cut silently) and
 * nvmet_pci_epf's nvme/subsysnqn holds as many (drivers/nvme/target/core.c, pci-epf.c); the
 * discovery NQN is refused by nvmet_subsys_make. Printable ASCII without "/" or blanks (one
 * configfs entry, written with a newline).
 */
const NQN = /^nqn\.[0-9]{4}-[0-9]{2}\.[\x21-\x2e\x30-\x7e]+$/;
const nqn = z.string().check(
  z.refine((s) => NQN.test(s) && Buffer.byteLength(s) <= NVMF_NQN_SIZE && s !== NVME_DISC_SUBSYS_NAME, {
    message: `an NQN: nqn.YYYY-MM.<reverse domain>:<name>, up to ${NVMF_NQN_SIZE} printable ASCII characters without "/" or blanks, not the discovery NQN`,
  }),
);
/** Printable ASCII of at most MAX bytes (nvmet_is_ascii: 0x20..0x7e, configfs.c model/serial stores). */
const ascii = (max: number, what: string) =>
  z.string().check(z.refine((s) => /^[\x20-\x7e]+$/.test(s) && s.length <= max && s.trim() === s, { message: `${what}: 1..${max} printable ASCII characters, no leading or trailing blanks` }));

/** A namespace: a block device or file the host sees as nsid, or a null_blk test device. */
export const namespaceSchema = z
  .strictObject({
    /** nvmet_ns_make: kstrtou32, not 0 and not 0xffffffff (NVME_NSID_ALL). Default: its place in the list, from 1. */
    nsid: z.optional(z.int().check(z.minimum(1), z.maximum(0xfffffffe))),
    /** A block device or a regular file (nvmet_ns_enable opens it). */
    device: z.optional(z.string().check(z.refine((s) => s.startsWith('/') && !s.includes('\n') && !s.includes('\0') && s.length < 4096, { message: 'an absolute path of a block device or file, without newlines' }))),
    /** null_blk's /dev/nullb0 (drivers/block/null_blk), loaded when absent: a RAM-less test disk. */
    null_blk: z.optional(z.literal(true)),
  })
  .check(
    z.superRefine((n, ctx) => {
      if ((n.device === undefined) === (n.null_blk === undefined)) ctx.addIssue({ code: 'custom', path: ['device'], message: 'give either device (a block device or file path) or null_blk: true' });
    }),
  );

/**
 * The NVMe endpoint (drivers/nvme/target/pci-epf.c, Linux 6.14+): one object that epctl
 * expands over both configfs trees — the nvmet subsystem, its namespaces and a `pci` port,
 * and this function's nvme/ group (portid, subsysnqn, mdts_kb).
 */
export const nvmeSchema = z.strictObject({
  /** The subsystem NQN (nvmet/subsystems/<nqn>, nvme/subsysnqn). */
  nqn,
  /** The nvmet port id (nvmet/ports/<id>, nvme/portid: kstrtou16). Default 1. */
  port: z.optional(z.int().check(z.minimum(0), z.maximum(0xffff))),
  /**
   * I/O queue pairs (attr_qid_max). nvmet_pci_epf_epc_init caps all its queues, the admin queue
   * included, at NVMET_NR_QUEUES (pci-epf.c), so at most NVMET_NR_QUEUES − 1 of them are I/O queues.
   */
  queue_pairs: z.optional(z.int().check(z.minimum(1), z.maximum(NVMET_NR_QUEUES - 1))),
  /** Maximum data transfer size in KiB (nvme/mdts_kb: a power of two up to 2048; the kernel's default 512). */
  mdts_kb: z.optional(z.int().check(z.refine((n) => n >= 1 && n <= MDTS_KB_MAX && (n & (n - 1)) === 0, { message: `a power of two from 1 to ${MDTS_KB_MAX} (KiB): nvmet_pci_epf refuses others, and clamps above ${MDTS_KB_MAX}` }))),
  /** attr_model: what `nvme id-ctrl` shows as mn (NVMET_MN_MAX_SIZE 40). */
  model: z.optional(ascii(NVMET_MN_MAX_SIZE, 'a model number')),
  /** attr_serial (NVMET_SN_MAX_SIZE 20). Default: the kernel's random one. */
  serial: z.optional(ascii(NVMET_SN_MAX_SIZE, 'a serial number')),
  /** attr_vendor_id / attr_subsys_vendor_id (from 6.14, with nvmet_pci_epf): the PCI vendor IDs the host sees (epc_init copies them into the header). */
  vendor_id: z.optional(z.int().check(z.minimum(0), z.maximum(0xffff))),
  subsys_vendor_id: z.optional(z.int().check(z.minimum(0), z.maximum(0xffff))),
  namespaces: z.array(namespaceSchema).check(z.minLength(1), z.maxLength(1024)),
});

/** A type-group attribute value, written as the kernel parses it (kstrto* or a string). */
const typeValue = z.union([z.int(), z.string(), z.boolean()]);

export const functionSchema = z
  .strictObject({
    driver: entry('driver entry under functions/ (pci_epf_test, pci_epf_vntb, …)'),
    name: entry('function name'),
    /** Linked through controllers/<epc>/ ("auto": the board's only controller). */
    controller: z.optional(z.string()),
    /** NTB and vNTB: linked through primary/ and secondary/. */
    primary: z.optional(z.string()),
    secondary: z.optional(z.string()),
    header: z.optional(header),
    // Checked here because the kernel checks them only at link time (configfs/header.ts).
    msi_interrupts: z.optional(z.int().check(z.minimum(MSI_VECTORS.min), z.maximum(MSI_VECTORS.max))),
    msix_interrupts: z.optional(z.int().check(z.minimum(MSIX_VECTORS.min), z.maximum(MSIX_VECTORS.max))),
    /** Attributes of the driver's type group, by the kernel's names (db_count, bar0_size, …). */
    type: z.optional(z.record(entry('type-group attribute'), typeValue)),
    doorbell: z.optional(z.boolean()),
    /** nvmet_pci_epf only: the NVMe endpoint this function presents (its nvme/ group and the nvmet tree). */
    nvme: z.optional(nvmeSchema),
  })
  .check(
    z.superRefine((f, ctx) => {
      const links = [f.controller, f.primary].filter((x) => x !== undefined).length;
      if (links > 1) ctx.addIssue({ code: 'custom', path: ['primary'], message: 'give either controller (linked through controllers/) or primary/secondary (NTB, vNTB), not both' });
      if (f.secondary !== undefined && f.primary === undefined) ctx.addIssue({ code: 'custom', path: ['secondary'], message: 'secondary needs primary' });
      if (f.nvme !== undefined && f.driver !== 'nvmet_pci_epf') ctx.addIssue({ code: 'custom', path: ['nvme'], message: `nvme belongs to driver nvmet_pci_epf, not ${f.driver}` });
      if (f.driver === 'nvmet_pci_epf' && f.nvme === undefined && f.type && ['portid', 'subsysnqn'].some((a) => a in f.type!))
        ctx.addIssue({ code: 'custom', path: ['type'], message: 'declare the NVMe endpoint as nvme: { nqn, namespaces, … } (epctl makes the nvmet subsystem and port too), not as type.portid/subsysnqn' });
      if (f.nvme !== undefined) {
        for (const a of NVME_HEADER_FROM_SUBSYSTEM)
          if (f.header?.[a] !== undefined)
            ctx.addIssue({ code: 'custom', path: ['header', a], message: `nvmet_pci_epf overwrites ${a} from the nvmet subsystem when it binds (pci-epf.c epc_init): declare nvme.${a === 'vendorid' ? 'vendor_id' : 'subsys_vendor_id'} instead` });
        if (f.type && Object.keys(f.type).length) ctx.addIssue({ code: 'custom', path: ['type'], message: 'with nvme, epctl writes the nvme/ group itself (portid, subsysnqn, mdts_kb): drop type' });
        const ids = f.nvme.namespaces.map((n, i) => n.nsid ?? i + 1);
        ids.forEach((id, i) => {
          if (ids.indexOf(id) !== i) ctx.addIssue({ code: 'custom', path: ['nvme', 'namespaces', i, 'nsid'], message: `nsid ${id} is used twice (an unset nsid is its place in the list, from 1)` });
        });
      }
    }),
  );

/** How `epctl agent` keeps the board (ignored by apply/plan/clear). */
export const agentSchema = z.strictObject({
  /** At boot, how long to wait for the controllers the config names to appear (EPC drivers probe late). Default 120. */
  wait_timeout_s: z.optional(z.int().check(z.minimum(0), z.maximum(86400))),
  /** How often to compare the board with the config (0: never). Default 30. */
  drift_interval_s: z.optional(z.int().check(z.minimum(0), z.maximum(86400))),
  /** Put a drifted board back (default false: only report it). */
  correct_drift: z.optional(z.boolean()),
  /** Tell systemd READY even when the first apply was refused or failed (default false: the unit fails to start). */
  ready_on_failure: z.optional(z.boolean()),
  /** Watch doorbell interrupts for the status API and metrics (default true). */
  doorbell_watch: z.optional(z.boolean()),
});

export const configSchema = z.strictObject({
  version: z.literal(CONFIG_VERSION),
  agent: z.optional(agentSchema),
  /** Per controller (by EPC name, or "auto" for the board's only one): whether it is started. */
  controllers: z.optional(z.record(z.string(), z.strictObject({ start: z.optional(z.boolean()) }))),
  functions: z.optional(z.array(functionSchema)),
});

export type Config = z.infer<typeof configSchema>;
export type FunctionConfig = z.infer<typeof functionSchema>;
export type AgentConfig = z.infer<typeof agentSchema>;

// Messages in words ("Too big: expected number to be <=32"), not zod/mini's bare "Invalid input".
z.config(en());
