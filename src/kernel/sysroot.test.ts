import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SysrootKernel } from './sysroot.js';

async function board(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-sysroot-'));
  await fs.mkdir(path.join(dir, 'sys/devices/platform/x.pcie-ep/pci_epc/x.pcie-ep'), { recursive: true });
  await fs.mkdir(path.join(dir, 'sys/class/pci_epc'), { recursive: true });
  await fs.symlink('../../devices/platform/x.pcie-ep/pci_epc/x.pcie-ep', path.join(dir, 'sys/class/pci_epc/x.pcie-ep'));
  await fs.mkdir(path.join(dir, 'proc'));
  await fs.writeFile(path.join(dir, 'proc/version'), 'Linux version 7.3.4 (a@b) #1\n');
  return dir;
}

describe('SysrootKernel', () => {
  it('reads kernel paths under the recorded root, relative symlinks resolving inside it', async () => {
    const k = new SysrootKernel(await board());
    expect(new TextDecoder().decode(await k.read('/proc/version'))).toContain('7.3.4');
    expect(await k.readlink('/sys/class/pci_epc/x.pcie-ep')).toBe('../../devices/platform/x.pcie-ep/pci_epc/x.pcie-ep');
    expect((await k.stat('/sys/class/pci_epc/x.pcie-ep')).kind).toBe('dir');
  });

  it('cannot climb out of the root with ..', async () => {
    const root = await board();
    const k = new SysrootKernel(root);
    expect(k.host('/../../etc/passwd')).toBe(path.join(root, 'etc/passwd'));
    await expect(k.read('/../../etc/passwd')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses every change with EROFS, naming the recording', async () => {
    const root = await board();
    const k = new SysrootKernel(root);
    for (const p of [k.write('/proc/version', '1'), k.mkdir('/sys/x'), k.rmdir('/sys/class'), k.symlink('/a', '/sys/b'), k.unlink('/proc/version')])
      await expect(p).rejects.toMatchObject({ code: 'EROFS', hint: expect.stringContaining(root) });
  });
});
