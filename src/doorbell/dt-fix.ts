// The device-tree changes a doorbell verdict asks for, as data, and their two written forms:
// a fragment for the board .dts (what a person pastes into the source) and a device-tree
// overlay (.dtso) a person compiles with `dtc -@` and applies with fdtoverlay or U-Boot's
// `fdt apply`. Both are rendered from the same edits, so they never disagree.

/** A node named in a fix: by its dtc label when the DTB has symbols, else by path. */
export interface NodeRef {
  path: string;
  label?: string;
  /** The node's phandle in this board's DTB, for overlays on a DTB built without symbols. */
  phandle?: number;
}

export type Cell = number | NodeRef;

export type DtEdit =
  | { prop: string; cells: Cell[] }
  | { prop: string; string: string }
  /** An overlay cannot delete: `overlay` is the edit that has the same effect there, if any. */
  | { prop: string; delete: true; overlay?: { cells: Cell[] } };

export interface DtFix {
  node: NodeRef;
  edits: DtEdit[];
}

/** A cell as dtc writes it. */
export const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
/** A node reference: `&label`, or `&{/path}` without one. */
export const nodeRef = (n: { path: string; label?: string | undefined }): string => (n.label ? `&${n.label}` : `&{${n.path}}`);

/** A property value reference: in an overlay, a node without a label is named by its phandle. */
function cellText(c: Cell, overlay: boolean): string {
  if (typeof c === 'number') return hex(c);
  if (c.label || !overlay) return nodeRef(c);
  if (c.phandle !== undefined) return `${hex(c.phandle)} /* phandle of ${c.path} in this DTB */`;
  throw new Error(`no label or phandle for ${c.path}`);
}

function editLine(e: DtEdit, overlay: boolean): string {
  if ('delete' in e) {
    if (overlay && e.overlay) return editLine({ prop: e.prop, cells: e.overlay.cells }, true);
    return `/delete-property/ ${e.prop};`;
  }
  if ('string' in e) return `${e.prop} = ${JSON.stringify(e.string)};`;
  return `${e.prop} = <${e.cells.map((c) => cellText(c, overlay)).join(' ')}>;`;
}

function block(fix: DtFix, overlay: boolean): string {
  return `${nodeRef(fix.node)} {\n${fix.edits.map((e) => `\t${editLine(e, overlay)}`).join('\n')}\n};`;
}

/** The fragment for the board .dts. */
export function renderDts(fixes: readonly DtFix[]): string {
  return fixes.map((f) => block(f, false)).join('\n');
}

/**
 * Can this fix be written as an overlay? An overlay cannot delete a property (fdtoverlay and
 * U-Boot only add and replace), and a reference to a node needs its label (the base DTB built
 * with `dtc -@`) or its phandle.
 */
export function overlayable(fix: DtFix): boolean {
  const named = (cells: Cell[]): boolean => cells.every((c) => typeof c === 'number' || !!c.label || c.phandle !== undefined);
  return fix.edits.every((e) => ('delete' in e ? !!e.overlay && named(e.overlay.cells) : 'cells' in e ? named(e.cells) : true));
}

/** A .dtso holding every fix; `header` lines become comments at the top. */
export function renderDtso(fixes: readonly DtFix[], header: readonly string[]): string {
  const head = header.map((l) => `// ${l}`);
  // With no fragment dtc needs a node to parse: an empty root is an overlay that changes nothing.
  const body = fixes.length ? fixes.map((f) => block(f, true)) : ['/ {', '};'];
  return [...head, '/dts-v1/;', '/plugin/;', '', ...body, ''].join('\n');
}
