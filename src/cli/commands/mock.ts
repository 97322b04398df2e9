// `epctl mock host enable|ring|disable|status`: play the host at the other end of a simulated
// board's PCIe link, as the real host drivers do it (src/host/): pci_endpoint_test's doorbell
// steps on pci-epf-test functions, ntb_hw_epf's doorbell writes on vNTB functions. Only with
// --mock (the simulated host is part of the fake kernel); the board is kept in --mock-state
// like every other command's.
import type { Command } from 'commander';
import { UsageError, withBoard, type CommandSpec, type Run, type RunContext } from '../context.js';
import { writeOut } from '../output.js';
import { EpctlError } from '../../kernel/errors.js';
import { EXIT } from '../../exit-codes.js';
import type { AccessWidth, KernelPort } from '../../kernel/port.js';
import type { FakeKernel, HostEndpoint } from '../../fake/api.js';
import type { HostBarAccess } from '../../host/access.js';

export const spec: CommandSpec = { name: 'mock', readsBoard: true };

const ACTIONS = ['enable', 'ring', 'disable', 'status'] as const;
type Action = (typeof ACTIONS)[number];

interface HostOpts {
  function?: string;
  doorbell?: string;
  count?: string;
}

/** What one function reports for an action. */
interface FunctionResult {
  function: string;
  device: string;
  driver: string;
  controller: string | null;
  functionNumber: number | null;
  linkUp: boolean;
  ok: boolean;
  message?: string;
  registers?: {
    regBar: number;
    status: number;
    statusBits: string[];
    dbBar: number;
    dbOffset: number;
    dbData: number;
  };
  doorbells?: { index: number; data: number; offset: number; rings?: number; count?: number | null }[];
  mode?: 'msi' | 'embedded' | 'polled';
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

function parseCount(flag: string, v: string | undefined, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > max) throw new UsageError(`${flag} ${JSON.stringify(v)} is not a whole number 0..${max}`, `give ${flag} 0..${max}`);
  return n;
}

