// probe on boards whose device tree holds what the kernel would not write: each broken file is
// named as a problem (exit 7) and spoils only the verdict that depends on it; and probe reads
// the device tree through /sys/firmware/fdt, with the same answer as the directory walk.
import { describe, expect, it } from 'vitest';
import { createFakeKernel } from '../../src/fake/index.js';
import { probe, exitCodeOf } from '../../src/probe/probe.js';
import { BOARDS } from '../../src/boards/index.js';
import type { BoardProfile } from '../../src/boards/types.js';
import { cells, node, str, type DtNodeSpec } from '../../src/devicetree/spec.js';
import type { KernelPort } from '../../src/kernel/port.js';

const BASE = '/sys/firmware/devicetree/base';

/** The i.MX95 profile with `edit` applied to its /soc children and root children. */
function imx95With(edit: (root: Record<string, DtNodeSpec>, soc: Record<string, DtNodeSpec>) => void): BoardProfile {
  const board = BOARDS['imx95']!;
  const root = { ...board.dt.children };
  const soc = { ...root['soc']!.children };
  edit(root, soc);
  root['soc'] = { ...root['soc']!, children: soc };
  return { ...board, dt: { ...board.dt, children: root } };
}

/** A port that counts the device-tree files probe opens or lists. */
function counting(port: KernelPort): { port: KernelPort; dtOps: () => number } {
  let n = 0;
  const wrap = <A extends unknown[], R>(f: (p: string, ...a: A) => R) => (p: string, ...a: A): R => {
    if (p.startsWith(BASE)) n++;
    return f(p, ...a);
  };
  const p: KernelPort = Object.create(port);
  for (const op of ['read', 'readdir', 'lstat', 'stat', 'exists'] as const) (p as unknown as Record<string, unknown>)[op] = wrap((port[op] as (x: string) => unknown).bind(port));
  return { port: p, dtOps: () => n };
}

describe('probe and the device tree', () => {
  it('names both phandle files when two nodes hold the ITS phandle, and does not blame the msi-map', async () => {
    const itsPath = Object.keys(BOARDS['imx95']!.dt.children['interrupt-controller@48000000']!.children)[0]!;
    const gicPath = `/interrupt-controller@48000000/${itsPath}`;
    const state = await probe(createFakeKernel({ board: imx95With((root) => {
      const gic = root['interrupt-controller@48000000']!;
      const its = gic.children[itsPath]!;
      root['interrupt-controller@48000000'] = { ...gic, children: { [itsPath]: { ...its, props: { ...its.props, phandle: cells(0x77) } } } };
      root['mailbox@0'] = node({ compatible: str('x,mbox'), phandle: cells(0x77) });
    }) }));
    expect(exitCodeOf(state)).toBe(7);
    const dup = state.problems.filter((p) => p.code === 'bad-device-tree');
    expect(dup.length).toBeGreaterThan(0);
    for (const p of dup) {
      expect(p.path).toBe(`${BASE}${gicPath}/phandle`);
      expect(p.message).toContain(`${BASE}/mailbox@0/phandle`);
      expect(p.message).not.toContain('msi-map');
    }
    expect(state.controllers.every((c) => c.doorbell.capable === false && c.doorbell.mode === 'unknown' && c.doorbell.code === 'unreadable')).toBe(true);
  });

  it('reports an EP node status outside the specification as a problem, not as a disabled idle node', async () => {
    const state = await probe(createFakeKernel({ board: imx95With((_, soc) => {
      const name = Object.keys(soc).find((n) => n.startsWith('pcie-ep@'))!;
      soc['pcie-ep@4c3a0000'] = { ...soc[name]!, label: 'extra_ep', props: { ...soc[name]!.props, status: str('okya') } };
    }) }));
    expect(state.problems).toContainEqual(expect.objectContaining({ code: 'bad-device-tree', exitCode: 7, path: `${BASE}/soc/pcie-ep@4c3a0000/status` }));
    expect(state.idleEpNodes.map((n) => n.path)).not.toContain('/soc/pcie-ep@4c3a0000');
    expect(state.controllers.every((c) => c.doorbell.capable === true)).toBe(true);
  });

  it('reads a handful of device-tree files with /sys/firmware/fdt and gives the same answer as the walk', async () => {
    const withBlob = counting(createFakeKernel({ board: 'imx95' }));
    const withoutK = createFakeKernel({ board: 'imx95' });
    withoutK.injectFault({ op: 'read', path: '/sys/firmware/fdt', errno: 'ENOENT' });
    const without = counting(withoutK);
    const a = await probe(withBlob.port);
    const b = await probe(without.port);
    expect(a).toEqual(b);
    expect(withBlob.dtOps()).toBeLessThan(without.dtOps() / 3);
  });
});
