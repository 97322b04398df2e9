// Configfs sequences that oops the kernel (observed 7.3.4 only; 6.1 and 6.12
// "not tried", so no other version is tested) and the safe variants next to them.
// Root cause (pci-epf-core.c): is_bound is set by the first successful bind and only cleared by rmdir.
// H4 (doorbell DISABLE after a failed ENABLE) is host-triggered, not a configfs sequence: not here.
import { describe, expect, it } from 'vitest';
import {
  boot,
  countMatching,
  epcPath,
  linkPrimary,
  linkSecondary,
  linkToEpc,
  linkVf,
  logSince,
  mkLinkable,
  mkVntb,
  type FakeKernel,
} from './helpers.js';

const NULL_264 = 'Unable to handle kernel NULL pointer dereference at virtual address 0000000000000264';
const NULL_0 = 'Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000';
const INTERNAL_ERROR = 'Internal error: Oops: 0000000096000006 [#1]  SMP';
const END_TRACE = '---[ end trace 0000000000000000 ]---';

/** Frames in the oops call trace, innermost first, each in order (observed 7.3.4). */
function expectTrace(lines: readonly string[], frames: readonly string[]): void {
  const callTrace = lines.findIndex((l) => l.includes('Call trace:'));
  expect(callTrace).toBeGreaterThanOrEqual(0);
  let at = callTrace;
  for (const f of frames) {
    const next = lines.findIndex((l, i) => i > at && new RegExp(`^\\s*${f}\\+0x[0-9a-f]+/0x[0-9a-f]+`).test(l.replace(/^<\d>/, '')));
    expect(next, `frame ${f} after line ${at}`).toBeGreaterThan(at);
    at = next;
  }
}

/** A pci_epf_test function that has been bound once and unlinked (is_bound stays set, pci-epf-core.c). */
async function boundOnceThenUnlinked(fake: FakeKernel, name = 'func1'): Promise<string> {
  const fn = await mkLinkable(fake, 'pci_epf_test', name);
  await fake.unlink(await linkToEpc(fake, fn, undefined, `l-${name}`));
  return fn;
}

