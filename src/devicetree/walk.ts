// The whole-tree walk behind DeviceTree's lookups when /sys/firmware/fdt cannot answer: every
// node listed, every phandle and compatible read once (drivers/of/kobj.c layout). Malformed
// values on unrelated nodes are noted, not thrown: a lookup blames them only when it could
// have meant that node.
import { DtParseError } from './decode.js';
import { compatibleFragments } from './boot-tree.js';
import type { DeviceTree } from './tree.js';

export interface TreeIndex {
  byPhandle: Map<number, string[]>;
  /** Phandle files that are not 4 bytes, tree order. */
  badPhandles: string[];
  /** Each node's compatible strings (leniently split), tree order. */
  compatible: { node: string; strings: string[] }[];
}

/** Nodes dtc adds for overlays; they hold bookkeeping, not hardware. */
const BOOKKEEPING = new Set(['__symbols__', '__fixups__', '__local_fixups__']);

/** Lists every node below the root (bookkeeping nodes left out) and reads its phandle and compatible. */
export async function walkTree(tree: DeviceTree): Promise<TreeIndex> {
  // Listings in parallel, then facts in tree (pre-)order, so the holders of a duplicate phandle
  // and the compatible lists keep the kernel's order.
  const collect = async (node: string): Promise<string[]> => {
    const l = await tree.listing(node);
    if (!l) return [];
    const kids = l.children.filter((c) => node !== '/' || !BOOKKEEPING.has(c));
    const subtrees = await Promise.all(kids.map((c) => collect(node === '/' ? `/${c}` : `${node}/${c}`)));
    return [node, ...subtrees.flat()];
  };
  const nodes = await collect('/');
  const facts = await Promise.all(
    nodes.map(async (node) => {
      const props = (await tree.listing(node))?.properties ?? [];
      const hasPhandle = props.includes('phandle') || props.includes('linux,phandle');
      // A malformed phandle or compatible on some unrelated node must not stop a lookup:
      // it is noted, and blamed only when a lookup could have meant that node.
      const phandle = hasPhandle ? await tolerate(tree.phandle(node), null) : undefined;
      const compat = props.includes('compatible') ? await tree.raw(node, 'compatible') : undefined;
      return { node, phandle, compatible: compat ? compatibleFragments(compat) : [] };
    }),
  );
  const index: TreeIndex = { byPhandle: new Map(), badPhandles: [], compatible: [] };
  for (const f of facts) {
    if (f.phandle === null) index.badPhandles.push(f.node);
    else if (f.phandle !== undefined) {
      const list = index.byPhandle.get(f.phandle);
      if (list) list.push(f.node);
      else index.byPhandle.set(f.phandle, [f.node]);
    }
    if (f.compatible.length) index.compatible.push({ node: f.node, strings: f.compatible });
  }
  return index;
}

/** The value, or `dflt` when reading it threw DtParseError. */
export async function tolerate<T, D>(p: Promise<T>, dflt: D): Promise<T | D> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof DtParseError) return dflt;
    throw e;
  }
}
