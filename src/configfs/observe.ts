// The pci_ep configfs tree as epctl sees it: one typed, JSON-able object per configfs node, read
// from the board each time (never cached), in the spirit of rtslib's CFSNode. Everything is
// discovered by listing (drivers/pci/endpoint/pci-ep-cfs.c): driver entries are whatever
// functions/ lists, attributes are the files a function directory holds, the driver's type
// group is its one sub-directory besides primary/ and secondary/ (`<driver>.<N>` for test and
// vNTB, `nvme` for nvmet_pci_epf), and links are resolved to absolute paths before anything
// compares them (configfs returns relative targets). A broken entry spoils only itself.
import { type KernelPort, joinPath, resolveLink, basename, dirname } from '../kernel/port.js';
import { readText } from '../kernel/port.js';
import { isKernelError, KernelDataError } from '../kernel/errors.js';
import { CONTROLLERS, FUNCTIONS, PCI_EP } from './paths.js';
import { EXIT } from '../exit-codes.js';

/** An attribute as read: its text, or the errno its show() returned (vNTB mwN past num_mws: EINVAL). */
export type AttributeRead = { text: string } | { errno: string };

/** The text an attribute read as, or undefined when its show() failed or it is absent. */
export const attributeText = (a: AttributeRead | undefined): string | undefined => (a && 'text' in a ? a.text : undefined);

export interface ObservedTypeGroup {
  /** `pci_epf_test.0`, `pci_epf_vntb.1`, `nvme`. */
  name: string;
  attributes: Record<string, AttributeRead>;
}

export interface ObservedFunction {
  /** The functions/ entry (`pci_epf_test`, `pci_epf_mhi_sdx55`): not always the module name. */
  driver: string;
  name: string;
  path: string;
  attributes: Record<string, AttributeRead>;
  typeGroup: ObservedTypeGroup | null;
  /** The controller linked through primary/ (NTB, vNTB), by name. */
  primary: string | null;
  secondary: string | null;
  /** Controllers whose directory links this function. */
  controllers: string[];
  /** Virtual functions linked into this (physical) function: `<driver>/<name>`. */
  virtualFunctions: string[];
  /** The link entries themselves, by name, for whoever removes them. */
  links: {
    primary: { name: string; controller: string } | null;
    secondary: { name: string; controller: string } | null;
    virtualFunctions: { name: string; function: string }[];
  };
}

export interface ObservedController {
  name: string;
  /** Every file the controller directory carries (`start`; vendor kernels add more). */
  files: Record<string, AttributeRead>;
  /** Functions linked here, `<driver>/<name>`, in listing order. */
  functions: string[];
  /** The link entries (the name a person chose in `ln -s … controllers/<epc>/<name>`). */
  links: { name: string; function: string }[];
}

export interface PciEpState {
  /** /sys/kernel/config/pci_ep exists. */
  present: boolean;
  drivers: string[];
  functions: ObservedFunction[];
  controllers: ObservedController[];
}

/** Where a link points, as the object it names. */
export type LinkTarget = { kind: 'controller'; name: string } | { kind: 'function'; driver: string; name: string } | { kind: 'other'; path: string };

export function classifyLink(linkPath: string, target: string): LinkTarget {
  const abs = resolveLink(linkPath, target);
  if (dirname(abs) === CONTROLLERS) return { kind: 'controller', name: basename(abs) };
  const up = dirname(abs);
  if (dirname(up) === FUNCTIONS) return { kind: 'function', driver: basename(up), name: basename(abs) };
  return { kind: 'other', path: abs };
}

/** An attribute's text, or the errno its show() returned (a broken read that is not the kernel's answer throws). */
export async function readAttribute(port: KernelPort, path: string): Promise<AttributeRead> {
  try {
    return { text: await readText(port, path) };
  } catch (e) {
    // A show() that fails is the kernel's answer about that attribute, not a broken board.
    if (isKernelError(e) && e.exitCode !== EXIT.BAD_DATA) return { errno: e.code };
    throw e;
  }
}

async function entries(port: KernelPort, dir: string): Promise<{ name: string; kind: string; path: string }[]> {
  const names = await port.readdir(dir);
  return Promise.all(names.map(async (name) => ({ name, path: joinPath(dir, name), kind: (await port.lstat(joinPath(dir, name))).kind })));
}

