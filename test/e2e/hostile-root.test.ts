// `epctl probe --root` on broken or hostile recordings, as a directory and as a .tar.gz of the
// same files: the CLI ends quickly with the documented exit code, one line naming the path and
// a fix line, never a stack trace, and never shows a host file a link points at.
import { beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as tar from 'tar';
import { epctl, noStackTrace } from '../helpers/cli.js';
import { fixtureArchive } from '../helpers/fixtures.js';
import { tempDirs } from '../helpers/tmp.js';

const tmp = tempDirs('epctl-hostile', { each: true });
let base: string;
beforeEach(async () => {
  base = await tmp();
});

const START = 'sys/kernel/config/pci_ep/controllers/4c300000.pcie-ep/start';

/**
 * Each case breaks a copy of the i.MX95 recording. `exit` is today's code; any of the two data
 * classes (3 no board, 7 unreadable kernel data) is accepted, so probe may later report a
 * spoiled entry as a problem rather than end on it.
 */
const CASES: { name: string; exit: number; path: string; says: string; breakIt(root: string, outside: string): Promise<void> }[] = [
  {
    name: '/proc/version is a FIFO',
    exit: 7,
    path: '/proc/version',
    says: 'FIFO',
    breakIt: async (root) => {
      await fs.rm(path.join(root, 'proc/version'));
      execFileSync('mkfifo', [path.join(root, 'proc/version')]);
    },
  },
  {
    name: 'a configfs attribute larger than a page',
    exit: 7,
    path: `/${START}`,
    says: '64 KiB',
    breakIt: (root) => fs.writeFile(path.join(root, START), Buffer.alloc(70_000, 0x31)),
  },
  {
    name: 'a link loop in /sys/class/pci_epc',
    exit: 7,
    path: '/sys/class/pci_epc/loop',
    says: 'link loop',
    breakIt: async (root) => {
      await fs.symlink('loop2', path.join(root, 'sys/class/pci_epc/loop'));
      await fs.symlink('loop', path.join(root, 'sys/class/pci_epc/loop2'));
    },
  },
  {
    name: '/proc/version an absolute link to a host file',
    exit: 3,
    path: '/proc/version',
    says: 'missing',
    breakIt: async (root, outside) => {
      await fs.rm(path.join(root, 'proc/version'));
      await fs.symlink(outside, path.join(root, 'proc/version'));
    },
  },
];

describe('epctl probe --root on a broken recording', () => {
  for (const c of CASES)
    it(`${c.name}: exit ${c.exit}, the path named with a fix, as a directory and as a .tar.gz`, async () => {
      // A host file that looks like /proc/version: a link that escaped would make probe use it.
      const outside = path.join(base, 'version');
      await fs.writeFile(outside, 'Linux version 9.9.9-escaped (x@y) #1\n');
      const root = path.join(base, 'root');
      await fs.mkdir(root);
      await tar.extract({ file: fixtureArchive('imx95'), cwd: root, preserveOwner: false });
      await c.breakIt(root, outside);
      const file = path.join(base, 'board.tar.gz');
      execFileSync('tar', ['-czf', file, '-C', root, '.']);
      for (const r of [await epctl(['probe', '--root', root]), await epctl(['probe', '--root', file])]) {
        expect([c.exit, 3, 7], r.stderr).toContain(r.exitCode);
        expect(r.stdout + r.stderr).toContain(c.path);
        expect(r.stdout + r.stderr).toContain(c.says);
        expect(r.stdout + r.stderr).toMatch(/fix: /);
        expect(r.stdout + r.stderr).not.toContain('9.9.9-escaped');
        expect(noStackTrace(r)).toBe(true);
      }
    });
});
