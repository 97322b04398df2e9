// `epctl status`: the PCI endpoint configfs as it is now — controllers and what they carry,
// functions with their attributes, type group and links. Read-only.
import type { Command } from 'commander';
import { withBoard, type CommandSpec, type Run } from '../context.js';
import { writeOut } from '../output.js';
import { renderStatus } from '../render/status.js';

export const spec: CommandSpec = { name: 'status', readsBoard: true };
/** `status --agent` asks the agent, not the board: the board options do not apply. */
const agentSpec: CommandSpec = { name: 'status --agent', readsBoard: false };

export function register(program: Command, run: Run): void {
  program
    .command(spec.name)
    .description('Show the PCI endpoint configfs now: controllers, functions, their attributes, type groups and links.')
    .option('--json', 'print the result as JSON')
    .option('--agent [socket]', "ask the running `epctl agent` on its socket (default /run/epctl/agent.sock): its phase, config, last apply, drift, and the board as it last read it")
    .addHelpText(
      'after',
      `
Everything is discovered from the tree: driver entries are whatever functions/ lists, attributes
are the files a function holds, the type group is its one sub-directory besides primary/ and
secondary/, and links are shown resolved. An attribute whose show() fails reads as (ERRNO).
Functions epctl made (its state file, --state) are marked "made by epctl"; the others are left
alone by \`epctl clear\` and by apply.

Examples:
  epctl status --mock imx95                 a fresh simulated board
  epctl status --root board.tar.gz --json   a recorded board, for a script
  epctl status --agent                      what the agent (systemctl status epctl) knows
  epctl status --agent --json               its status as JSON (GET /v1/status)

It exits 0, 5 when the kernel has no pci_ep configfs, or 7 when an entry could not be read
(the rest is still shown). With --agent: 0 when the agent answered (its phase is in the
output), 69 when no agent answers on the socket.`,
    )
    .action((_opts, cmd: Command) => {
      const agent = (cmd.opts() as { agent?: string | true }).agent;
      if (agent !== undefined)
        return run(agentSpec, cmd, async (ctx) => {
          const { agentGet, readAgentStatus, DEFAULT_SOCKET } = await import('../../agent/client.js');
          const socket = agent === true ? DEFAULT_SOCKET : agent;
          const s = readAgentStatus(socket, await agentGet(socket, '/v1/status'));
          const { renderAgentStatus } = await import('../render/agent.js');
          writeOut(ctx.json ? JSON.stringify(s, null, 2) + '\n' : renderAgentStatus(s, socket));
          return 0;
        });
      return run(spec, cmd, async (ctx) => {
        const { status, statusExitCode } = await import('../../status/status.js');
        const { loadOwnership } = await import('../../state/ownership.js');
        const state = await withBoard(ctx, async (port) => {
          // Read without the lock: status changes nothing.
          const file = port.backend === 'sysroot' ? undefined : ctx.stateFile;
          // An unreadable or foreign record only hides the "made by epctl" marks: status still shows the board.
          const record = file === undefined ? undefined : await loadOwnership(file, port.origin).catch(() => undefined);
          const owned = file === undefined || record === undefined ? null : { stateFile: file, functions: record.list() };
          return status(port, owned);
        });
        writeOut(ctx.json ? JSON.stringify(state, null, 2) + '\n' : renderStatus(state));
        return statusExitCode(state);
      });
    });
}
