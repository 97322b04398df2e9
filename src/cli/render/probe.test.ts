// The human probe view shows the NVMe planner's facts briefly: the online CPUs on one header
// line, each controller's outbound windows with the DT property they rest on.
import { describe, expect, it } from 'vitest';
import { createFakeKernel } from '../../fake/index.js';
import { probe } from '../../probe/probe.js';
import { renderProbe } from './probe.js';

describe('renderProbe', () => {
  it('shows the online CPUs and a Cadence controller’s outbound windows', async () => {
    const text = renderProbe(await probe(createFakeKernel({ board: 'qemu-virt' })));
    expect(text).toMatch(/^cpus {7}1 online$/m);
    expect(text).toContain('  outbound windows: 16 (DT cdns,max-outbound-regions)');
  });

  it('says that a DesignWare num-ob-windows is only the DT’s word', async () => {
    const text = renderProbe(await probe(createFakeKernel({ board: 'imx8mp' })));
    expect(text).toContain('  outbound windows: 4 (DT num-ob-windows, deprecated: the DesignWare driver detects the count in the iATU)');
  });

  it('leaves out what is unknown', async () => {
    const s = await probe(createFakeKernel({ board: 'imx95' }));
    const text = renderProbe({ ...s, onlineCpus: null });
    expect(text).not.toMatch(/^cpus /m);
    expect(text).not.toContain('outbound windows');
  });
});
