// The agent at rest, as ratios measured in this one run:
// 1. resident memory (VmRSS, /proc/PID/status) of `epctl agent` converged on a simulated board,
//    doorbell watch on, against a bare `node` process that only keeps its event loop alive
//    (target ≤ 3×);
// 2. CPU use at rest with the doorbell watch on: utime + stime (/proc/PID/stat, clock ticks)
//    over the idle window, as a percentage of one core (target ≤ 1 %). On a simulated board the
//    watch follows --mock-state (inotify on its directory and a stat each second, src/kernel/
//    open.ts) and its /proc/interrupts is rendered by the fake kernel, which a live board does
//    not cost: this figure is an upper bound for the board. The window starts at "ready",
//    so it includes the doorbell watch's own start (the watch begins after the first apply).
// Both sampled over WINDOW_MS after the agent logged "ready".
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

const WINDOW_MS = 10_000;
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux (USER_HZ)

async function rssKiB(pid: number): Promise<number> {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** utime + stime in seconds (fields 14 and 15 of /proc/PID/stat, after the parenthesised comm). */
async function cpuSeconds(pid: number): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

async function idle(pid: number): Promise<{ rss: number; cpu: number }> {
  const c0 = await cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  return { rss: await rssKiB(pid), cpu: (await cpuSeconds(pid)) - c0 };
}

export async function run(): Promise<{ name: string; ratio: number; target: number; detail: string }[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-bench-agent-'));
  const bare = execa(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { reject: false, stdin: 'ignore' });
  const agent = execa(process.execPath, [path.resolve('dist/epctl.js'), 'agent', '-c', path.resolve('examples/pci-epf-test.yaml'), '--mock', 'qemu-virt', '--mock-state', path.join(dir, 'board.json')], { reject: false, stdin: 'ignore', buffer: false, env: { NO_COLOR: '1' } });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`the agent never logged ready: ${out}`)), 30_000);
      agent.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('"msg":"ready"')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const [a, b] = await Promise.all([idle(agent.pid!), idle(bare.pid!)]);
    return [
      { name: 'agent idle RSS / bare node', ratio: a.rss / b.rss, target: 3, detail: `${(a.rss / 1024).toFixed(1)} MiB vs ${(b.rss / 1024).toFixed(1)} MiB (VmRSS after ${WINDOW_MS / 1000} s idle)` },
      {
        name: 'agent idle CPU, doorbell watch on (% of one core)',
        ratio: (a.cpu / (WINDOW_MS / 1000)) * 100,
        target: 1,
        detail: `${(a.cpu * 1000).toFixed(0)} ms CPU over ${WINDOW_MS / 1000} s on simulated qemu-virt (a bare node: ${(b.cpu * 1000).toFixed(0)} ms)`,
      },
    ];
  } finally {
    agent.kill('SIGTERM');
    bare.kill('SIGTERM');
    await Promise.all([agent, bare]);
    await fs.rm(dir, { recursive: true, force: true });
  }
}
