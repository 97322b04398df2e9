// The README's first command: the whole doorbell story on the simulated i.MX95, no hardware.
// Each step is a plain epctl command (printed before it runs, as a person would type it) against
// one simulated board kept in a --mock-state file in a temporary directory, removed at the end:
//   1. probe: the controllers and their doorbell verdicts;
//   2. apply: a vNTB function with four doorbells on pcie0, every write read back, the doorbell
//      rows proven in /proc/interrupts;
//   3. the simulated host rings every doorbell three times, as ntb_hw_epf would;
//   4. doorbell status: the virqs, their per-CPU counts, ready, and the host-side commands.
// It exits with the first failing step's code.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const epctl = path.join(root, 'dist', 'epctl.js');
const dir = mkdtempSync(path.join(tmpdir(), 'epctl-demo-'));
const board = ['--mock', 'imx95', '--mock-state', path.join(dir, 'imx95.json')];
const shown = (args) => ['epctl', ...args.map((a) => (a.startsWith(dir) ? `board.json` : a.startsWith(root) ? path.relative(root, a) : a))].join(' ');

const steps = [
  ['what the board is, and where its doorbells can work', ['probe', '--mock', 'imx95']],
  ['a vNTB function with 4 doorbells on pcie0, read back and proven', ['apply', ...board, '-c', path.join(root, 'examples', 'imx95-vntb.yaml'), '--yes']],
  ['the simulated host rings each doorbell 3 times (ntb_hw_epf writes db_data[i] at db_offset[i])', ['mock', 'host', 'ring', ...board, '--count', '3']],
  ['the doorbells as the kernel shows them: virqs, per-CPU counts, ready', ['doorbell', 'status', ...board]],
];

// Ctrl-C reaches the running epctl too (one process group); the demo then stops after it and
// still removes its directory.
let stopped = '';
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => (stopped = sig));

let code = 0;
try {
  for (const [why, args] of steps) {
    if (stopped) {
      code = 130;
      break;
    }
    process.stdout.write(`\n# ${why}\n$ ${shown(args)}\n`);
    code = await new Promise((done) => {
      const child = spawn(process.execPath, [epctl, ...args], { stdio: 'inherit' });
      child.on('close', (status) => done(status ?? 1));
      child.on('error', () => done(1));
    });
    if (stopped) {
      code = 130;
      break;
    }
    if (code !== 0) {
      process.stderr.write(`demo: \`${shown(args)}\` exited ${code}\n`);
      break;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = code;
