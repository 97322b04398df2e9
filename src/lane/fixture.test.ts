// Every recorded real-kernel trace (test/fixtures/kernel/<release>/*.json, written by the lane's
// --record) replays against the fake with the differential's one normalisation; and the
// record/parse/replay path itself, on a trace the fake recorded.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listTraces, parseTrace, replayTrace, traceText, writeTrace, type KernelTrace } from './fixture.js';
import { fakeResults, formatDivergence } from './differential.js';
import { generateOps } from './generate.js';
import { tempDirs } from '../../test/helpers/tmp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const recorded = await listTraces(ROOT);
const tmp = tempDirs('epctl-trace');

describe('recorded real-kernel traces', () => {
  it.each(recorded.map((f) => [path.relative(ROOT, f)]))('%s replays on the fake without a divergence', async (file) => {
    const t = parseTrace(await fs.readFile(path.join(ROOT, file), 'utf8'), file);
    expect(t.board).toMatch(/^qemu-virt/);
    const d = await replayTrace(t);
    if (d) throw new Error(`${file}\n${formatDivergence({ seed: t.seed, board: t.board, release: t.release, ops: t.ops, real: t.results, fake: [], divergence: d })}`);
  });

  it('a trace recorded from the fake round-trips through the file and replays clean', async () => {
    const ops = generateOps({ seed: 9, count: 120, drivers: ['pci_epf_test', 'pci_epf_vntb'], controllers: ['7e000000.pcie-ep'], subLinkUnlinkSafe: true });
    const t: KernelTrace = { format: 'epctl-kernel-trace', version: 1, board: 'qemu-virt', release: '7.3.4', seed: 9, ops, results: await fakeResults('qemu-virt', '7.3.4', ops) };
    const file = await writeTrace(await tmp(), t);
    expect(file).toMatch(/test\/fixtures\/kernel\/7\.3\.4\/qemu-virt-seed9\.json$/);
    const text = await fs.readFile(file, 'utf8');
    expect(text.split('\n').length).toBeGreaterThan(2 * ops.length);
    expect(parseTrace(text, file)).toEqual(t);
    expect(await replayTrace(parseTrace(text, file))).toBeUndefined();
    // A changed answer in the file is found at its op.
    const bad = structuredClone(t);
    bad.results[5] = { ...bad.results[5]!, ret: bad.results[5]!.ret === 'ok' ? 'EINVAL' : 'ok' };
    expect(await replayTrace(bad)).toMatchObject({ index: 5 });
    expect(traceText(t)).toBe(text);
  });

  it('a damaged fixture is refused naming the file and the field', () => {
    expect(() => parseTrace('{', 'x.json')).toThrow(/^x\.json: not JSON/);
    expect(() => parseTrace(JSON.stringify({ format: 'epctl-kernel-trace', version: 1, board: 'qemu-virt', release: '7.3.4', seed: 1, ops: [{ op: 'mkdir' }], results: [] }), 'y.json')).toThrow(/^y\.json: not a kernel trace: ops\.0\.path/);
  });
});
