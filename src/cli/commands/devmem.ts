// `epctl devmem ADDR [WIDTH [VALUE]]`: one read, or one write and its read-back, of a physical
// address with an exact access width, inside the device tree's reg ranges (src/devmem/devmem.ts).
// On a board it runs busybox devmem; with --mock it reaches the simulated board's physical bus.
import type { Command } from 'commander';
import type { KernelPort } from '../../kernel/port.js';
import { EXIT } from '../../exit-codes.js';
import { UsageError, withBoard, type CommandSpec, type Run } from '../context.js';
import { writeOut } from '../output.js';
import type { DevmemResult } from '../../devmem/devmem.js';

export const spec: CommandSpec = { name: 'devmem', readsBoard: true };

export function renderDevmem(r: DevmemResult): string {
  const lines: string[] = [];
  if (r.access === 'read') lines.push(`${r.address}: ${r.read}  (${r.width}-bit read)`);
  else {
    lines.push(`${r.address}: wrote ${r.written}  (${r.width}-bit write)`);
    if (r.read === null) lines.push(`${r.address}: not read back (--no-read-back)`);
    else
      lines.push(
        `${r.address}: read back ${r.read}${r.readBackDiffers ? '  (differs from the value written: normal for write-1-to-clear, self-clearing, write-only or FIFO registers)' : ''}`,
      );
  }
  if (r.reg) lines.push(`  in ${r.reg.node} reg[${r.reg.index}]${r.reg.name ? ` "${r.reg.name}"` : ''}: ${r.reg.base} + ${r.reg.size} (${r.reg.kind})`);
  else lines.push('  in no device-tree reg range');
  if (r.forced) {
    if (r.forced.length === 0) lines.push('  --force skipped nothing: the access passed every check');
    for (const f of r.forced) lines.push(`  --force skipped: ${f}`);
  }
  lines.push(`  on ${r.origin}`);
  return lines.join('\n') + '\n';
}

export function register(program: Command, run: Run): void {
  program
    .command(spec.name)
    .argument('<addr>', 'physical address: 0x-hex or decimal, up to 64 bits, aligned to WIDTH')
    .argument('[width]', 'access width in bits: 8, 16, 32 or 64 (or busybox\'s b, h, w, l); default 32')
    .argument('[value]', 'write this value (0x-hex or decimal, must fit WIDTH), then read the address back')
    .description('Read or write one 8/16/32/64-bit word of physical memory, inside the device tree\'s reg ranges.')
    .option('--force', 'skip the range checks (outside every reg range, a write into plain RAM); the result lists what was skipped')
    .option('--no-read-back', 'after a write, do not read the address back (a FIFO or read-to-clear register)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Each access is one load or store of exactly WIDTH bits (busybox devmem on the board, which maps
/dev/mem: read(2) of /dev/mem promises no width and reaches only RAM on arm64). With --mock it
reaches the simulated board's physical bus instead; a recording (--root) has no memory to read.

Checks, before anything is read or written (refusals exit 64):
  - ADDR is a multiple of WIDTH/8: an unaligned access to device memory faults on arm64
    (--force does not lift this);
  - [ADDR, ADDR + WIDTH/8) lies inside ONE reg entry of an enabled device-tree node, translated
    through its buses' ranges; the result names the node and the entry;
  - a write into plain RAM (/memory, outside /reserved-memory and device ranges) or into a
    reusable (CMA) /reserved-memory pool is refused: it can corrupt the running kernel.
--force skips the last two and lists exactly what it skipped (a forced write outside every reg
range that lands in /proc/iomem's System RAM, as on an EFI boot without /memory, is listed too).

A write is read back, and both values are shown. The read-back of a write-1-to-clear, self-
clearing, write-only or FIFO register may differ from what was written: that is not an error
(use --no-read-back where even a read has a side effect, such as popping a FIFO).

Examples:
  epctl devmem 0x08090040 --mock qemu-virt      read the ITS's GITS_TRANSLATER (ITS base + 0x10040)
  epctl devmem 0x08090040 32 0                  ring the QEMU lane's doorbell: write DB_DATA 0 there
  epctl devmem 0x4c300000 w --json              read an i.MX95 EP's first dbi register, for a script
  epctl devmem 0x7e400840 32                    a Cadence EP's BAR0 inbound address (reg + 0x400840)
  epctl devmem 0x48000000 64 --force            an address the device tree does not describe

On a board epctl needs root, busybox (its devmem applet) on PATH, /dev/mem (CONFIG_DEVMEM) and,
for RAM or a claimed MMIO region, CONFIG_STRICT_DEVMEM off (or iomem=relaxed for MMIO).
It exits 0, 64 for a bad argument or a refused access, 1 when the access itself failed (a bus
error: nothing answers there), 7 when the device tree cannot be read.`,
    )
    .action((addr: string, width: string | undefined, value: string | undefined, _opts, cmd: Command) =>
      run(spec, cmd, async (ctx) => {
        if (ctx.board?.kind === 'root')
          throw new UsageError('`epctl devmem` cannot run on a recorded board (--root): a recording holds files, not physical memory', 'run it on the board itself, or on a simulated one with --mock BOARD');
        const opts = cmd.opts() as { force?: boolean; readBack?: boolean };
        const { devmem, parseRequest } = await import('../../devmem/devmem.js');
        const req = parseRequest(addr, width, value);
        if (opts.readBack === false && req.value === undefined) throw new UsageError('--no-read-back only applies to a write', 'give a VALUE to write, or drop --no-read-back');
        const access = (port: KernelPort) => devmem(port, { ...req, force: opts.force === true, noReadBack: opts.readBack === false });
        // A write holds the board's lock, as apply and the simulated host do: two writers to one
        // --mock-state must not lose each other's changes.
        const result =
          req.value === undefined
            ? await withBoard(ctx, access)
            : await (await import('../board-change.js')).withBoardChange(ctx, { lock: true }, ({ port }) => access(port));
        writeOut(ctx.json ? JSON.stringify(result, null, 2) + '\n' : renderDevmem(result));
        return EXIT.OK;
      }),
    );
}
