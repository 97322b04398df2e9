// The pci-epf bus in sysfs is rebuilt incrementally (only the devices that changed): after any
// sequence of mkdir, rmdir, rmmod and modprobe it must equal the bus a fresh kernel builds in
// full from the same model.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createFakeKernel, loadFakeKernel, type FakeKernel } from './index.js';

const FUNCS = '/sys/kernel/config/pci_ep/functions';

async function tree(k: FakeKernel, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await k.readdir(dir).catch(() => [])).sort()) {
    const p = `${dir}/${name}`;
    const st = await k.lstat(p);
    out.push(st.kind === 'symlink' ? `${p} -> ${await k.readlink(p)}` : `${p} ${st.kind}`);
    if (st.kind === 'dir') out.push(...(await tree(k, p)));
  }
  return out;
}
const bus = async (k: FakeKernel) => [...(await tree(k, '/sys/bus/pci-epf')), ...(await tree(k, '/sys/devices')).filter((l) => l.includes('pci_epf_'))];

describe('the fake pci-epf bus', () => {
  it('after any mkdir/rmdir/rmmod/modprobe sequence equals a full rebuild from the same model', async () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('mkdir' as const), driver: fc.constantFrom('pci_epf_test', 'pci_epf_vntb'), name: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ op: fc.constant('rmdir' as const), driver: fc.constantFrom('pci_epf_test', 'pci_epf_vntb'), name: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ op: fc.constantFrom('rmmod' as const, 'modprobe' as const), driver: fc.constantFrom('pci_epf_test', 'pci_epf_vntb'), name: fc.constant('') }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        // qemu-virt with both drivers as modules, so rmmod and modprobe apply.
        const k = createFakeKernel({ board: 'qemu-virt', config: { PCI_EPF_TEST: 'm', PCI_EPF_VNTB: 'm' } });
        for (const o of ops) {
          try {
            if (o.op === 'mkdir') await k.mkdir(`${FUNCS}/${o.driver}/${o.name}`);
            else if (o.op === 'rmdir') await k.rmdir(`${FUNCS}/${o.driver}/${o.name}`);
            else if (o.op === 'rmmod') k.rmmod(o.driver);
            else await k.loadModule(o.driver);
          } catch {
            // ENOENT, EEXIST and the like: the sequence goes on, as a shell script would.
          }
          expect(await bus(k)).toEqual(await bus(loadFakeKernel(k.toState())));
        }
      }),
      { numRuns: 60 },
    );
  });
});