describe('H1: pci_epf_test linked through secondary/ after a bind', () => {
  // observed 7.3.4, pci_epf_test_unbind oops: link, unlink, then ln -s controllers/<epc> <func>/secondary/<any> oopses
  it('the secondary/ link call rejects with KernelOops and taints the kernel', async () => {
    const fake = await boot('7.3');
    const fn = await boundOnceThenUnlinked(fake);
    await expect(linkSecondary(fake, fn)).rejects.toMatchObject({ name: 'KernelOops', syscall: 'symlink' });
    expect(fake.tainted).toBe(true);
  });

  // observed 7.3.4, pci_epf_test_unbind oops: the WARN at pci-epf-test.c:1348 (first in this boot), then the NULL dereference at 0x264
  it('logs the pci-epf-test.c:1348 WARN, then the oops at 0x264 in pci_epf_test_unbind', async () => {
    const fake = await boot('7.3');
    const fn = await boundOnceThenUnlinked(fake);
    const mark = fake.dmesg().length;
    await linkSecondary(fake, fn).catch(() => undefined);
    const lines = logSince(fake, mark);
    const warn = lines.findIndex((l) => l.includes('pci-epf-test.c:1348 at pci_epf_test_bind'));
    const oops = lines.findIndex((l) => l.includes(NULL_264));
    expect(warn).toBeGreaterThanOrEqual(0);
    expect(oops).toBeGreaterThan(warn);
    expect(lines).toContainEqual(expect.stringContaining('Mem abort info:'));
    expect(lines).toContainEqual(expect.stringContaining(INTERNAL_ERROR));
    expect(lines).toContainEqual(expect.stringContaining('pc : pci_epf_test_unbind+0x24/0x7c'));
    expect(lines).toContainEqual(expect.stringContaining('Code: '));
    expect(lines).toContainEqual(expect.stringContaining(END_TRACE));
  });

  // observed 7.3.4: "a WARN had come first each time" → Tainted W in the oops CPU line
  it('the oops CPU line shows the W taint of the WARN before it', async () => {
    const fake = await boot('7.3');
    const fn = await boundOnceThenUnlinked(fake);
    const mark = fake.dmesg().length;
    await linkSecondary(fake, fn).catch(() => undefined);
    const all = logSince(fake, mark);
    const lines = all.slice(all.findIndex((l) => l.includes(NULL_264)));
    expect(lines).toContainEqual(expect.stringMatching(/CPU: 0 UID: 0 PID: \d+ Comm: \S+ Tainted: G {8}W {11}7\.3\.4 #1 PREEMPTLAZY/));
    expect(lines).toContainEqual(expect.stringContaining('Tainted: [W]=WARN'));
  });

  // observed 7.3.4, pci_epf_test_unbind oops trace
  it('the call trace runs from pci_epf_test_unbind to __arm64_sys_symlinkat through pci_secondary_epc_epf_link', async () => {
    const fake = await boot('7.3');
    const fn = await boundOnceThenUnlinked(fake);
    const mark = fake.dmesg().length;
    await linkSecondary(fake, fn).catch(() => undefined);
    expectTrace(logSince(fake, mark), [
      'pci_epf_test_unbind',
      'pci_epf_unbind',
      'pci_epf_bind',
      'pci_secondary_epc_epf_link',
      'configfs_symlink',
      'vfs_symlink',
      '__arm64_sys_symlinkat',
    ]);
  });

  // api.ts KernelOops.log (the oops lines) and OpLogEntry.result 'oops'
  it('the KernelOops carries the oops lines and the op log records the call as "oops"', async () => {
    const fake = await boot('7.3');
    const fn = await boundOnceThenUnlinked(fake);
    const err = await linkSecondary(fake, fn).then(
      () => undefined,
      (e: unknown) => e as { log: readonly string[] },
    );
    expect(err?.log).toContainEqual(expect.stringContaining(NULL_264));
    expect(fake.opLog.at(-1)).toMatchObject({ op: 'symlink', path: `${fn}/secondary/s1`, result: 'oops' });
  });

  // observed 7.3.4 consequences: rmdir + mkdir clears the hazard (new EPF device): a never-bound
  // pci_epf_test through secondary/ gets EINVAL (observed 7.3.4), not an oops
  it('after rmdir and mkdir the same secondary/ link fails with EINVAL instead of oopsing', async () => {
    const fake = await boot('7.3');
    const fn = await boundOnceThenUnlinked(fake);
    await fake.rmdir(fn);
    await mkLinkable(fake, 'pci_epf_test', 'func1');
    await expect(linkSecondary(fake, fn)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(countMatching(fake.dmesg(), 'Unable to handle kernel')).toBe(0);
  });
});

describe('H2: vNTB linked only through secondary/, then unlinked', () => {
  // observed 7.3.4, epf_ntb_unbind oops: the secondary/ link returns 0 with no log; removing it oopses
  it('unlinking the secondary/ link rejects with KernelOops and taints the kernel', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const link = await linkSecondary(fake, fn);
    await expect(fake.unlink(link)).rejects.toMatchObject({ name: 'KernelOops', syscall: 'unlink' });
    expect(fake.tainted).toBe(true);
  });

  // observed 7.3.4, epf_ntb_unbind oops: NULL at 0, pc in pci_unregister_driver, and the preempt_count note
  it('logs the oops at address 0 in pci_unregister_driver and the preempt_count note', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const link = await linkSecondary(fake, fn);
    const mark = fake.dmesg().length;
    await fake.unlink(link).catch(() => undefined);
    const lines = logSince(fake, mark);
    expect(lines).toContainEqual(expect.stringContaining(NULL_0));
    expect(lines).toContainEqual(expect.stringContaining(INTERNAL_ERROR));
    expect(lines).toContainEqual(expect.stringContaining('pc : pci_unregister_driver+0x44/0x8c'));
    expect(lines).toContainEqual(expect.stringMatching(/note: \S+\[\d+\] exited with preempt_count 1/));
    expect(lines).toContainEqual(expect.stringContaining(END_TRACE));
  });

  // observed 7.3.4, epf_ntb_unbind oops trace
  it('the call trace runs from pci_unregister_driver to __arm64_sys_unlinkat through pci_secondary_epc_epf_unlink', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const link = await linkSecondary(fake, fn);
    const mark = fake.dmesg().length;
    await fake.unlink(link).catch(() => undefined);
    expectTrace(logSince(fake, mark), [
      'pci_unregister_driver',
      'epf_ntb_unbind',
      'pci_epf_unbind',
      'pci_secondary_epc_epf_unlink',
      'configfs_unlink',
      'vfs_unlink',
      '__arm64_sys_unlinkat',
    ]);
  });

  // observed 7.3.4 consequences: rmdir is refused while such a link exists (the errno for a
  // secondary/ link is ENOTEMPTY only [inferred], so only the refusal is checked)
  it('rmdir of the function is refused while the secondary/ link exists, without an oops', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    await linkSecondary(fake, fn);
    await expect(fake.rmdir(fn)).rejects.toHaveProperty('code');
    expect(await fake.exists(fn)).toBe(true);
    expect(fake.tainted).toBe(false);
  });

  // observed 7.3.4: a re-link whose bind succeeds is harmless (vNTB re-linked, observed)
  it('a vNTB unlinked from primary/ and linked again through primary/ does not oops', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    await fake.unlink(await linkPrimary(fake, fn));
    const link = await linkPrimary(fake, fn);
    await fake.unlink(link);
    expect(countMatching(fake.dmesg(), 'Unable to handle kernel')).toBe(0);
    expect(fake.tainted).toBe(false);
  });

  // observed 7.3.4: vNTB re-linked through both controllers/ and primary/ (observed)
  it('a vNTB linked from controllers/, unlinked, then linked through primary/ does not oops', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    await fake.unlink(await linkToEpc(fake, fn));
    await fake.unlink(await linkPrimary(fake, fn));
    expect(countMatching(fake.dmesg(), 'Unable to handle kernel')).toBe(0);
  });
});

