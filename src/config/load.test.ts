// Config files: valid ones load; every invalid one is refused with the file, line, column and
// field, all issues at once; hostile files (any text, alias bombs, special files, huge or
// non-UTF-8 files) never throw anything but ConfigError and never hang.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { stringify } from 'yaml';
import { parseConfig, loadConfig, ConfigError } from './load.js';
import { EXIT } from '../exit-codes.js';
import { tempDirs } from '../../test/helpers/tmp.js';
import { within } from '../../test/helpers/hostile-sysroot.js';

const tmp = tempDirs('epctl-config');

const VALID = `version: 1
controllers:
  auto: { start: true }
functions:
  - driver: pci_epf_test
    name: func1
    controller: auto
    header: { vendorid: 0x104c, deviceid: 0xb500 }
    msi_interrupts: 4
    type: { bar0_size: 131072 }
    doorbell: true
  - driver: pci_epf_vntb
    name: v0
    primary: 4c300000.pcie-ep
    secondary: 4c380000.pcie-ep
    type: { db_count: 4, spad_count: 8, num_mws: 1, mw1: 0x100000 }
`;

const issuesOf = (text: string): ConfigError => {
  try {
    parseConfig(text, 'board.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('accepted');
};

describe('parseConfig', () => {
  it('loads a valid config with the kernel names as written', () => {
    const c = parseConfig(VALID, 'board.yaml');
    expect(c.functions?.[0]).toMatchObject({ driver: 'pci_epf_test', header: { vendorid: 0x104c }, msi_interrupts: 4, doorbell: true });
    expect(c.functions?.[1]).toMatchObject({ primary: '4c300000.pcie-ep', type: { db_count: 4 } });
  });

  it('names the line, column and field of a limit the kernel checks only at link time', () => {
    const e = issuesOf(VALID.replace('msi_interrupts: 4', 'msi_interrupts: 33'));
    expect(e.exitCode).toBe(EXIT.CONFIG);
    expect(e.issues).toEqual([{ line: 9, column: 21, field: 'functions.0.msi_interrupts', message: expect.stringContaining('<=32') }]);
    expect(e.message).toBe(`board.yaml:9:21: functions.0.msi_interrupts: ${e.issues[0]!.message}`);
  });

  it('reports every issue at once: header widths, unknown fields, unsafe names', () => {
    const e = issuesOf(VALID.replace('deviceid: 0xb500', 'deviceid: 0x1b500').replace('name: func1', 'name: ../x').replace('doorbell: true', 'doorbel: true'));
    expect(e.issues.map((i) => i.field).sort()).toEqual(['functions.0', 'functions.0.header.deviceid', 'functions.0.name']);
  });

  it('refuses two functions of one driver with different header values: the kernel shares one header per driver', () => {
    const text = `${VALID}  - driver: pci_epf_test\n    name: func2\n    controller: auto\n    header: { vendorid: 0x1234 }\n`;
    const e = issuesOf(text);
    expect(e.issues).toEqual([{ line: 20, column: 25, field: 'functions.2.header.vendorid', message: expect.stringContaining('functions.0 already sets vendorid to 0x104c') }]);
  });

  it('refuses doorbells on a driver that cannot own them, a duplicate function, and both controller and primary', () => {
    const text = `version: 1\nfunctions:\n  - { driver: pci_epf_ntb, name: n, primary: a, doorbell: true }\n  - { driver: pci_epf_ntb, name: n, primary: a }\n  - { driver: pci_epf_test, name: t, controller: a, primary: b }\n`;
    expect(issuesOf(text).issues.map((i) => `${i.line}:${i.field}`)).toEqual(expect.arrayContaining(['5:functions.2.primary']));
    const cross = `version: 1\nfunctions:\n  - { driver: pci_epf_ntb, name: n, primary: a, doorbell: true }\n  - { driver: pci_epf_ntb, name: n, primary: a }\n`;
    expect(issuesOf(cross).issues.map((i) => `${i.line}:${i.field}`)).toEqual(['3:functions.0.doorbell', '4:functions.1.name']);
  });

  it('refuses YAML syntax errors, duplicate keys, an empty file and a missing version, with a position', () => {
    expect(issuesOf('version: 1\nfunctions: [\n').issues[0]).toMatchObject({ line: 3 });
    expect(issuesOf('version: 1\nversion: 1\n').issues[0]).toMatchObject({ line: 2 });
    expect(issuesOf('').issues[0]!.message).toContain('version: 1');
    expect(issuesOf('functions: []\n').issues[0]).toMatchObject({ field: 'version' });
  });

  it('stops an alias bomb', async () => {
    const bomb = ['version: 1', 'a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
    await within(5_000, Promise.resolve().then(() => expect(() => parseConfig(bomb, 'bomb.yaml')).toThrow(ConfigError)));
  });

  it('never throws anything but ConfigError, whatever the text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.tuple(fc.nat(VALID.length), fc.string({ maxLength: 8 })).map(([i, s]) => VALID.slice(0, i) + s + VALID.slice(i))), (text) => {
        try {
          parseConfig(text, 'x.yaml');
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          for (const i of (e as ConfigError).issues) expect(i.line >= 1 && i.column >= 1).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back any valid config it is given as YAML or as JSON', () => {
    const fn = fc.record({
      driver: fc.constantFrom('pci_epf_test', 'pci_epf_vntb'),
      name: fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/),
      controller: fc.constant('auto'),
      msi_interrupts: fc.integer({ min: 1, max: 32 }),
      header: fc.record({ vendorid: fc.constant(0x104c), revid: fc.integer({ min: 0, max: 255 }) }, { requiredKeys: ['vendorid'] }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(fn, { selector: (f) => `${f.driver}/${f.name}`, maxLength: 4 }), (functions) => {
        // One header per driver: give every function of a driver the first one's revid.
        const first = new Map<string, number | undefined>();
        for (const f of functions) first.has(f.driver) ? (f.header.revid = first.get(f.driver)!) : first.set(f.driver, f.header.revid);
        for (const f of functions) if (f.header.revid === undefined) delete f.header.revid;
        const config = { version: 1 as const, functions };
        expect(parseConfig(stringify(config), 'a.yaml')).toEqual(config);
        expect(parseConfig(JSON.stringify(config), 'a.json')).toEqual(config);
      }),
      { numRuns: 300 },
    );
  });
});

describe('loadConfig', () => {
  it('refuses a missing file, a directory, a FIFO (without blocking), a huge file and non-UTF-8 bytes, naming the file', async () => {
    const dir = await tmp();
    const fifo = path.join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    const big = path.join(dir, 'big.yaml');
    await fs.writeFile(big, '');
    await fs.truncate(big, 4 << 20);
    const latin = path.join(dir, 'latin.yaml');
    await fs.writeFile(latin, Buffer.from([0x76, 0x3a, 0x20, 0xe9, 0x0a]));
    for (const [file, says] of [
      [path.join(dir, 'none.yaml'), 'no such file'],
      [dir, 'is a directory'],
      [fifo, 'not a regular file'],
      [big, 'a config is at most'],
      [latin, 'not UTF-8'],
    ] as const) {
      const e = await within(5_000, loadConfig(file).catch((x: unknown) => x));
      expect(e, file).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toContain(file);
      expect((e as ConfigError).message).toContain(says);
    }
  });
});
