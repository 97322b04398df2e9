// The real kernels' `nvme-apply` runs recorded by the lane (`--record-nvme-apply`:
// test/fixtures/kernel/<release>/nvme-apply/qemu-virt.json, the projection the lane compares)
// replayed against the fake: the same steps (scripts/lane/nvme-apply-steps.ts) run by the built
// epctl (dist/epctl.js, --mock qemu-virt at the same release) must project to exactly what the
// real kernel gave — exit codes, the operations done, the errno and kernel log of the namespaces
// nvmet_ns_enable refuses, the rollbacks, the NVMe status entries.
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { withFake } from './doorbell-check.js';
import { scenarioFixtures } from '../../src/lane/fixture.js';
import { nvmeApplySteps, type NvmeApplyParams } from './nvme-apply-steps.js';
import { nvmeApplyView } from './nvme-apply-check.js';

const BIN = path.resolve('dist/epctl.js');

interface Fixture {
  format: string;
  board: string;
  release: string;
  params: NvmeApplyParams;
  view: unknown;
}

const fixtures = scenarioFixtures<Fixture>('nvme-apply');

describe('recorded real-kernel nvme-apply runs replayed against the fake', () => {
  it('has the fixtures of both kernels (record them with the lane: --only nvme-apply --record-nvme-apply)', () => {
    expect(fixtures.map(({ f }) => `${f.release} ${f.board}`).sort()).toEqual(['6.12.117 qemu-virt', '7.3.4 qemu-virt']);
  });
  for (const { file, f } of fixtures) {
    it(file, { timeout: 180_000 }, async () => {
      expect(f.format).toBe('epctl-lane-nvme-apply');
      const fake = await withFake(f.board, f.release, (env) => nvmeApplySteps(env, f.params), BIN);
      expect(nvmeApplyView(fake)).toEqual(f.view);
    });
  }
});
