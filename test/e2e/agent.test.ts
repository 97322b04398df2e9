// `epctl agent` as a process on a simulated board: it converges and logs JSON lines; an
// `epctl apply` run beside it waits for the lock and is told the agent keeps the board; the
// agent's drift check sees that change; SIGTERM stops it with exit 0 and nothing left behind;
// and an agent killed with SIGKILL at any moment of its first apply, started again, converges.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { epctl } from '../helpers/cli.js';
import { agentProcesses } from '../helpers/agent-process.js';

const { tempDir, startAgent } = agentProcesses('epctl-agent-e2e-');

const CONFIG = `version: 1
agent: { drift_interval_s: 1 }
controllers: { auto: { start: true } }
functions:
  - { driver: pci_epf_test, name: func1, controller: auto, header: { vendorid: 0x104c, deviceid: 0xb500 }, msi_interrupts: 16, msix_interrupts: 8 }
`;

async function board() {
  const dir = await tempDir();
  const config = path.join(dir, 'epctl.yaml');
  await fs.writeFile(config, CONFIG);
  const mock = ['--mock', 'qemu-virt', '--mock-state', path.join(dir, 'board.json')];
  return { dir, config, mock };
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

  it('a marker a dead agent left says nothing to a CLI apply', async () => {
    const b = await board();
    // A pid that is not running: a child that has already exited.
    const gone = (await import('execa')).execa(process.execPath, ['-e', '']);
    const pid = gone.pid!;
    await gone;
    await fs.writeFile(path.join(b.dir, 'board.json.lock.agent'), JSON.stringify({ pid, config: b.config, since: new Date().toISOString() }) + '\n');
    const r = await epctl(['apply', '-c', b.config, '--yes', ...b.mock], { timeout: 30_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).not.toContain('note: the epctl agent');
  }, 30_000);

  it('a failure while it starts (its board marker cannot be written) ends it with exit 1: nothing it opened keeps it alive, and a path that is not its own is left alone', async () => {
    const b = await board();
    // The real kernel lane found the agent alive after such a failure: its socket and file watch held the event loop.
    await fs.mkdir(path.join(b.dir, 'board.json.lock.agent'));
    const a = startAgent(['-c', b.config, ...b.mock]);
    const end = await a.child;
    expect(end.exitCode).toBe(1);
    expect(a.stderr()).toMatch(/EISDIR.*board\.json\.lock\.agent/);
    expect(a.stderr()).not.toMatch(/\n\s+at /);
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
