// /dev/kmsg as the fake serves it (kernel/printk/printk.c devkmsg_read: "<level>,<seq>,<usec>,<flags>;<text>"):
// the records already in the ring, then new ones as the kernel prints them, until the reader stops.
import { describe, it, expect } from 'vitest';
import { createFakeKernel } from '../../src/fake/index.js';

describe('/dev/kmsg on the fake kernel', () => {
  it('streams the ring, then the lines a later configfs call prints, until aborted', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    const ac = new AbortController();
    const seen: string[] = [];
    const reader = (async () => {
      for await (const line of k.lines('/dev/kmsg', { signal: ac.signal })) {
        seen.push(line);
        if (line.includes('failed to start endpoint controller')) ac.abort();
      }
    })();
    k.injectFault({ op: 'epc_start', path: '**/start', errno: 'EIO' });
    await expect(k.write('/sys/kernel/config/pci_ep/controllers/7e000000.pcie-ep/start', '1')).rejects.toMatchObject({ code: 'EINVAL' });
    await reader;
    expect(seen[0]).toMatch(/^6,0,\d+,-;Booting Linux/);
    expect(seen.at(-1)).toMatch(/^3,\d+,\d+,-;pci_epc 7e000000\.pcie-ep: failed to start endpoint controller$/);
    const seqs = seen.map((l) => Number(l.split(',')[1]));
    expect(seqs).toEqual(seqs.map((_, i) => i));
  });

  it('escapes control bytes of a record as \\xNN, as devkmsg_read does (observed 7.3.4: nvmet trtype)', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
    await k.mkdir('/sys/kernel/config/nvmet/ports/1');
    await expect(k.write('/sys/kernel/config/nvmet/ports/1/addr_trtype', 'nonsense\n')).rejects.toMatchObject({ code: 'EINVAL' });
    const ac = new AbortController();
    let last = '';
    for await (const line of k.lines('/dev/kmsg', { signal: ac.signal })) {
      if (line.includes('for trtype')) {
        last = line;
        ac.abort();
      }
    }
    expect(last).toMatch(/^3,\d+,\d+,-;nvmet: Invalid value 'nonsense\\x0a' for trtype$/);
    // dmesg-style records keep the byte itself.
    expect(k.dmesg().at(-1)).toBe("nvmet: Invalid value 'nonsense\n' for trtype");
  });

  it('has no trace_pipe on a kernel without FTRACE: ENOENT', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '6.12', config: { FTRACE: 'n' } });
    const it = k.lines('/sys/kernel/tracing/trace_pipe')[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
