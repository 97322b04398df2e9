// controllers/<epc>/start: the cached flag, kstrtobool parsing, EALREADY by version and a
// failing pci_epc_start() (pci-ep-cfs.c; EALREADY since v6.5; zero-length write observed 7.3.4).
import { describe, expect, it } from 'vitest';
import { boot, cat, epcPath, logSince } from './helpers.js';

const START = `${epcPath()}/start`;

describe('start on 7.3.4', () => {
  // pci-ep-cfs.c, observed 6.12: read "0\n" or "1\n", the last successful write (nothing written yet: 0)
  it('reads "0\\n" at boot', async () => {
    const fake = await boot('7.3');
    expect(await cat(fake, START)).toBe('0\n');
  });

  // pci-ep-cfs.c, observed 6.12: a cached flag = last successful write
  it('reads "1\\n" after 1 was written and "0\\n" after 0', async () => {
    const fake = await boot('7.3');
    await fake.write(START, '1\n');
    expect(await cat(fake, START)).toBe('1\n');
    await fake.write(START, '0\n');
    expect(await cat(fake, START)).toBe('0\n');
  });

  // pci-ep-cfs.c: true y Y t T 1 on; observed 7.3.4: trailing characters ignored (true, yes, On, 10, "1 ")
  it.each(['y', 'Y', 't', 'T', '1', 'on', '1\n', 'true', 'yes', 'On', '10', '1 '])('%j starts the controller', async (data) => {
    const fake = await boot('7.3');
    await fake.write(START, data);
    expect(await cat(fake, START)).toBe('1\n');
  });

  // pci-ep-cfs.c: false n N f F 0 off; observed 7.3.4: false, no, OFF, of
  it.each(['n', 'N', 'f', 'F', '0', 'off', '0\n', 'false', 'no', 'OFF', 'of'])('%j stops a started controller', async (data) => {
    const fake = await boot('7.3');
    await fake.write(START, '1');
    await fake.write(START, data);
    expect(await cat(fake, START)).toBe('0\n');
  });

  // pci-ep-cfs.c: " 1", "o", "2", "bogus", "\n" → EINVAL (observed 7.3.4)
  it.each([' 1', 'o', '2', 'bogus', '\n'])('%j fails with EINVAL and leaves the flag as it was', async (data) => {
    const fake = await boot('7.3');
    await expect(fake.write(START, data)).rejects.toMatchObject({ code: 'EINVAL', syscall: 'write', path: START });
    expect(await cat(fake, START)).toBe('0\n');
    await fake.write(START, '1');
    await expect(fake.write(START, data)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(await cat(fake, START)).toBe('1\n');
  });

  // pci-ep-cfs.c: a zero-length write → EFAULT (observed 7.3.4)
  it('a zero-length write fails with EFAULT', async () => {
    const fake = await boot('7.3');
    await expect(fake.write(START, '')).rejects.toMatchObject({ code: 'EFAULT' });
    expect(await cat(fake, START)).toBe('0\n');
  });

  // pci-ep-cfs.c, observed 6.12: any pci_epc_start() failure → EINVAL whatever the real errno, the log line, flag unchanged
  it('a failing pci_epc_start() gives EINVAL, logs "failed to start endpoint controller" and leaves start at 0', async () => {
    const fake = await boot('7.3');
    fake.injectFault({ op: 'epc_start', path: START, errno: 'ENOMEM' });
    const mark = fake.dmesg().length;
    await expect(fake.write(START, '1')).rejects.toMatchObject({ code: 'EINVAL' });
    expect(logSince(fake, mark)).toContainEqual(expect.stringContaining('pci_epc 7e000000.pcie-ep: failed to start endpoint controller'));
    expect(await cat(fake, START)).toBe('0\n');
  });

  // pci-ep-cfs.c, observed 6.12 with api.ts FaultRule (nth 1 = the next matching operation only)
  it('start succeeds on the next write after an injected pci_epc_start() failure', async () => {
    const fake = await boot('7.3');
    fake.injectFault({ op: 'epc_start', path: START, errno: 'EIO' });
    await expect(fake.write(START, '1')).rejects.toMatchObject({ code: 'EINVAL' });
    await fake.write(START, '1');
    expect(await cat(fake, START)).toBe('1\n');
  });

  // pci-ep-cfs.c, observed 6.12: no linked function is required for start — [inferred], not tested as fact;
  // the tests above start an EPC with nothing linked only because the flag is cached either way.

  // i.MX95: each controller has its own start (pci-ep-cfs.c, observed 6.12: one start per EPC)
  it('on imx95 each EPC has its own start flag', async () => {
    const fake = await boot('7.3', 'imx95');
    await fake.write(`${epcPath('4c380000.pcie-ep')}/start`, '1');
    expect(await cat(fake, `${epcPath('4c380000.pcie-ep')}/start`)).toBe('1\n');
    expect(await cat(fake, `${epcPath('4c300000.pcie-ep')}/start`)).toBe('0\n');
  });
});

describe.each(['6.12', '7.3'] as const)('EALREADY on %s', (kernel) => {
  // pci-ep-cfs.c since v6.5: 6.12+ the cached value again → EALREADY, including an initial echo 0
  it('an initial write of 0 fails with EALREADY', async () => {
    const fake = await boot(kernel);
    await expect(fake.write(START, '0\n')).rejects.toMatchObject({ code: 'EALREADY' });
    expect(await cat(fake, START)).toBe('0\n');
  });

  // pci-ep-cfs.c, observed 6.12: both 1→1 and 1→on
  it('writing 1 or on to a started controller fails with EALREADY and it stays started', async () => {
    const fake = await boot(kernel);
    await fake.write(START, '1');
    await expect(fake.write(START, '1')).rejects.toMatchObject({ code: 'EALREADY' });
    await expect(fake.write(START, 'on')).rejects.toMatchObject({ code: 'EALREADY' });
    expect(await cat(fake, START)).toBe('1\n');
  });

  // pci-ep-cfs.c, observed 6.12: 0→0 after a stop
  it('writing 0 to a stopped controller fails with EALREADY', async () => {
    const fake = await boot(kernel);
    await fake.write(START, '1');
    await fake.write(START, '0');
    await expect(fake.write(START, '0')).rejects.toMatchObject({ code: 'EALREADY' });
  });
});

describe('start on 6.1', () => {
  // observed 6.1 — write of the cached value succeeds, no-op
  it('writing the cached value again succeeds', async () => {
    const fake = await boot('6.1');
    await expect(fake.write(START, '0\n')).resolves.toBe(2);
    await fake.write(START, '1\n');
    await expect(fake.write(START, '1\n')).resolves.toBe(2);
    expect(await cat(fake, START)).toBe('1\n');
  });
});
