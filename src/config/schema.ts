// The declarative config, version 1: which controllers are started and which functions exist,
// with their header, interrupt counts, driver type-group attributes and links. Names are the
// kernel's own (pci-ep-cfs.c attribute names, configfs entry names). The schema checks shape
// and the limits the kernel only checks late; what depends on the running kernel (which
// attributes a driver offers) is checked against the board by plan.
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { HEADER_FIELDS, MSI_VECTORS, MSIX_VECTORS, type HeaderField } from '../configfs/header.js';

export const CONFIG_VERSION = 1;

/** One configfs entry: a single path component (fs/namei.c), not "." or "..", printable. */
const ENTRY = /^[A-Za-z0-9_.:+@-]{1,64}$/;
const entry = (what: string) =>
  z.string().check(z.refine((s) => ENTRY.test(s) && s !== '.' && s !== '..', { message: `a ${what}: 1..64 of A-Z a-z 0-9 _ . : + @ -, not "." or ".."` }));

const header = z.strictObject(
  Object.fromEntries(HEADER_FIELDS.map((a) => [a.name, z.optional(z.int().check(z.minimum(0), z.maximum(2 ** a.bits - 1)))])) as Record<HeaderField, z.ZodMiniOptional<z.ZodMiniInt>>,
);

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
  })
  .check(
    z.superRefine((f, ctx) => {
      const links = [f.controller, f.primary].filter((x) => x !== undefined).length;
      if (links > 1) ctx.addIssue({ code: 'custom', path: ['primary'], message: 'give either controller (linked through controllers/) or primary/secondary (NTB, vNTB), not both' });
      if (f.secondary !== undefined && f.primary === undefined) ctx.addIssue({ code: 'custom', path: ['secondary'], message: 'secondary needs primary' });
    }),
  );

export const configSchema = z.strictObject({
  version: z.literal(CONFIG_VERSION),
  /** Per controller (by EPC name, or "auto" for the board's only one): whether it is started. */
  controllers: z.optional(z.record(z.string(), z.strictObject({ start: z.optional(z.boolean()) }))),
  functions: z.optional(z.array(functionSchema)),
});

export type Config = z.infer<typeof configSchema>;
export type FunctionConfig = z.infer<typeof functionSchema>;

// Messages in words ("Too big: expected number to be <=32"), not zod/mini's bare "Invalid input".
z.config(en());
