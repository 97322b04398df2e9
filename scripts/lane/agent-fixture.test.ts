// The real kernels' `agent` runs recorded by the lane (`--only agent --record-agent`:
// test/fixtures/kernel/<release>/agent/qemu-virt.json): the verdict (agent-check.ts) passes on
// each, and fails on each way the agent could go wrong there (a mutation of the recording); and
// the fake, given the same configs, plans the same number of operations as the agent carried
// out on the real kernel at its start and at the config change.
import { execa } from 'execa';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { scenarioFixtures } from '../../src/lane/fixture.js';
import { agentParams, checkAgent } from './agent-check.js';

const BIN = path.resolve('dist/epctl.js');

interface Fixture {
  format: string;
  release: string;
  epc: string;
  data: Record<string, Record<string, unknown>>;
}

const fixtures = scenarioFixtures<Fixture>('agent');

type Data = Fixture['data'];
const get = (d: Data, step: string) => d[step] as Record<string, any>;

/** Each a way the agent could fail on a board, written into the recording. */
const MUTATIONS: [string, (d: Data) => void][] = [
  ['the bounded wait never ends', (d) => (get(d, 'wait')['hung'] = true)],
  ['READY while waiting for an absent controller', (d) => get(d, 'wait')['notify'].push(['READY=1'])],
  ['no READY after the first apply', (d) => (get(d, 'start')['notify'] = get(d, 'start')['notify'].filter((m: string[]) => !m.includes('READY=1')))],
  ['READY before any STATUS', (d) => get(d, 'start')['notify'].unshift(['READY=1'])],
  ['the first apply never converged', (d) => (get(d, 'start')['log'] = get(d, 'start')['log'].filter((l: { msg?: string }) => l.msg !== 'converged'))],
  ['a world-writable socket', (d) => (get(d, 'start')['socket'] = 0o666)],
  ['no board marker', (d) => (get(d, 'start')['marker'] = false)],
  ['status --agent not converged', (d) => (get(d, 'start')['agentStatus'].json.phase = 'applying')],
  ['SIGHUP applied something', (d) => (get(d, 'sighup')['converged'].operations = 3)],
  ['READY before the first apply converged', (d) => get(d, 'start')['notify'].unshift(['READY=1', 'STATUS=reading /tmp/agent.yaml'])],
  ['systemd left reloading', (d) => get(d, 'stop')['notify'].splice(-1, 0, ['RELOADING=1', 'STATUS=reloading /tmp/agent.yaml'])],
  ['the CLI not told of the agent', (d) => (get(d, 'drift')['cleared'].stderr = '')],
  ['drift not corrected', (d) => (get(d, 'drift')['agentStatus'].applies.driftCorrections = 0)],
  ['a bad config not refused', (d) => (get(d, 'bad')['agentStatus'].config.error = null)],
  ['the changed config not applied', (d) => (get(d, 'change')['agentStatus'].lastApply.reason = 'drift')],
  ['plan finds work after the change', (d) => get(d, 'change')['plan'].json.ops.push({ kind: 'write' })],
  ['SIGTERM exit 1', (d) => (get(d, 'stop')['exitCode'] = 1)],
  ['STOPPING not the last message', (d) => get(d, 'stop')['notify'].push(['WATCHDOG=1'])],
  ['no watchdog pings', (d) => (get(d, 'stop')['notify'] = get(d, 'stop')['notify'].filter((m: string[]) => !m.includes('WATCHDOG=1')))],
  ['the socket left behind', (d) => (get(d, 'stop')['socketLeft'] = true)],
  ['the trace instance left behind', (d) => (get(d, 'stop')['traceInstances'] = ['epctl-81'])],
  ['the scenario stopped early', (d) => (d['error'] = { message: 'READY=1: not within 180 s', log: [], notify: [] })],
];

/** `epctl apply --json` of each config in turn on the fake at RELEASE: the operations each carried out. */
async function fakeOperations(release: string, configs: string[]): Promise<number[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-lane-agent-fake-'));
  try {
    const out: number[] = [];
    for (const [i, text] of configs.entries()) {
      const file = path.join(dir, `c${i}.yaml`);
      await fs.writeFile(file, text);
      const r = await execa(process.execPath, [BIN, 'apply', '-c', file, '--yes', '--json', '--mock', 'qemu-virt', '--kernel', release, '--mock-state', path.join(dir, 'board.json')], { reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      out.push((JSON.parse(r.stdout) as { done: unknown[] }).done.length);
    }
    return out;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

describe('recorded real-kernel agent runs', () => {
  it('has the fixtures of both kernels (record them with the lane: --only agent --record-agent)', () => {
    expect(fixtures.map(({ f }) => f.release).sort()).toEqual(['6.12.117', '7.3.4']);
  });
  for (const { file, f } of fixtures) {
    describe(file, () => {
      it('passes the verdict', () => {
        expect(f.format).toBe('epctl-lane-agent');
        expect(checkAgent(f.epc, f.data).findings).toEqual([]);
      });
      it.each(MUTATIONS)('fails it when %s', (_, mutate) => {
        const d = structuredClone(f.data);
        mutate(d);
        expect(checkAgent(f.epc, d).findings.length).toBeGreaterThan(0);
      });
      it('the fake plans what the agent did on the real kernel, at its start and at the config change', { timeout: 60_000 }, async () => {
        const p = agentParams();
        const real = [get(f.data, 'start')['agentStatus'].json.lastApply.operations, get(f.data, 'change')['agentStatus'].lastApply.operations];
        expect(await fakeOperations(f.release, [p.config, p.changed])).toEqual(real);
      });
    });
  }
});
