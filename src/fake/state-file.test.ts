// --mock-state files (state-file.ts, state-schema.ts): what the fake saves always passes the
// schema it is checked against on load, and a save that fails leaves no temp file behind.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createFakeKernel, loadFakeKernel } from './index.js';
import { BOARDS, boardNames } from '../boards/index.js';
import { fakeStateSchema } from './state-schema.js';
import { readStateFile, writeStateFile } from './state-file.js';
import { EXIT } from '../exit-codes.js';
import { mkLinkable, mkVntb, linkToEpc, linkVf, startEpc, mkfn, boot } from '../../test/fake/helpers.js';
import { tempDirs } from '../../test/helpers/tmp.js';

const tmp = tempDirs('epctl-state');

const schema = fakeStateSchema(boardNames());

describe('the state schema', () => {
  it.each(Object.keys(BOARDS))('accepts the state of a freshly booted %s on every modelled kernel', (board) => {
    for (const kernel of ['6.1', '6.12', '7.3']) {
      const r = schema.safeParse(JSON.parse(JSON.stringify(createFakeKernel({ board, kernel }).toState())));
      expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
    }
  });

  it('accepts the state of a busy kernel: functions, links, a VF, a vNTB, a started EPC, an armed fault', async () => {
    const fake = await boot('7.3');
    const pf = await mkLinkable(fake, 'pci_epf_test', 'pf');
    await linkToEpc(fake, pf);
    // A second PF with a VF (the qemu EPC takes no VFs, so it stays unlinked).
    await linkVf(fake, await mkLinkable(fake, 'pci_epf_test', 'pf2'), await mkfn(fake, 'pci_epf_test', 'vf'));
    await mkVntb(fake, 'vntb1');
    await startEpc(fake);
    fake.injectFault({ op: 'mkdir', path: '/sys/kernel/config/pci_ep/functions/*/*', errno: 'EIO', nth: 3 });
    const state = JSON.parse(JSON.stringify(fake.toState()));
    const r = schema.safeParse(state);
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
    expect(() => loadFakeKernel(r.data!)).not.toThrow();
  });
});

describe('writeStateFile', () => {
  it('saves atomically and reads back what it saved', async () => {
    const file = path.join(await tmp(), 'board.json');
    const state = createFakeKernel({ board: 'imx95' }).toState();
    await writeStateFile(file, state);
    expect(await readStateFile(file)).toEqual(JSON.parse(JSON.stringify(state)));
    expect(await fs.readdir(path.dirname(file))).toEqual(['board.json']);
  });

  it('a save that fails exits 73 naming the file, and leaves no temp file', async () => {
    const dir = await tmp();
    // rename() onto a non-empty directory fails after the temp file was written.
    const file = path.join(dir, 'board.json');
    await fs.mkdir(file);
    await fs.writeFile(path.join(file, 'keep'), 'x');
    const err = await writeStateFile(file, createFakeKernel({ board: 'imx95' }).toState()).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: EXIT.CANT_WRITE, message: expect.stringContaining(`cannot write the mock state ${file}`), hint: expect.any(String) });
    expect((await fs.readdir(dir)).sort()).toEqual(['board.json']);
  });
});

describe('readStateFile refuses what a snapshot target would refuse', () => {
  it('a path in a kernel-owned tree, and a dangling link, exit 64 before anything is written', async () => {
    await expect(readStateFile('/proc/epctl-state.json')).rejects.toMatchObject({ exitCode: EXIT.USAGE, message: expect.stringContaining('under /proc, which the kernel owns') });
    const dir = await tmp();
    await fs.symlink('/nonexistent/x.json', path.join(dir, 'dang.json'));
    await expect(readStateFile(path.join(dir, 'dang.json'))).rejects.toMatchObject({ exitCode: EXIT.USAGE, message: expect.stringContaining('dangling symbolic link') });
    expect((await fs.lstat(path.join(dir, 'dang.json'))).isSymbolicLink()).toBe(true);
  });

  it('a controller whose name is not one path component, or not the key it is saved under', async () => {
    const dir = await tmp();
    const state = createFakeKernel({ board: 'imx95' }).toState() as unknown as { model: { controllers: Record<string, { name: string }> } };
    for (const [key, name] of [['../evil', '../evil'], ['4c300000.pcie-ep', '../../etc']] as const) {
      const copy = JSON.parse(JSON.stringify(state)) as typeof state;
      const c = copy.model.controllers['4c300000.pcie-ep']!;
      delete copy.model.controllers['4c300000.pcie-ep'];
      copy.model.controllers[key] = { ...c, name };
      const file = path.join(dir, `s-${key.length}.json`);
      await fs.writeFile(file, JSON.stringify(copy));
      await expect(readStateFile(file)).rejects.toMatchObject({ exitCode: EXIT.USAGE, message: expect.stringContaining('controllers') });
    }
  });
});
