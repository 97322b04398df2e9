// Seeded differential Op lists (fast-check): a stateful walk over the pci_ep tree that reaches
// deep states (functions set up, linked through each route, controllers started, VF links) and
// mixes in everything a shell can do there, valid or not. It never sees results: it tracks
// what may exist, and every Op passes the HazardGuard (./hazards.ts) before it is kept.
import fc from 'fast-check';
import { HazardGuard, type HazardProfile } from './hazards.js';
import { TYPE_GROUP, type Op } from './ops.js';
import { ATTRIBUTE_KIND, FUNCTION_ATTRIBUTE_NAMES, TYPE_GROUP_ATTRIBUTES, VALUE_ARBITRARIES, type ValueKind } from './values.js';

/** The seed, the size and the kernel's vocabulary a list is generated for. */
export interface GenerateOptions extends HazardProfile {
  seed: number;
  /** At least this many Ops. */
  count: number;
  /** The functions/ entries of the kernel under test (pci_epf_test, pci_epf_vntb, …). */
  drivers: readonly string[];
  /** The controllers/ entries. */
  controllers: readonly string[];
}

/** One step's random draws: choices and one value of every kind. */
interface Draw {
  k: number;
  a: number;
  b: number;
  c: number;
  v: Record<ValueKind, string>;
}

const drawArb: fc.Arbitrary<Draw> = fc.record({
  // Choices uniform (fast-check biases small numbers, which would starve later list entries).
  k: fc.noBias(fc.nat(9999)),
  a: fc.noBias(fc.nat()),
  b: fc.noBias(fc.nat()),
  c: fc.noBias(fc.nat()),
  v: fc.record(VALUE_ARBITRARIES as Record<ValueKind, fc.Arbitrary<string>>),
});

const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length]!;

interface Fn {
  driver: string;
  name: string;
  dir: string;
}

/** What the walk believes may exist; nothing here is known for sure. */
class Walk {
  readonly fns: Fn[] = [];
  /** Link paths made (any kind) and not yet unlinked. */
  links: string[] = [];
  private names = 0;
  private linkNames = 0;

  constructor(readonly o: GenerateOptions) {}

  /** The functions most ops go to: the most recent few. */
  get active(): Fn[] {
    return this.fns.slice(-6);
  }
  newFn(d: Draw): Fn {
    const driver = pick(this.o.drivers, d.a);
    // Any name is accepted (pci-ep-cfs.c), a space too; never reused, so "linked once" stays per name.
    const n = this.names++;
    const name = d.b % 17 === 0 ? `func ${n}` : d.b % 13 === 0 ? `f.${n}` : `f${n}`;
    const fn = { driver, name, dir: `functions/${driver}/${name}` };
    this.fns.push(fn);
    return fn;
  }
  linkName(): string {
    return `l${this.linkNames++}`;
  }
  anyFn(d: Draw): Fn | undefined {
    const pool = d.c % 8 === 0 ? this.fns : this.active;
    return pool.length === 0 ? undefined : pick(pool, d.a);
  }
  attrPath(fn: Fn, d: Draw): string {
    const group = TYPE_GROUP_ATTRIBUTES[fn.driver] ?? [];
    if (group.length > 0 && d.b % 5 < 2) return `${fn.dir}/${TYPE_GROUP}/${pick(group, d.c)}`;
    return `${fn.dir}/${pick(FUNCTION_ATTRIBUTE_NAMES, d.c)}`;
  }
  valueFor(path: string, d: Draw): string {
    const kind = ATTRIBUTE_KIND[path.slice(path.lastIndexOf('/') + 1)] ?? 'u32';
    return d.v[kind];
  }
  /** A path anywhere in the tree, existing or not. */
  anyPath(d: Draw): string {
    const fn = this.anyFn(d);
    const epc = pick(this.o.controllers, d.b);
    const choices = [
      '',
      'functions',
      'controllers',
      `controllers/${epc}`,
      `controllers/${epc}/start`,
      `functions/${pick(this.o.drivers, d.c)}`,
      ...(fn ? [fn.dir, `${fn.dir}/primary`, `${fn.dir}/secondary`, `${fn.dir}/${TYPE_GROUP}`, this.attrPath(fn, d), `${fn.dir}/nofile`] : []),
      ...this.links,
    ];
    return pick(choices, d.k);
  }
}

