import { describe, expect, it } from 'vitest';
import { differential, fakeResults, formatDivergence, type Executor } from './differential.js';
import type { OpResult } from './ops.js';

const sameFake = (release: string): Executor => (ops) => fakeResults('qemu-virt', release, ops);

describe('differential (the fake standing in for the guest)', () => {
  it.each(['7.3.4', '6.12.117'])('finds no divergence between two boots of the same fake kernel %s', async (release) => {
    const r = await differential({ seed: 11, count: 300, board: 'qemu-virt', release, execute: sameFake(release) });
    expect(r.divergence).toBeUndefined();
    expect(r.real).toHaveLength(r.ops.length);
    expect(formatDivergence(r)).toContain('no divergence');
  });

  it('reports the first divergence with the seed and shrinks it in fresh boots, within the cap', async () => {
    // A "real kernel" that is 6.12 while the fake models 7.3.4: they differ (EALREADY aside, the type groups).
    let boots = 0;
    const execute: Executor = async (ops) => {
      boots++;
      return fakeResults('qemu-virt', '6.12.117', ops);
    };
    const r = await differential({ seed: 5, count: 300, board: 'qemu-virt', release: '7.3.4', execute, shrinkBoots: 25 });
    expect(r.divergence).toBeDefined();
    expect(r.shrunk!.boots).toBeLessThanOrEqual(25);
    expect(boots).toBe(1 + r.shrunk!.boots);
    expect(r.shrunk!.ops.length).toBeLessThanOrEqual(r.divergence!.index + 1);
    expect(r.shrunk!.ops.length).toBeLessThan(10);
    const text = formatDivergence(r);
    expect(text).toMatch(/^seed 5: divergence at op \d+ of \d+ on 7\.3\.4 \(qemu-virt\)/);
    expect(text).toContain('real kernel:');
  });

  it('a guest that stopped early (an oops or a hang) is a divergence at the first missing result', async () => {
    const execute: Executor = async (ops) => (await fakeResults('qemu-virt', '7.3.4', ops)).slice(0, 10);
    const r = await differential({ seed: 2, count: 50, board: 'qemu-virt', release: '7.3.4', execute, shrinkBoots: 0 });
    expect(r.divergence).toMatchObject({ index: 10, real: undefined });
    expect((r.divergence!.fake as OpResult).ret).toBeDefined();
  });
});
