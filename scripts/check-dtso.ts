// Holds `epctl probe --dtso` to the real device-tree tools: for every built-in board and kernel,
// the overlay probe prints is compiled with dtc, applied with fdtoverlay to the board's own
// flattened tree (the fake's /sys/firmware/fdt), and every edit it promised is read back from
// the result. Needs dtc and fdtoverlay (Debian: device-tree-compiler); run by .ci/run.
// Usage: node scripts/run-ts.mjs scripts/check-dtso.ts
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BOARDS } from '../src/boards/index.js';
import { createFakeKernel } from '../src/fake/index.js';
import { probe } from '../src/probe/probe.js';
import { dtsoOf } from '../src/cli/commands/probe.js';
import { overlayable, type Cell } from '../src/doorbell/dt-fix.js';
import { parseFdt } from '../src/devicetree/fdt.js';

for (const tool of ['dtc', 'fdtoverlay'])
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
  } catch {
    console.error(`check-dtso: ${tool} is missing; install it (apt-get install device-tree-compiler)`);
    process.exit(1);
  }

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'epctl-dtso-'));
let checked = 0;
let overlays = 0;
let failures = 0;
try {
  for (const board of Object.values(BOARDS))
    for (const kernel of ['6.12', '7.3']) {
      const k = createFakeKernel({ board: board.name, kernel });
      const state = await probe(k);
      const fixes = state.controllers.flatMap((c) => c.doorbell.dtFix ?? []).filter(overlayable);
      const base = path.join(work, 'base.dtb');
      const src = path.join(work, 'fix.dtso');
      fs.writeFileSync(base, await k.read('/sys/firmware/fdt'));
      fs.writeFileSync(src, dtsoOf(state));
      // Every board's output compiles and applies, also when it changes nothing.
      execFileSync('dtc', ['-q', '-@', '-I', 'dts', '-O', 'dtb', '-o', path.join(work, 'fix.dtbo'), src]);
      execFileSync('fdtoverlay', ['-i', base, '-o', path.join(work, 'out.dtb'), path.join(work, 'fix.dtbo')]);
      overlays++;
      const out = parseFdt(fs.readFileSync(path.join(work, 'out.dtb')), 'out.dtb');
      const phandleOf = (c: Cell): number => {
        if (typeof c === 'number') return c;
        const id = out.idOf(c.path);
        const v = id === undefined ? undefined : out.value(id, 'phandle');
        if (!v) throw new Error(`${c.path} has no phandle in the result`);
        return new DataView(v.buffer, v.byteOffset).getUint32(0);
      };
      for (const f of fixes) {
        const id = out.idOf(f.node.path);
        for (const e of f.edits) {
          const cells = 'cells' in e ? e.cells : 'delete' in e ? e.overlay!.cells : undefined;
          const want = cells ? Buffer.concat(cells.map((c) => Buffer.from(new Uint32Array([phandleOf(c)]).buffer).reverse())) : Buffer.from(`${(e as { string: string }).string}\0`);
          const got = id === undefined ? undefined : out.value(id, e.prop);
          checked++;
          if (!got || !Buffer.from(got).equals(want)) {
            failures++;
            console.error(`${board.name} ${kernel}: ${f.node.path} ${e.prop}: expected ${want.toString('hex')}, found ${got ? Buffer.from(got).toString('hex') : 'nothing'}`);
          }
        }
      }
    }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`check-dtso: ${overlays} overlays compiled with dtc and applied with fdtoverlay; ${checked} edits read back, ${failures} wrong`);
process.exit(failures ? 1 : 0);
