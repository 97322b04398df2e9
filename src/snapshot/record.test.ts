// snapshot() when writing fails partway: the error names the target and the fix (exit 73), and
// what the run created — the directory, or the archive and its staging directory — is gone.
import { describe, it, expect } from 'vitest';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createFakeKernel } from '../fake/index.js';
import type { KernelPort } from '../kernel/port.js';
import { KernelError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import { snapshot } from './record.js';
import { tempDirs } from '../../test/helpers/tmp.js';

const tmp = tempDirs('epctl-record');

/**
 * A board whose reads, once the copy has begun writing into WATCH, replace that directory by a
 * file: every later write under it fails (ENOTDIR/EEXIST), as a vanished or broken disk would.
 */
function sabotaging(inner: KernelPort, watch: () => string | undefined): KernelPort {
  let done = false;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const dir = watch();
        if (!done && dir && fsSync.existsSync(dir) && fsSync.readdirSync(dir).length > 0) {
          done = true;
          fsSync.rmSync(dir, { recursive: true });
          fsSync.writeFileSync(dir, 'not a directory any more');
        }
        return v.apply(target, args);
      };
    },
  });
}

describe('snapshot when writing fails partway', () => {
  it('into a directory: exit 73 naming it, and the directory it created is removed', async () => {
    const dir = await tmp();
    const target = path.join(dir, 'rec');
    const port = sabotaging(createFakeKernel({ board: 'imx95' }), () => target);
    const err = await snapshot(port, target).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: EXIT.CANT_WRITE, message: expect.stringContaining(`cannot write the snapshot ${target}`), hint: expect.any(String) });
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('into an archive: exit 73, and neither the archive nor its staging directory is left', async () => {
    const dir = await tmp();
    const target = path.join(dir, 'board.tar.gz');
    const stage = (): string | undefined => {
      const s = fsSync.readdirSync(dir).find((n) => n.startsWith('.epctl-snapshot-'));
      return s && path.join(dir, s, 'board');
    };
    const port = sabotaging(createFakeKernel({ board: 'imx95' }), stage);
    const err = await snapshot(port, target).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: EXIT.CANT_WRITE, message: expect.stringContaining('removed what this run wrote') });
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('a kernel error while reading leaves that entry out and lists it, and the recording is still made', async () => {
    const dir = await tmp();
    const target = path.join(dir, 'rec');
    const fake = createFakeKernel({ board: 'imx95' });
    let copying = false;
    const port = new Proxy(fake, {
      get(t, prop, r) {
        const v = Reflect.get(t, prop, r);
        if (prop !== 'readdir' || typeof v !== 'function') return v;
        return (p: string) => {
          copying ||= fsSync.existsSync(target) && fsSync.readdirSync(target).length > 0;
          if (copying) return Promise.reject(new KernelError({ code: 'EIO', syscall: 'scandir', path: p }));
          return v.call(t, p);
        };
      },
    });
    const r = await snapshot(port, target);
    expect(r.unrecorded.length).toBeGreaterThan(0);
    expect(r.unrecorded.every((u) => u.code === 'EIO' && u.path.startsWith('/'))).toBe(true);
    const manifest = JSON.parse(await fs.readFile(path.join(target, 'epctl-snapshot.json'), 'utf8')) as { unrecorded: unknown[] };
    expect(manifest.unrecorded).toEqual(JSON.parse(JSON.stringify(r.unrecorded)));
  });
});