describe('H3: a previously bound function made the VF of a PF that is then linked', () => {
  // observed 7.3.4, VF unbind oops: the PF's primary/ link fails the VF check and its error path unbinds the stale VF
  it('linking the vNTB PF through primary/ rejects with KernelOops and taints the kernel', async () => {
    const fake = await boot('7.3');
    const vf = await boundOnceThenUnlinked(fake);
    const pf = await mkVntb(fake);
    await linkVf(fake, pf, vf);
    await expect(linkPrimary(fake, pf)).rejects.toMatchObject({ name: 'KernelOops', syscall: 'symlink' });
    expect(fake.tainted).toBe(true);
  });

  // observed 7.3.4, VF unbind oops: "PF<n>: Exceeds max vfunc number", then the oops at 0x264 in pci_epf_test_unbind
  it('logs "Exceeds max vfunc number" and then the oops at 0x264 in pci_epf_test_unbind', async () => {
    const fake = await boot('7.3');
    const vf = await boundOnceThenUnlinked(fake);
    const pf = await mkVntb(fake);
    await linkVf(fake, pf, vf);
    const mark = fake.dmesg().length;
    await linkPrimary(fake, pf).catch(() => undefined);
    const lines = logSince(fake, mark);
    const check = lines.findIndex((l) => /PF\d+: Exceeds max vfunc number/.test(l));
    const oops = lines.findIndex((l) => l.includes(NULL_264));
    expect(check).toBeGreaterThanOrEqual(0);
    expect(oops).toBeGreaterThan(check);
    expect(lines).toContainEqual(expect.stringContaining('pc : pci_epf_test_unbind+0x24/0x7c'));
  });

  // observed 7.3.4, VF unbind oops trace
  it('the call trace runs from pci_epf_test_unbind to __arm64_sys_symlinkat through pci_primary_epc_epf_link', async () => {
    const fake = await boot('7.3');
    const vf = await boundOnceThenUnlinked(fake);
    const pf = await mkVntb(fake);
    await linkVf(fake, pf, vf);
    const mark = fake.dmesg().length;
    await linkPrimary(fake, pf).catch(() => undefined);
    expectTrace(logSince(fake, mark), [
      'pci_epf_test_unbind',
      'pci_epf_unbind',
      'pci_epf_bind',
      'pci_primary_epc_epf_link',
      'configfs_symlink',
      'vfs_symlink',
      '__arm64_sys_symlinkat',
    ]);
  });

  // observed 7.3.4 consequences: rmdir + mkdir of the VF clears the hazard; the PF link then fails cleanly (pci_epf_bind's VF check)
  it('with the VF removed and made again the PF link fails with EINVAL and no oops', async () => {
    const fake = await boot('7.3');
    const vf = await boundOnceThenUnlinked(fake);
    await fake.rmdir(vf);
    await mkLinkable(fake, 'pci_epf_test', 'func1');
    const pf = await mkVntb(fake);
    await linkVf(fake, pf, vf);
    await expect(linkPrimary(fake, pf)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(countMatching(fake.dmesg(), 'Unable to handle kernel')).toBe(0);
    expect(fake.tainted).toBe(false);
  });
});

describe('bound-once state belongs to the EPF device', () => {
  // observed 7.3.4: a re-link whose bind succeeds is harmless
  it('a pci_epf_test function re-linked into controllers/ after unlink does not oops', async () => {
    const fake = await boot('7.3');
    const fn = await boundOnceThenUnlinked(fake);
    await linkToEpc(fake, fn, undefined, 'again');
    expect(await fake.readdir(epcPath())).toContain('again');
    expect(countMatching(fake.dmesg(), 'Unable to handle kernel')).toBe(0);
    expect(fake.tainted).toBe(false);
  });

  // observed 7.3.4: unlink does not clear it and nothing in configfs or sysfs shows it —
  // a bound-once function lists exactly as a fresh one
  it('a bound-once function lists the same entries as a never-bound one', async () => {
    const fake = await boot('7.3');
    const fresh = await mkLinkable(fake, 'pci_epf_test', 'fresh');
    const bound = await boundOnceThenUnlinked(fake, 'bound');
    const strip = (names: string[]) => names.filter((n) => !n.startsWith('pci_epf_test.')).sort();
    expect(strip(await fake.readdir(bound))).toEqual(strip(await fake.readdir(fresh)));
  });
});
