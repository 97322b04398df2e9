// `epctl doorbell`: the RC-to-EP doorbell command group. `doorbell status` shows each
// controller's doorbell functions, their doorbells, readiness and the link state
// (src/doorbell/status.ts); with --wait-ready it polls until every doorbell function is ready
// (exit 0) or the timeout passes (exit 75, EX_TEMPFAIL), saying why not.
import type { Command } from 'commander';
import { addWatchCommand } from './doorbell-watch.js';
import { UsageError, withBoard, type CommandSpec, type Run } from '../context.js';
import { writeErr, writeOut } from '../output.js';
import { EXIT } from '../../exit-codes.js';
import { renderDoorbellStatus } from '../render/doorbell.js';
import type { DoorbellStatus } from '../../doorbell/status.js';
import { formatOption, renderReport, reportFormat, reportingFailure, suiteOf } from '../report-format.js';
import { doorbellChecks } from '../../report/checks.js';

/** The group, as main.ts's usage errors name it (`epctl doorbell --help`). */
export const spec: CommandSpec = { name: 'doorbell', readsBoard: true };
const statusSpec: CommandSpec = { name: 'doorbell status', readsBoard: true };

const DEFAULT_TIMEOUT_S = 30;
const MAX_TIMEOUT_S = 86_400;
/** Between two looks at the board while waiting. */
const POLL_MS = 500;
/** How long a look waits for another run's lock on a simulated board, at least. */
const LOCK_WAIT_MS = 10_000;

/** --timeout S: seconds, a decimal from 0 (look once) to a day. */
export function parseTimeout(text: string): number {
  const s = /^\d{1,6}(\.\d{1,3})?$/.test(text) ? Number(text) : NaN;
  if (!(s >= 0 && s <= MAX_TIMEOUT_S)) throw new UsageError(`--timeout ${text} is not a number of seconds from 0 to ${MAX_TIMEOUT_S}`, `give the seconds to wait, e.g. --timeout ${DEFAULT_TIMEOUT_S}`);
  return s;
}

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

export function register(program: Command, run: Run): void {
  const group = program
    .command(spec.name)
    .description('RC-to-EP doorbells: what each linked function has, whether it is ready, and how the host rings it.')
    .addHelpText(
      'after',
      `
Examples:
  epctl doorbell status --mock qemu-virt
  epctl doorbell status --wait-ready --timeout 60 && ./run-host-test
  epctl doorbell watch --json --count 100`,
    );
  registerStatus(group, run);
  addWatchCommand(group, run);
}

function registerStatus(group: Command, run: Run): void {
  group
    .command('status')
    .description('Show, per controller and linked function, the doorbell IRQs, their mode, readiness, the link state and the host commands.')
    .option('--json', 'print the result as JSON')
    .option('--wait-ready', 'poll until every doorbell function is ready (exit 0) or --timeout passes (exit 75)')
    .option('--timeout <seconds>', `how long --wait-ready waits (default ${DEFAULT_TIMEOUT_S}; 0 looks once)`)
    .addOption(formatOption())
    .addHelpText(
      'after',
      `
Modes: its (vNTB's MSI doorbells are in /proc/interrupts on ITS-pMSI-<epc>), polled (vNTB bound
without them: its silent fallback to polling), on-demand (pci-epf-test: the doorbell exists only
between the host's ENABLE_DOORBELL and DISABLE_DOORBELL), none.

Ready: a doorbell is ready only once its irq has a handler (its row shows the action name), never
before. vNTB: db_count rows pci_epf_vntb_db. pci-epf-test: ready to be enabled (linked, controller
started, doorbell capable); the host's ENABLE makes the doorbell.

The link state comes from DesignWare debugfs (dwc_pcie_<epc>/ltssm_status, Linux 6.15+): L0 is a
link up, so "no doorbell events" can be told apart from "no link". Other controllers say why
there is no reading.

Examples:
  epctl doorbell status --mock qemu-virt
  epctl doorbell status --json
  epctl doorbell status --wait-ready --timeout 60   in a script, before the host runs its test
  epctl doorbell status --format tap                for a board farm; --format junit for CI

--format's checks: kernel release known, configfs mounted, pci_ep in configfs, endpoint
controllers, device tree readable, kernel data readable, doorbell functions exist; per
controller its doorbell verdict, link up (skipped where no link-state reading exists) and no
unclaimed doorbell rows; per function doorbell ready (skipped for drivers without doorbells).

It exits 0, 75 when --wait-ready timed out before every doorbell function was ready (the
reasons are printed), or the code of the first problem met while reading the board.`,
    )
    .action((_opts, cmd: Command) =>
      run(statusSpec, cmd, async (ctx) => {
        const opts = cmd.opts() as { waitReady?: boolean; timeout?: string };
        if (opts.timeout !== undefined && !opts.waitReady) throw new UsageError('--timeout only applies with --wait-ready', `add --wait-ready, or drop --timeout ${opts.timeout}`);
        const timeout = opts.timeout === undefined ? DEFAULT_TIMEOUT_S : parseTimeout(opts.timeout);
        const format = reportFormat(cmd, ctx);
        const { doorbellStatus, doorbellStatusExitCode } = await import('../../doorbell/status.js');
        const deadline = Date.now() + timeout * 1000;
        // Each look opens the board anew, so what another run (apply) changes is seen. A
        // simulated board kept in --mock-state is read at open and written back at close: the
        // look holds the board's lock, so it never writes back a state older than that run's.
        const look = async (): Promise<DoorbellStatus> => {
          const { acquireLock } = await import('../../state/lock.js');
          const lock = ctx.board?.kind === 'mock' && ctx.lockFile !== undefined ? await acquireLock(ctx.lockFile, ctx.command, Math.max(LOCK_WAIT_MS, deadline - Date.now())) : undefined;
          const forget = lock && ctx.cleanup.track(lock.file);
          try {
            return await withBoard(ctx, (port) => doorbellStatus(port));
          } finally {
            await lock?.release();
            forget?.();
          }
        };
        let state = await reportingFailure(format, statusSpec.name, look);
        if (opts.waitReady) {
          let said = '';
          while (!state.ready && Date.now() < deadline) {
            const now = state.waiting.join('\n');
            if (now !== said) writeErr(`epctl: waiting for doorbells (${Math.ceil((deadline - Date.now()) / 1000)} s left):\n${state.waiting.map((w) => `  ${w}\n`).join('')}`);
            said = now;
            await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
            state = await reportingFailure(format, statusSpec.name, look);
          }
        }
        writeOut(
          format !== undefined
            ? renderReport(format, suiteOf(statusSpec.name, state.source, state.kernel.release), doorbellChecks(state))
            : ctx.json
              ? JSON.stringify(state, null, 2) + '\n'
              : renderDoorbellStatus(state),
        );
        if (!opts.waitReady) return doorbellStatusExitCode(state);
        if (state.ready) return EXIT.OK;
        writeErr(`epctl: doorbells not ready after ${timeout} s:\n${state.waiting.map((w) => `  ${w}\n`).join('')}  fix: the reasons above say what is missing; \`epctl probe\` gives each controller's doorbell verdict\n`);
        return EXIT.NOT_READY;
      }),
    );
}