export function register(program: Command, run: Run): void {
  const mock = program.command(spec.name).description('Act on the simulated board from outside: `epctl mock host …` plays the PCIe host (only with --mock).');
  mock
    .command('host')
    .description('Play the PCIe host of a simulated board: enable, ring and disable RC-to-EP doorbells, or show what the host sees.')
    .argument('<action>', `one of ${ACTIONS.join(', ')}`)
    .option('--function <name>', 'only this function: its configfs name (func1), driver/name (pci_epf_test/func1) or device (pci_epf_test.0)')
    .option('--doorbell <n>', 'ring only doorbell N (vNTB: 0..db_count-1; pci-epf-test has doorbell 0)')
    .option('--count <n>', 'ring each doorbell N times (default 1)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The simulated host reaches each function through its BARs, as a real host does (the fake
kernel gives every bound function's BAR memory and the ITS doorbell page physical addresses):
  enable   pci-epf-test: IRQ_TYPE, IRQ_NUMBER=1, COMMAND=ENABLE_DOORBELL, then reads STATUS,
           DB_BAR, DB_OFFSET, DB_DATA (drivers/misc/pci_endpoint_test.c). On success the
           board's /proc/interrupts gains the row "pci-ep-test-doorbell".
  ring     writes DB_DATA at DB_OFFSET of BAR DB_BAR (pci-epf-test), or db_data[i] at
           db_offset[i] of the doorbell BAR (vNTB); each ring counts +1 on the doorbell's row.
           With no --function/--doorbell it rings every enabled doorbell once.
  disable  COMMAND=DISABLE_DOORBELL. Refused when no doorbell was enabled: after a failed
           ENABLE that command oopses the endpoint's kernel (7.3.4), so no host sends it.
  status   per function: STATUS decoded, DB_BAR/DB_OFFSET/DB_DATA, vNTB doorbells.
The functions must be linked to a started controller (\`epctl apply\` with a config that
starts it). Doorbells need Linux 6.17+ (pci-epf-test) or 6.19+ (vNTB) and an EP node with
msi-map (qemu-virt, imx95); elsewhere ENABLE fails and vNTB falls back to polled doorbells.

Examples:
  epctl apply --mock qemu-virt --mock-state b.json -c examples/pci-epf-test.yaml --yes
  epctl mock host enable --mock qemu-virt --mock-state b.json
  epctl mock host ring --mock qemu-virt --mock-state b.json --count 3
  epctl mock host status --mock qemu-virt --mock-state b.json --json
  epctl mock host disable --mock qemu-virt --mock-state b.json
  epctl mock host ring --mock qemu-virt --mock-state v.json --function func1 --doorbell 2

It exits 0 when every function did what was asked, 1 when one failed or was refused (each
named, with the fix), 64 without --mock.`,
    )
    .action((action: string, opts: HostOpts, cmd: Command) =>
      run(spec, cmd, async (ctx) => {
        if (!(ACTIONS as readonly string[]).includes(action))
          throw new UsageError(`unknown host action "${action}"`, `give one of: ${ACTIONS.join(', ')} (e.g. \`epctl mock host status --mock qemu-virt\`)`);
        if (ctx.board?.kind !== 'mock')
          throw new UsageError('`epctl mock host` plays the host of a simulated board: it needs --mock BOARD', 'add --mock BOARD (and --mock-state FILE to keep the board between commands), e.g. `epctl mock host status --mock qemu-virt`');
        const doorbell = opts.doorbell === undefined ? undefined : parseCount('--doorbell', opts.doorbell, 0, 31);
        const count = parseCount('--count', opts.count, 1, 1_000_000);
        if (action !== 'ring' && (opts.doorbell !== undefined || opts.count !== undefined))
          throw new UsageError(`--doorbell and --count only apply to \`epctl mock host ring\``, `drop them, or run \`epctl mock host ring\``);
        const results = await withHost(ctx, action === 'status' ? 'read' : 'change', (port) => hostAction(port, action as Action, opts.function, doorbell, count));
        writeOut(ctx.json ? JSON.stringify({ action, functions: results }, null, 2) + '\n' : render(action as Action, results));
        return results.every((r) => r.ok) ? EXIT.OK : EXIT.ERROR;
      }),
    );
}

/** Opens the simulated board; a change holds the board's lock like apply does. */
async function withHost<T>(ctx: RunContext, kind: 'read' | 'change', fn: (port: FakeKernel) => Promise<T>): Promise<T> {
  const asFake = (port: KernelPort): FakeKernel => {
    if (port.backend !== 'fake') throw new EpctlError('the board is not simulated', { exitCode: EXIT.USAGE });
    return port as FakeKernel;
  };
  if (kind === 'read') return withBoard(ctx, (port) => fn(asFake(port)));
  const { withBoardChange } = await import('../board-change.js');
  return withBoardChange(ctx, { lock: true }, ({ port }) => fn(asFake(port)));
}

const nameOf = (e: HostEndpoint): string => e.dir?.split('/').at(-1) ?? e.device;

function matches(e: HostEndpoint, name: string): boolean {
  return e.device === name || e.dir === name || nameOf(e) === name;
}

function base(e: HostEndpoint): FunctionResult {
  return { function: e.dir ?? e.device, device: e.device, driver: e.driver, controller: e.controller ?? null, functionNumber: e.function ?? null, linkUp: e.linkUp, ok: true };
}

/** The endpoint's BARs through the simulated host. */
function access(fake: FakeKernel, e: HostEndpoint): HostBarAccess {
  return {
    read: (bar: number, offset: number, width: AccessWidth) => fake.host.barRead(e.controller!, e.function!, bar, offset, width),
    write: (bar: number, offset: number, width: AccessWidth, value: bigint) => fake.host.barWrite(e.controller!, e.function!, bar, offset, width, value),
  };
}

async function hostAction(fake: FakeKernel, action: Action, only: string | undefined, doorbell: number | undefined, count: number): Promise<FunctionResult[]> {
  const all = (await fake.host.endpoints()).filter((e) => e.driver === 'pci_epf_test' || e.driver === 'pci_epf_vntb');
  const chosen = only === undefined ? all : all.filter((e) => matches(e, only));
  if (only !== undefined && chosen.length === 0) {
    const known = all.map((e) => e.dir ?? e.device);
    throw new EpctlError(`no pci_epf_test or pci_epf_vntb function "${only}" on this board`, {
      exitCode: EXIT.ERROR,
      hint: known.length ? `use one of: ${known.join(', ')}` : 'create and link one first (`epctl apply -c examples/pci-epf-test.yaml`)',
    });
  }
  if (chosen.length === 0)
    throw new EpctlError('this board has no pci_epf_test or pci_epf_vntb function for the host to reach', { exitCode: EXIT.ERROR, hint: 'create and link one first: `epctl apply -c examples/pci-epf-test.yaml` (or pci-epf-vntb.yaml) with the same --mock and --mock-state' });
  const out: FunctionResult[] = [];
  for (const e of chosen) {
    const r = base(e);
    if (!e.controller || !e.linkUp || e.bars.length === 0) {
      // status lists them; an action on every function skips them, one named in --function fails.
      if (action === 'status' || only !== undefined) {
        r.ok = action === 'status';
        r.message = `${e.dir ?? e.device} (${e.device}) is not ${e.controller ? (e.bars.length ? `reachable: the link of ${e.controller} is down` : 'bound') : 'linked to a controller'}: run \`epctl apply\` with a config that links it and starts the controller`;
        out.push(r);
      }
      continue;
    }
    // vNTB doorbells have no enable/disable: only a vNTB named in --function hears about it.
    if (e.driver === 'pci_epf_vntb' && (action === 'enable' || action === 'disable') && only === undefined) continue;
    if (e.driver === 'pci_epf_test') await testAction(fake, e, r, action, only !== undefined, doorbell, count);
    else await vntbAction(fake, e, r, action, doorbell, count);
    if (r.message !== undefined || r.ok || only !== undefined || action === 'status') out.push(r);
  }
  if (out.length === 0)
    throw new EpctlError(`no function is ready for \`${action}\``, { exitCode: EXIT.ERROR, hint: 'link a pci_epf_test or pci_epf_vntb function to a started controller first (`epctl apply`), then check `epctl mock host status`' });
  return out;
}

async function testAction(fake: FakeKernel, e: HostEndpoint, r: FunctionResult, action: Action, named: boolean, doorbell: number | undefined, count: number): Promise<void> {
  const t = await import('../../host/pci-endpoint-test.js');
  const a = access(fake, e);
  const o = { regBar: e.bars[0]!.bar };
  const who = `${r.function} (${e.device})`;
  const fillRegs = async (): Promise<void> => {
    const regs = await t.readRegisters(a, o);
    r.registers = { regBar: o.regBar, status: regs.status, statusBits: regs.statusBits, dbBar: regs.dbBar, dbOffset: regs.dbOffset, dbData: regs.dbData };
  };
  if (e.cmdStopped && action !== 'status') {
    r.ok = false;
    r.message = `${who}: the endpoint's command work is not running (its kernel oopsed or its epc_init failed; see the kernel log): unlink and re-link the function, or start a fresh --mock-state`;
  } else if (action === 'enable') {
    const logged = fake.dmesg().length;
    const res = await t.enable(a, o);
    r.ok = res.ok;
    if (!res.ok) {
      // What the endpoint's kernel said, not a guess: the MSI domain, the eDMA fallback, the IRQ.
      const said = fake.dmesg().slice(logged).filter((l) => l.includes(e.device));
      r.message = `${who}: ${res.reason}${said.length ? `; the endpoint's kernel logged: ${said.join(' / ')}` : ''}; see \`epctl probe\` for ${e.controller}'s doorbell verdict and its fix`;
    }
  } else if (action === 'disable') {
    try {
      const res = await t.disable(a, o);
      r.ok = res.ok;
      if (!res.ok) r.message = `${who}: ${res.reason}`;
    } catch (err) {
      if (!(err instanceof t.UnsafeDisableError)) throw err;
      r.ok = false;
      r.message = `${who}: not sent: ${err.message}; run \`epctl mock host enable --function ${nameOf(e)}\` first`;
      if (!named) r.message = undefined;
    }
  } else if (action === 'ring') {
    const regs = await t.readRegisters(a, o);
    if (!t.doorbellEnabled(regs, o) || (doorbell !== undefined && doorbell !== 0)) {
      r.ok = false;
      if (named)
        r.message =
          doorbell !== undefined && doorbell !== 0
            ? `${who} has one doorbell, 0: drop --doorbell ${doorbell}`
            : `${who} has no enabled doorbell: run \`epctl mock host enable --function ${nameOf(e)}\` first`;
    } else {
      let rang = 0;
      for (let i = 0; i < count; i++) {
        const res = await t.ring(a, o);
        if (!res.ok) {
          r.ok = false;
          r.message = `${who}: ${res.reason}`;
          break;
        }
        rang++;
      }
      r.doorbells = [{ index: 0, data: regs.dbData, offset: regs.dbOffset, rings: rang, count: await rowCount(fake, e, 'pci-ep-test-doorbell', 0) }];
    }
  }
  await fillRegs();
}

/** The function's configfs type group (`<driver>.<N>/`) attributes the host needs, read through the port. */
async function vntbConfig(fake: FakeKernel, e: HostEndpoint): Promise<{ dbCount: number; ctrl: number; db: number }> {
  const { readTextIfExists } = await import('../../kernel/port.js');
  const dir = `/sys/kernel/config/pci_ep/functions/${e.dir}`;
  const group = (await fake.readdir(dir)).find((n) => n.startsWith(`${e.driver}.`));
  const num = async (attr: string, dflt: number): Promise<number> => {
    const v = group === undefined ? undefined : await readTextIfExists(fake, `${dir}/${group}/${attr}`);
    const n = v === undefined ? NaN : Number(v.trim());
    return Number.isInteger(n) && n >= 0 ? n : dflt;
  };
  return { dbCount: await num('db_count', 0), ctrl: await num('ctrl_bar', 0), db: await num('db_bar', 1) };
}

async function vntbAction(fake: FakeKernel, e: HostEndpoint, r: FunctionResult, action: Action, doorbell: number | undefined, count: number): Promise<void> {
  const v = await import('../../host/vntb.js');
  const who = `${r.function} (${e.device})`;
  const cfg = await vntbConfig(fake, e);
  const bars = { ctrl: cfg.ctrl, db: cfg.db };
  const a = access(fake, e);
  const ctrl = await v.readCtrl(a, bars, Math.min(cfg.dbCount, 32));
  r.mode = ctrl.dbEntrySize === 0 ? 'msi' : 'polled';
  r.doorbells = ctrl.doorbells.map((d) => ({ ...d }));
  if (action === 'enable' || action === 'disable') {
    // vNTB doorbells live from link to unlink: nothing for the host to switch.
    r.ok = false;
    r.message = `${who}: vNTB doorbells are set up at link and stay until unlink; there is nothing to ${action} (ring them with \`epctl mock host ring --function ${nameOf(e)}\`)`;
    return;
  }
  if (action === 'status') {
    for (const d of r.doorbells) d.count = await rowCount(fake, e, 'pci_epf_vntb_db', d.index);
    return;
  }
  const targets = doorbell === undefined ? ctrl.doorbells.map((d) => d.index) : [doorbell];
  if (doorbell !== undefined && doorbell >= ctrl.doorbells.length) {
    r.ok = false;
    r.message = `${who} has doorbells 0..${ctrl.doorbells.length - 1} (db_count ${ctrl.doorbells.length}): give --doorbell in that range`;
    return;
  }
  if (r.mode === 'msi' && (await rowOf(fake, e, 'pci_epf_vntb_db', 0))?.embedded) r.mode = 'embedded';
  for (const i of targets) {
    const before = (await rowCount(fake, e, 'pci_epf_vntb_db', i)) ?? 0;
    for (let n = 0; n < count; n++) await v.ring(a, bars, ctrl, i);
    r.doorbells[i]!.rings = count;
    const after = await rowCount(fake, e, 'pci_epf_vntb_db', i);
    r.doorbells[i]!.count = after;
    // With MSI doorbells every ring is one interrupt; one that is not landed nowhere.
    if (r.mode !== 'polled' && (after ?? 0) - before !== count) {
      r.ok = false;
      r.message = `${who}: doorbell ${i} was written ${count}× but its /proc/interrupts count rose by ${(after ?? 0) - before}: the writes reached no doorbell (see \`epctl doorbell status\`)`;
    }
  }
  if (doorbell !== undefined) r.doorbells = r.doorbells.filter((d) => d.index === doorbell);
}

/** The doorbell's /proc/interrupts row: its count (all CPUs) and whether it is the embedded (eDMA) one; undefined when absent. */
async function rowOf(fake: FakeKernel, e: HostEndpoint, action: string, hwirq: number): Promise<{ count: number; embedded: boolean } | undefined> {
  const { parseInterrupts, PROC_INTERRUPTS, EMBEDDED_DOORBELL_CHIP } = await import('../../procfs/interrupts.js');
  const { doorbellRows } = await import('../../doorbell/irqs.js');
  const parsed = parseInterrupts(new TextDecoder().decode(await fake.read(PROC_INTERRUPTS)));
  // An embedded (eDMA) doorbell is one shared row without a hwirq.
  const row = doorbellRows(parsed, e.controller!, { embedded: true }).find((x) => (x.hwirq === hwirq || x.chip === EMBEDDED_DOORBELL_CHIP) && x.actions.includes(action));
  return row && { count: row.counts.reduce((s, c) => s + c, 0), embedded: row.chip === EMBEDDED_DOORBELL_CHIP };
}

/** The doorbell's /proc/interrupts count (all CPUs), or null when the row is absent. */
async function rowCount(fake: FakeKernel, e: HostEndpoint, action: string, hwirq: number): Promise<number | null> {
  return (await rowOf(fake, e, action, hwirq))?.count ?? null;
}

function render(action: Action, results: readonly FunctionResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const where = r.controller ? ` on ${r.controller} function ${r.functionNumber}` : '';
    lines.push(`${r.function} (${r.device})${where}: ${r.ok ? (action === 'status' ? (r.message ? 'not reachable' : 'reachable') : 'ok') : 'FAILED'}`);
    if (r.message) lines.push(`  ${r.message}`);
    if (r.registers) {
      const g = r.registers;
      lines.push(`  STATUS ${hex(g.status)}${g.statusBits.length ? ` (${g.statusBits.join(' | ')})` : ''}`);
      lines.push(`  DB_BAR ${g.dbBar === 0xffffffff ? 'none (0xffffffff)' : g.dbBar}  DB_OFFSET ${hex(g.dbOffset)}  DB_DATA ${hex(g.dbData)}  (registers in BAR${g.regBar})`);
    }
    if (r.mode) lines.push(`  doorbells: ${r.mode === 'msi' ? 'MSI (ITS)' : r.mode === 'embedded' ? 'embedded (the eDMA\'s one shared irq: every doorbell rings it)' : 'polled (no MSI doorbell: no /proc/interrupts rows)'}`);
    for (const d of r.doorbells ?? [])
      lines.push(`  doorbell ${d.index}: write ${hex(d.data)} at offset ${hex(d.offset)}${d.rings !== undefined ? `, rang ${d.rings}×` : ''}${d.count === undefined ? '' : d.count === null ? ', no /proc/interrupts row' : `, /proc/interrupts count ${d.count}`}`);
  }
  return lines.join('\n') + '\n';
}
