import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { firstHazard, HazardGuard } from './hazards.js';
import { generateOps } from './generate.js';
import type { Op } from './ops.js';

const EPC = 'controllers/7e000000.pcie-ep';
const T = 'functions/pci_epf_test/f1';
const V = 'functions/pci_epf_vntb/v1';
const safe = { subLinkUnlinkSafe: true };

describe('the hazard rules (oopses observed 7.3.4; e85a2d783762)', () => {
  it('H1: a function linked once is never linked again, through secondary/ or any route', () => {
    const ops: Op[] = [
      { op: 'symlink', path: `${EPC}/l0`, target: T },
      { op: 'unlink', path: `${EPC}/l0` },
      { op: 'symlink', path: `${T}/secondary/s`, target: EPC },
    ];
    expect(firstHazard(ops, safe)).toMatchObject({ index: 2 });
    expect(firstHazard([ops[0]!, ops[1]!, { op: 'symlink', path: `${EPC}/l1`, target: T }], safe)).toMatchObject({ index: 2 });
  });

  it('H2: no vNTB link through secondary/, and no unlink there', () => {
    expect(firstHazard([{ op: 'symlink', path: `${V}/secondary/s`, target: EPC }], safe)).toMatchObject({ index: 0 });
    expect(firstHazard([{ op: 'unlink', path: `${V}/secondary/s` }], safe)).toMatchObject({ index: 0 });
    // pci_epf_test through secondary/ on a fresh function: EINVAL, harmless.
    expect(firstHazard([{ op: 'symlink', path: `${T}/secondary/s`, target: EPC }], safe)).toBeUndefined();
  });

  it('H3: a linked function never becomes a VF, and a PF holding a once-linked VF is never linked', () => {
    expect(firstHazard([{ op: 'symlink', path: `${EPC}/l0`, target: T }, { op: 'symlink', path: `${V}/vf`, target: T }], safe)).toMatchObject({ index: 1 });
    expect(firstHazard([{ op: 'symlink', path: `${V}/vf`, target: T }, { op: 'symlink', path: `${EPC}/l0`, target: T }, { op: 'symlink', path: `${V}/primary/p`, target: EPC }], safe)).toMatchObject({ index: 2 });
  });

  it('C3: no unlink through primary/ on a kernel without the fix', () => {
    const ops: Op[] = [{ op: 'symlink', path: `${V}/primary/p`, target: EPC }, { op: 'unlink', path: `${V}/primary/p` }];
    expect(firstHazard(ops, safe)).toBeUndefined();
    expect(firstHazard(ops, { subLinkUnlinkSafe: false })).toMatchObject({ index: 1 });
  });

  it('6.12.117: no second vNTB link in a boot (it oopsed there), allowed where rebinding is safe', () => {
    const ops: Op[] = [
      { op: 'symlink', path: `${EPC}/l0`, target: V },
      { op: 'unlink', path: `${EPC}/l0` },
      { op: 'symlink', path: `${EPC}/l1`, target: 'functions/pci_epf_vntb/v2' },
    ];
    expect(firstHazard(ops, { subLinkUnlinkSafe: false, vntbRebindSafe: false })).toMatchObject({ index: 2 });
    expect(firstHazard(ops, { subLinkUnlinkSafe: true, vntbRebindSafe: true })).toBeUndefined();
  });

  it('only well-typed link targets (allow_link casts without a check); links where no allow_link is are harmless', () => {
    const g = new HazardGuard(safe);
    expect(g.refuse({ op: 'symlink', path: `${T}/primary/p`, target: V })).toBeDefined();
    expect(g.refuse({ op: 'symlink', path: `${EPC}/l`, target: EPC })).toBeDefined();
    expect(g.refuse({ op: 'symlink', path: `${EPC}/../x/l`, target: T })).toBeDefined();
    expect(g.refuse({ op: 'symlink', path: 'controllers/l', target: T })).toBeUndefined();
  });

  it('every sub-list of a generated list is admitted too (what the shrinker relies on)', () => {
    const ops = generateOps({ seed: 7, count: 400, drivers: ['pci_epf_test', 'pci_epf_vntb'], controllers: ['7e000000.pcie-ep'], subLinkUnlinkSafe: false });
    expect(firstHazard(ops, { subLinkUnlinkSafe: false })).toBeUndefined();
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: ops.length, maxLength: ops.length }), (keep) => {
        expect(firstHazard(ops.filter((_, i) => keep[i]), { subLinkUnlinkSafe: false })).toBeUndefined();
      }),
      { numRuns: 50, seed: 1 },
    );
  });
});