/** Valid settings that let a bind succeed: interrupts in range, vNTB doorbells and a window. */
function setUp(fn: Fn, d: Draw): Op[] {
  const w = (attr: string, data: string): Op => ({ op: 'write', path: `${fn.dir}/${attr}`, data });
  const ops: Op[] = [w('msi_interrupts', `${1 + (d.a % 32)}\n`), w('msix_interrupts', `${1 + (d.b % 2048)}\n`)];
  if (fn.driver === 'pci_epf_vntb' || fn.driver === 'pci_epf_ntb') {
    const g = (attr: string, v: string): Op => w(`${TYPE_GROUP}/${attr}`, v);
    const mws = 1 + (d.b % 2);
    ops.push(g('db_count', `${3 + (d.a % 30)}\n`), g('num_mws', `${mws}\n`), g('spad_count', `${d.c % 64}\n`));
    for (let i = 1; i <= mws; i++) ops.push(g(`mw${i}`, `${0x1000 << (d.c + i) % 9}\n`));
    // BARs by hand for a second window (automatic ones fail there on the lane's EPC), or now and then for one.
    if (mws === 2 || d.a % 3 === 0) for (let i = 1; i <= mws; i++) ops.push(g(`mw${i}_bar`, `${1 + i}\n`));
    if (fn.driver === 'pci_epf_vntb') ops.push(g('vntb_vid', '0x1957\n'), g('vntb_pid', '0x080a\n'), g('vbus_number', `${d.a % 256}\n`));
  }
  if (fn.driver === 'pci_epf_test' && d.c % 3 === 0) ops.push(w(`${TYPE_GROUP}/bar${d.a % 6}_size`, `${1 << (12 + (d.b % 8))}\n`));
  return ops;
}

/** A link of `fn` to an EPC through one route (controllers/, primary/, secondary/). */
function linkOp(walk: Walk, fn: Fn, d: Draw, route = d.k % 3): Op {
  const epc = pick(walk.o.controllers, d.b);
  if (route === 1 && walk.o.subLinkUnlinkSafe) return { op: 'symlink', path: `${fn.dir}/primary/${walk.linkName()}`, target: `controllers/${epc}` };
  if (route === 2 && fn.driver === 'pci_epf_test') return { op: 'symlink', path: `${fn.dir}/secondary/${walk.linkName()}`, target: `controllers/${epc}` };
  return { op: 'symlink', path: `controllers/${epc}/${walk.linkName()}`, target: fn.dir };
}

/** The same draw's values, each kind taking another kind's text (odd sweep entries differ from even ones). */
function swapped(v: Record<ValueKind, string>): Partial<Record<ValueKind, string>> {
  return { u8: v.u16, u16: v.u8, msi: v.msix, msix: v.msi, barSize: v.mw, mw: v.barSize, dbCount: v.spadCount, spadCount: v.dbCount, numMws: v.bar, bar: v.numMws, u32: v.vid, vid: v.u32 };
}

