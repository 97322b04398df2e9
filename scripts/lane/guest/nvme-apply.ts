// Scenario `nvme-apply` in the guest: the shared steps (scripts/lane/nvme-apply.ts) run by the
// bundled epctl on the real kernel, each command with its exit code, JSON and the kernel log it
// caused; the host judges them and replays them on the fake.
import fs from 'node:fs/promises';
import { nvmeApplySteps, type NvmeApplyEnv, type NvmeApplyParams } from '../nvme-apply-steps.js';
import { run } from './run.js';
import type { Scenario } from './scenarios.js';

export const nvmeApply: Scenario = async (params, ctx) => {
  const env: NvmeApplyEnv = {
    stateFile: '/tmp/epctl-lane-nvme-state.json',
    epctl: (args) => run(process.execPath, ['/lane/epctl.cjs', ...args]),
    file: async (name, text) => {
      const f = `/tmp/${name}`;
      await fs.writeFile(f, text);
      return f;
    },
    kmsg: () => ctx.kmsg(),
    op: (name) => ctx.op(name),
  };
  return nvmeApplySteps(env, params as NvmeApplyParams);
};
