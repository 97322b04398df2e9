import { describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import { createFakeKernel } from '../../src/fake/index.js';
import { fakeLogTap } from '../../src/lane/kmsg.js';
import { runOps } from '../../src/lane/run-ops.js';
import { parseTrace, replayTrace } from '../../src/lane/fixture.js';
import { laneDifferential, type GuestBoot } from './diff-host.js';
import type { GuestRecord } from './guest/protocol.js';
import type { DiffParams } from './guest/diff.js';
import { tempDirs } from '../../test/helpers/tmp.js';

const tmp = tempDirs('epctl-lane-diff');

/** A guest stand-in: the harness's records, produced by the same runOps over a fake of `release`. */
function fakeGuest(release: string, breakAt?: number): GuestBoot {
  return async (scenarios) => {
    const { ops, settleSubGroups } = scenarios[0]!.params as DiffParams;
    const k = createFakeKernel({ board: 'qemu-virt', kernel: release });
    const records: GuestRecord[] = [{ type: 'hello', node: 'v20', release, uptime: 1 }, { type: 'begin', index: 0, scenario: 'diff' }];
    const shown = breakAt === undefined ? ops : ops.slice(0, breakAt);
    await runOps(k, fakeLogTap(k), shown, {
      settleSubGroups,
      onStart: (i, op) => records.push({ type: 'op', index: 0, scenario: 'diff', op: `${i}: ${op.op}` }),
      onResult: (i, r) => records.push({ type: 'data', index: 0, scenario: 'diff', data: { i, r } }),
    });
    if (breakAt !== undefined && breakAt < ops.length) throw Object.assign(new Error(`kernel oops during scenario diff (#0), operation "${breakAt}: …"`), { result: { records } });
    records.push({ type: 'result', index: 0, scenario: 'diff', ok: true, ms: 1, data: { count: ops.length }, kmsg: [] }, { type: 'end', count: 1, uptime: 2 });
    return { records };
  };
}

describe('laneDifferential (the guest played by a fake)', () => {
  it('passes with zero divergences and records a fixture that replays clean', async () => {
    const root = await tmp();
    const out = await laneDifferential({ boot: fakeGuest('7.3.4'), release: '7.3.4', board: 'qemu-virt', seed: 21, count: 150, record: root });
    expect(out.ok).toBe(true);
    expect(out.boots).toBe(1);
    expect(out.report.real).toHaveLength(out.report.ops.length);
    const t = parseTrace(await fs.readFile(out.fixture!, 'utf8'), out.fixture!);
    expect(t.results).toHaveLength(out.report.ops.length);
    expect(await replayTrace(t)).toBeUndefined();
  });

  it('a boot that breaks fails the lane with the boot message and a divergence at the first Op without a result', async () => {
    const out = await laneDifferential({ boot: fakeGuest('7.3.4', 40), release: '7.3.4', board: 'qemu-virt', seed: 22, count: 100, shrinkBoots: 3 });
    expect(out.ok).toBe(false);
    expect(out.bootFailures[0]).toMatch(/kernel oops during scenario diff/);
    expect(out.report.divergence).toMatchObject({ real: undefined });
    expect(out.report.divergence!.index).toBeLessThanOrEqual(40);
    expect(out.boots).toBeLessThanOrEqual(4);
    expect(out.text).toContain('boot failure: kernel oops');
  });

  it('refuses a guest that runs another kernel than the one the fake is set to', async () => {
    await expect(laneDifferential({ boot: fakeGuest('6.12.117'), release: '7.3.4', board: 'qemu-virt', seed: 1, count: 10 })).rejects.toThrow(/runs kernel 6\.12\.117, not 7\.3\.4/);
  });
});