/** The Ops of one step of the walk (before the hazard guard). */
function step(walk: Walk, d: Draw): Op[] {
  const epc = pick(walk.o.controllers, d.c);
  const fn = walk.anyFn(d);
  const r = d.k % 100;
  if (r < 6 || !fn) return [{ op: 'mkdir', path: walk.newFn(d).dir }];
  if (r < 11) {
    // Bring a new function up: set up, link, maybe start.
    const f = walk.newFn(d);
    const ops: Op[] = [{ op: 'mkdir', path: f.dir }, ...setUp(f, d), linkOp(walk, f, d, d.a % 2)];
    if (d.b % 2 === 0) ops.push({ op: 'write', path: `controllers/${epc}/start`, data: '1\n' });
    ops.push({ op: 'interrupts' });
    return ops;
  }
  if (r < 31) {
    const path = walk.attrPath(fn, d);
    return [{ op: 'write', path, data: walk.valueFor(path, d) }];
  }
  if (r < 38) return [{ op: 'read', path: walk.attrPath(fn, d) }];
  if (r < 41) {
    // Sweep: every attribute of the function and its type group, each written and read back.
    const paths = [...FUNCTION_ATTRIBUTE_NAMES.map((a) => `${fn.dir}/${a}`), ...(TYPE_GROUP_ATTRIBUTES[fn.driver] ?? []).map((a) => `${fn.dir}/${TYPE_GROUP}/${a}`)];
    return paths.flatMap((path, i): Op[] => [{ op: 'write', path, data: walk.valueFor(path, { ...d, v: i % 2 === 0 ? d.v : { ...d.v, ...swapped(d.v) } }) }, { op: 'read', path }]);
  }
  if (r < 45) return [{ op: 'write', path: `controllers/${epc}/start`, data: d.v.bool }];
  if (r < 47) return [{ op: 'read', path: `controllers/${epc}/start` }];
  if (r < 52) return [linkOp(walk, fn, d)];
  if (r < 54) {
    const vf = walk.anyFn({ ...d, a: d.b });
    return vf ? [{ op: 'symlink', path: `${fn.dir}/${walk.linkName()}`, target: vf.dir }] : [];
  }
  if (r < 59) {
    if (walk.links.length === 0) return [];
    return [{ op: 'unlink', path: pick(walk.links, d.a) }];
  }
  if (r < 62) {
    // Tear a function down in the kernel's order: stop, unlink, rmdir.
    const mine = walk.links.filter((l) => l.startsWith(`${fn.dir}/`));
    return [{ op: 'write', path: `controllers/${epc}/start`, data: '0\n' }, ...walk.links.filter((l) => l.startsWith('controllers/')).slice(0, 2).map((path): Op => ({ op: 'unlink', path })), ...mine.map((path): Op => ({ op: 'unlink', path })), { op: 'rmdir', path: fn.dir }];
  }
  if (r < 66) return [{ op: 'rmdir', path: fn.dir }];
  if (r < 71) return [{ op: 'readdir', path: walk.anyPath(d) }];
  if (r < 76) return [{ op: 'lstat', path: walk.anyPath(d) }];
  if (r < 78) return [{ op: 'readlink', path: d.a % 3 === 0 || walk.links.length === 0 ? walk.anyPath(d) : pick(walk.links, d.b) }];
  if (r < 82) {
    const where = [`${fn.dir}/newfile`, `functions/${fn.driver}/nofunc`, `controllers/${epc}/x`, walk.attrPath(fn, d), fn.dir, `${fn.dir}/primary/x`];
    return [{ op: 'create', path: pick(where, d.b), ...(d.c % 4 === 0 ? { exclusive: true } : {}) }];
  }
  if (r < 85) {
    const from = pick([fn.dir, walk.attrPath(fn, d), ...walk.links], d.b);
    const to = pick([`${fn.dir}x`, `${fn.dir}/renamed`, `${fn.dir}/primary`, from, `functions/${fn.driver}`, `${fn.dir}/vendorid`], d.c);
    return [{ op: 'rename', path: from, to }];
  }
  if (r < 89) {
    // mkdir where no make_group is: in a function, in primary/, controllers/, pci_ep/, functions/, an existing name.
    const where = [`${fn.dir}/sub`, `${fn.dir}/primary/x`, `controllers/x`, 'x', 'functions/not_a_driver', fn.dir, `controllers/${epc}/x`];
    return [{ op: 'mkdir', path: pick(where, d.b) }];
  }
  if (r < 91) return [{ op: 'rmdir', path: pick([`${fn.dir}/primary`, `${fn.dir}/secondary`, `functions/${fn.driver}`, 'functions', 'controllers', `${fn.dir}/${TYPE_GROUP}`, `controllers/${epc}`], d.b) }];
  if (r < 93) return [{ op: 'unlink', path: pick([walk.attrPath(fn, d), `controllers/${epc}/start`, fn.dir], d.b) }];
  if (r < 96) return [{ op: 'interrupts' }];
  // A link placed where none may go (controllers/ itself) or a VF link to a missing function.
  return [pick<Op>([{ op: 'symlink', path: `controllers/${walk.linkName()}`, target: fn.dir }, { op: 'symlink', path: `${fn.dir}/${walk.linkName()}`, target: 'functions/pci_epf_test/missing' }], d.b)];
}

/** A seeded Op list of at least `count` Ops that the hazard guard admits. */
export function generateOps(opts: GenerateOptions): Op[] {
  const stream = fc.sample(fc.infiniteStream(drawArb), { seed: opts.seed, numRuns: 1 })[0]!;
  const walk = new Walk(opts);
  const guard = new HazardGuard(opts);
  const ops: Op[] = [];
  for (const d of stream) {
    if (ops.length >= opts.count) break;
    for (const op of step(walk, d)) {
      if (guard.refuse(op)) continue;
      guard.admit(op);
      ops.push(op);
      if (op.op === 'symlink') walk.links.push(op.path);
      if (op.op === 'unlink') walk.links = walk.links.filter((l) => l !== op.path);
    }
  }
  return ops;
}
