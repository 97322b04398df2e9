// The run context: the global flags normalised once, checked against what the command uses,
// into a frozen object every command reads. Flag names live here and in main.ts only; the
// kernel port is opened from the normalised board source and never sees a flag.
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import { openPort } from '../kernel/open.js';
import type { KernelPort } from '../kernel/port.js';
import type { Cleanup } from './cleanup.js';
import { DEFAULT_STATE_FILE } from '../state/ownership.js';

/** FHS: lock files of system programs live in /run/lock. */
const LIVE_LOCK = '/run/lock/epctl.lock';

/** The global options as commander parses them. */
export interface GlobalFlags {
  root?: string;
  mock?: string;
  kernel?: string;
  mockState?: string;
  state?: string;
  json?: boolean;
}

/** Which board a command reads. */
export type BoardSource =
  | { readonly kind: 'live' }
  | { readonly kind: 'root'; readonly path: string }
  | { readonly kind: 'mock'; readonly board: string; readonly kernel: string | undefined; readonly stateFile: string | undefined };

export interface RunContext {
  readonly command: string;
  readonly json: boolean;
  /** Undefined for a command that reads no board (`boards`). */
  readonly board: BoardSource | undefined;
  /**
   * Where epctl records what it made on this board (--state; /var/lib/epctl/state.json on a
   * live board; beside --mock-state; none for a one-shot simulated board or a recording).
   */
  readonly stateFile: string | undefined;
  /**
   * The board's lock, whatever --state says (two runs with different records still change one
   * board): /run/lock/epctl.lock on a live board, beside --mock-state for a simulated one.
   */
  readonly lockFile: string | undefined;
  readonly cleanup: Cleanup;
  /** --root of a command that installs files (CommandSpec.rootIsTarget): the directory to install under. */
  readonly installRoot?: string;
}

/** A wrong command line: exit 64, one line, a fix. */
export class UsageError extends EpctlError {
  constructor(message: string, hint: string) {
    super(message, { exitCode: EXIT.USAGE, hint });
  }
}

/** What a command does with the global options. */
export interface CommandSpec {
  name: string;
  /** It reads a board: --root, --mock, --kernel, --mock-state apply. */
  readsBoard: boolean;
  /** It reads no board and takes --root as the directory it installs files under (`service install`). */
  rootIsTarget?: boolean;
}

const flag = (name: keyof GlobalFlags): string => `--${name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;

/** Normalises and checks the flags for COMMAND; every refusal names the option and the fix. */
export function runContext(spec: CommandSpec, flags: GlobalFlags, cleanup: Cleanup): RunContext {
  const given = (['root', 'mock', 'kernel', 'mockState', 'state'] as const).filter((k) => flags[k] !== undefined && !(k === 'root' && spec.rootIsTarget));
  if (spec.rootIsTarget && flags.root === '') throw new UsageError('--root is empty', 'give --root a directory, or drop it to install under /');
  if (!spec.readsBoard && given.length > 0) {
    const k = given[0]!;
    throw new UsageError(`${flag(k)} does not apply to \`epctl ${spec.name}\`: it reads no board`, `drop ${flag(k)} ${flags[k]}`);
  }
  if (flags.root !== undefined && flags.mock !== undefined)
    throw new UsageError('--root and --mock cannot be used together: choose a recorded board or a simulated one', `drop --root ${flags.root} or --mock ${flags.mock}`);
  if (flags.mock === undefined)
    for (const k of ['kernel', 'mockState'] as const)
      if (flags[k] !== undefined)
        throw new UsageError(`${flag(k)} only applies to a simulated board`, `add --mock BOARD (see \`epctl boards\`), or drop ${flag(k)} ${flags[k]}`);
  for (const k of given)
    if (flags[k] === '') throw new UsageError(`${flag(k)} is empty`, `give ${flag(k)} a value, or drop it`);

  const board: BoardSource | undefined = !spec.readsBoard
    ? undefined
    : flags.root !== undefined
      ? { kind: 'root', path: flags.root }
      : flags.mock !== undefined
        ? { kind: 'mock', board: flags.mock, kernel: flags.kernel, stateFile: flags.mockState }
        : { kind: 'live' };
  const stateFile =
    flags.state ?? (board?.kind === 'live' ? DEFAULT_STATE_FILE : board?.kind === 'mock' && board.stateFile !== undefined ? `${board.stateFile}.epctl-state.json` : undefined);
  const lockFile = board?.kind === 'live' ? LIVE_LOCK : board?.kind === 'mock' && board.stateFile !== undefined ? `${board.stateFile}.lock` : undefined;
  return Object.freeze({ command: spec.name, json: flags.json === true, board, stateFile, lockFile, cleanup, ...(spec.rootIsTarget && flags.root !== undefined ? { installRoot: flags.root } : {}) });
}

/** Opens the context's board, runs FN on it, and closes it (saving --mock-state) after. */
export async function withBoard<T>(ctx: RunContext, fn: (port: KernelPort) => Promise<T>, opts: { follow?: boolean } = {}): Promise<T> {
  const b = ctx.board ?? { kind: 'live' };
  const open = await openPort(
    b.kind === 'root'
      ? { root: b.path }
      : b.kind === 'mock'
        ? { mock: b.board, ...(b.kernel === undefined ? {} : { kernel: b.kernel }), ...(b.stateFile === undefined ? {} : { mockState: b.stateFile }), ...(opts.follow ? { follow: true } : {}) }
        : {},
  );
  let result: T;
  try {
    result = await fn(open.port);
  } catch (e) {
    // The command failed: the simulated board is still saved (its state may explain the failure).
    await open.close().catch(() => undefined);
    throw e;
  }
  await open.close();
  return result;
}

/** How main.ts runs a command's action: flags checked into a RunContext, errors printed, exit set. */
export type Run = (spec: CommandSpec, cmd: import('commander').Command, fn: (ctx: RunContext) => Promise<number>) => Promise<void>;

/** plan's and apply's --force: what it skips and what it does not (plan.ts PlanInput.force). */
export const FORCE_OPTION = ['--force', "skip the doorbell preflight (the device tree's verdict, the release); the plan says what it skipped, and a vNTB's doorbell rows are still checked after its link"] as const;
