// Set-up shared by the fake-kernel tests: boot a board, make and link functions, read an
// attribute as text. Only this file imports the fake's factory, so the rest of the suite
// depends on the contract in src/fake/api.ts alone.
import { createFakeKernel, loadFakeKernel } from '../../src/fake/index.js';
import type { FakeKernel, FakeKernelOptions, FakeKernelState } from '../../src/fake/api.js';
import type { BoardProfile, EpfDriverName } from '../../src/boards/types.js';

export type { FakeKernel, FakeKernelState };

export const CFS = '/sys/kernel/config/pci_ep';
export const FUNCS = `${CFS}/functions`;
export const CTRLS = `${CFS}/controllers`;
/** The one EPC of the qemu-virt profile (the QEMU lane, max-functions 2). */
export const QEMU_EPC = '7e000000.pcie-ep';
/** i.MX95's two EPCs (imx95.dtsi, one function each). */
export const IMX95_EPCS = ['4c300000.pcie-ep', '4c380000.pcie-ep'] as const;

/** The versions whose behaviour the reference gives: 6.1 and 6.12 observed, 7.3 = 7.3.4 observed. */
export const VERSIONS = ['6.1', '6.12', '7.3'] as const;
export type Version = (typeof VERSIONS)[number];

/** The 12 attribute files of every function directory (pci-ep-cfs.c, observed 6.12). */
export const FUNCTION_ATTRIBUTES = [
  'baseclass_code',
  'cache_line_size',
  'deviceid',
  'interrupt_pin',
  'msi_interrupts',
  'msix_interrupts',
  'progif_code',
  'revid',
  'subclass_code',
  'subsys_id',
  'subsys_vendor_id',
  'vendorid',
] as const;

/** The ten header fields shared per driver (pci-epf-test.c test_header, observed 6.12). */
export const HEADER_FIELDS = [
  'vendorid',
  'deviceid',
  'revid',
  'progif_code',
  'subclass_code',
  'baseclass_code',
  'cache_line_size',
  'subsys_vendor_id',
  'subsys_id',
  'interrupt_pin',
] as const;

export async function boot(
  kernel: string = '7.3',
  board: string | BoardProfile = 'qemu-virt',
  extra: Partial<Omit<FakeKernelOptions, 'board' | 'kernel'>> = {},
): Promise<FakeKernel> {
  return (await createFakeKernel({ board, kernel, ...extra })) as FakeKernel;
}

export async function reload(state: FakeKernelState): Promise<FakeKernel> {
  return (await loadFakeKernel(state)) as FakeKernel;
}

const decoder = new TextDecoder();

export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** The whole attribute as text, as one read() returns it. */
export async function cat(fake: FakeKernel, path: string): Promise<string> {
  return text(await fake.read(path));
}

/** Entries sorted as `ls` (C locale) shows them; the reference gives listings in that order. */
export async function ls(fake: FakeKernel, path: string): Promise<string[]> {
  return [...(await fake.readdir(path))].sort();
}

export function fnPath(driver: EpfDriverName | string, name: string): string {
  return `${FUNCS}/${driver}/${name}`;
}

export function epcPath(epc: string = QEMU_EPC): string {
  return `${CTRLS}/${epc}`;
}

/** mkdir functions/<driver>/<name>; returns the function directory. */
export async function mkfn(fake: FakeKernel, driver: EpfDriverName = 'pci_epf_test', name = 'func1'): Promise<string> {
  const path = fnPath(driver, name);
  await fake.mkdir(path);
  return path;
}

/**
 * A function whose bind-time MSI/MSI-X checks pass on every version (msi 1..32, msix 1..2048,
 * pci-epf-test.c epc_init), so a link succeeds on 6.1 too.
 */
export async function mkLinkable(fake: FakeKernel, driver: EpfDriverName = 'pci_epf_test', name = 'func1'): Promise<string> {
  const fn = await mkfn(fake, driver, name);
  await fake.write(`${fn}/msi_interrupts`, '1');
  await fake.write(`${fn}/msix_interrupts`, '1');
  return fn;
}

/** The `<driver>.<N>` type group directory inside a function directory. */
export async function typeGroup(fake: FakeKernel, fn: string): Promise<string> {
  const driver = fn.split('/').at(-2) as string;
  const entry = (await fake.readdir(fn)).find((e) => e.startsWith(`${driver}.`));
  if (entry === undefined) throw new Error(`no ${driver}.<N> type group in ${fn}`);
  return `${fn}/${entry}`;
}

/** A vNTB function whose db_count is valid (3..32, pci-epf-vntb.c, observed 7.3.4), so its bind succeeds. */
export async function mkVntb(fake: FakeKernel, name = 'vntb1', dbCount = 4): Promise<string> {
  const fn = await mkLinkable(fake, 'pci_epf_vntb', name);
  await fake.write(`${await typeGroup(fake, fn)}/db_count`, String(dbCount));
  return fn;
}

/** ln -s <fn> controllers/<epc>/<name>; returns the link path. */
export async function linkToEpc(fake: FakeKernel, fn: string, epc: string = QEMU_EPC, name = 'l1'): Promise<string> {
  const link = `${epcPath(epc)}/${name}`;
  await fake.symlink(fn, link);
  return link;
}

/** ln -s controllers/<epc> <fn>/primary (the link is named after the EPC); returns the link path. */
export async function linkPrimary(fake: FakeKernel, fn: string, epc: string = QEMU_EPC): Promise<string> {
  const link = `${fn}/primary/${epc}`;
  await fake.symlink(epcPath(epc), link);
  return link;
}

/** ln -s controllers/<epc> <fn>/secondary/<name>; returns the link path. */
export async function linkSecondary(fake: FakeKernel, fn: string, epc: string = QEMU_EPC, name = 's1'): Promise<string> {
  const link = `${fn}/secondary/${name}`;
  await fake.symlink(epcPath(epc), link);
  return link;
}

/** ln -s <vf> <pf>/ : the VF link is named after the VF function. */
export async function linkVf(fake: FakeKernel, pf: string, vf: string): Promise<string> {
  const link = `${pf}/${vf.split('/').at(-1)}`;
  await fake.symlink(vf, link);
  return link;
}

export async function startEpc(fake: FakeKernel, epc: string = QEMU_EPC): Promise<void> {
  await fake.write(`${epcPath(epc)}/start`, '1');
}

/** Kernel log lines printed after `mark` (a previous fake.dmesg().length). */
export function logSince(fake: FakeKernel, mark: number): string[] {
  return fake.dmesg().slice(mark);
}

export function countMatching(lines: readonly string[], pattern: string | RegExp): number {
  return lines.filter((l) => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l))).length;
}

export function byteLength(data: string): number {
  return new TextEncoder().encode(data).length;
}