async function linkedController(port: KernelPort, dir: string): Promise<{ name: string; controller: string } | null> {
  for (const e of await entries(port, dir)) {
    if (e.kind !== 'symlink') continue;
    const t = classifyLink(e.path, await port.readlink(e.path));
    if (t.kind === 'controller') return { name: e.name, controller: t.name };
    throw new KernelDataError(e.path, `links to ${t.kind === 'other' ? t.path : `function ${t.driver}/${t.name}`}, not to a controller`);
  }
  return null;
}

/** One function directory. */
export async function observeFunction(port: KernelPort, driver: string, name: string): Promise<Omit<ObservedFunction, 'controllers'>> {
  const path = joinPath(FUNCTIONS, driver, name);
  const attributes: Record<string, AttributeRead> = {};
  let typeGroup: ObservedTypeGroup | null = null;
  const virtualFunctions: { name: string; function: string }[] = [];
  let primary: { name: string; controller: string } | null = null;
  let secondary: { name: string; controller: string } | null = null;
  for (const e of await entries(port, path)) {
    if (e.kind === 'file') attributes[e.name] = await readAttribute(port, e.path);
    else if (e.kind === 'dir' && e.name === 'primary') primary = await linkedController(port, e.path);
    else if (e.kind === 'dir' && e.name === 'secondary') secondary = await linkedController(port, e.path);
    else if (e.kind === 'dir') {
      if (typeGroup) throw new KernelDataError(path, `holds two type groups (${typeGroup.name}, ${e.name}); a function has at most one`);
      const attrs: Record<string, AttributeRead> = {};
      for (const a of await entries(port, e.path)) if (a.kind === 'file') attrs[a.name] = await readAttribute(port, a.path);
      typeGroup = { name: e.name, attributes: attrs };
    } else if (e.kind === 'symlink') {
      const t = classifyLink(e.path, await port.readlink(e.path));
      if (t.kind !== 'function') throw new KernelDataError(e.path, `links to ${t.kind === 'controller' ? `controller ${t.name}` : t.path}, where only virtual-function links belong`);
      virtualFunctions.push({ name: e.name, function: `${t.driver}/${t.name}` });
    }
  }
  return {
    driver,
    name,
    path,
    attributes,
    typeGroup,
    primary: primary?.controller ?? null,
    secondary: secondary?.controller ?? null,
    virtualFunctions: virtualFunctions.map((v) => v.function),
    links: { primary, secondary, virtualFunctions },
  };
}

/** One controller directory. */
export async function observeController(port: KernelPort, name: string): Promise<ObservedController> {
  const dir = joinPath(CONTROLLERS, name);
  const files: Record<string, AttributeRead> = {};
  const links: { name: string; function: string }[] = [];
  for (const e of await entries(port, dir)) {
    if (e.kind === 'file') files[e.name] = await readAttribute(port, e.path);
    else if (e.kind === 'symlink') {
      const t = classifyLink(e.path, await port.readlink(e.path));
      if (t.kind !== 'function') throw new KernelDataError(e.path, `links to ${t.kind === 'controller' ? `controller ${t.name}` : t.path}, not to a function`);
      links.push({ name: e.name, function: `${t.driver}/${t.name}` });
    }
  }
  return { name, files, functions: links.map((l) => l.function), links };
}

/**
 * The whole tree. `attempt` runs each entry's read and turns a broken one into a reported
 * problem (probe's attempter), so one bad function or controller spoils only itself.
 */
export async function observePciEp(port: KernelPort, attempt: <T>(fn: () => Promise<T>) => Promise<T | undefined>): Promise<PciEpState> {
  if (!(await port.exists(PCI_EP))) return { present: false, drivers: [], functions: [], controllers: [] };
  const drivers = ((await attempt(() => port.readdir(FUNCTIONS))) ?? []).sort();
  const controllers: ObservedController[] = [];
  for (const name of ((await attempt(() => port.readdir(CONTROLLERS))) ?? []).sort()) {
    const c = await attempt(() => observeController(port, name));
    if (c) controllers.push(c);
  }
  const functions: ObservedFunction[] = [];
  for (const driver of drivers)
    for (const name of ((await attempt(() => port.readdir(joinPath(FUNCTIONS, driver)))) ?? []).sort()) {
      const f = await attempt(() => observeFunction(port, driver, name));
      if (f) functions.push({ ...f, controllers: controllers.filter((c) => c.functions.includes(`${driver}/${name}`)).map((c) => c.name) });
    }
  return { present: true, drivers, functions, controllers };
}
