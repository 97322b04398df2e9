// `epctl agent` as a process on a simulated board: it converges and logs JSON lines; an
// `epctl apply` run beside it waits for the lock and is told the agent keeps the board; the
// agent's drift check sees that change; SIGTERM stops it with exit 0 and nothing left behind;
// and an agent killed with SIGKILL at any moment of its first apply, started again, converges.
import { describe, it, expect, afterEach } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BIN, epctl } from '../helpers/cli.js';

let dirs: string[] = [];
const children: ResultPromise[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill('SIGKILL');
    await c.catch(() => undefined);
  }
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

const CONFIG = `version: 1
agent: { drift_interval_s: 1 }
controllers: { auto: { start: true } }
functions:
  - { driver: pci_epf_test, name: func1, controller: auto, header: { vendorid: 0x104c, deviceid: 0xb500 }, msi_interrupts: 16, msix_interrupts: 8 }
`;

async function board() {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-agent-e2e-'));
  dirs.push(dir);
  const config = path.join(dir, 'epctl.yaml');
  await fs.writeFile(config, CONFIG);
  const mock = ['--mock', 'qemu-virt', '--mock-state', path.join(dir, 'board.json')];
  return { dir, config, mock };
}

/** Starts the agent; `lines` fills with its parsed JSON log lines. */
function startAgent(args: string[]) {
  const child = execa(process.execPath, [BIN, 'agent', ...args], { reject: false, env: { NO_COLOR: '1' }, stdin: 'ignore', buffer: false });
  children.push(child);
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const err = { text: '' };
  child.stderr!.on('data', (b: Buffer) => (err.text += b.toString()));
  let rest = '';
  child.stdout!.on('data', (b: Buffer) => {
    rest += b.toString();
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as { msg: string });
      } catch {
        lines.push({ msg: `not JSON: ${line}` });
      }
    }
  });
  const until = async (what: (l: { msg: string; [k: string]: unknown }) => boolean, ms = 20_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!lines.some(what)) {
      if (Date.now() > end) throw new Error(`agent log never showed it; it said: ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { child, lines, until, err };
}

describe('epctl agent (a process on a simulated board)', () => {
  it('converges, tells a CLI apply beside it that it keeps the board, sees the change as drift, and stops on SIGTERM', async () => {
    const b = await board();
    const a = startAgent(['-c', b.config, ...b.mock]);
    await a.until((l) => l.msg === 'ready');
    expect(a.lines.find((l) => l.msg === 'converged')).toMatchObject({ outcome: 'applied', reason: 'start' });
    const other = path.join(b.dir, 'other.yaml');
    await fs.writeFile(other, CONFIG.replace('func1', 'func9'));
    const r = await epctl(['apply', '-c', other, '--yes', '--wait', '20', ...b.mock], { timeout: 30_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('note: the epctl agent (pid');
    await a.until((l) => l.msg === 'drift: the board differs from the config');
    a.child.kill('SIGTERM');
    const end = await a.child;
    expect(end.exitCode).toBe(0);
    expect(await fs.readdir(b.dir)).not.toContain('board.json.lock.agent');
  }, 60_000);

  it('a failure while it starts (its board marker cannot be written) ends it with exit 1: nothing it opened keeps it alive, and a path that is not its own is left alone', async () => {
    const b = await board();
    // The real kernel lane found the agent alive after such a failure: its socket and file watch held the event loop.
    await fs.mkdir(path.join(b.dir, 'board.json.lock.agent'));
    const a = startAgent(['-c', b.config, ...b.mock]);
    const end = await a.child;
    expect(end.exitCode).toBe(1);
    expect(a.err.text).toMatch(/EISDIR.*board\.json\.lock\.agent/);
    expect(a.err.text).not.toMatch(/\n\s+at /);
    const left = await fs.readdir(b.dir);
    expect(left).toContain('board.json.lock.agent');
    expect(left).not.toContain('board.json.agent.sock');
  }, 30_000);

  it('killed with SIGKILL anywhere in its first apply, it converges when started again', async () => {
    for (const delayMs of [150, 300, 450]) {
      const b = await board();
      const first = startAgent(['-c', b.config, ...b.mock]);
      await new Promise((r) => setTimeout(r, delayMs));
      first.child.kill('SIGKILL');
      await first.child;
      // A lock left by the killed agent is stale (its pid is gone) and taken over.
      const again = startAgent(['-c', b.config, ...b.mock]);
      await again.until((l) => l.msg === 'ready');
      again.child.kill('SIGTERM');
      expect((await again.child).exitCode).toBe(0);
      const plan = await epctl(['plan', '-c', b.config, ...b.mock]);
      expect(plan.exitCode, `after a kill at ${delayMs} ms: ${plan.stdout}`).toBe(0);
      expect(plan.stdout).toContain('nothing to do');
    }
  }, 120_000);
});
