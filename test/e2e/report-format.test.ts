// `probe --format tap|junit` and `doorbell status --format tap|junit`, for board farms: the
// checks as TAP 13 (kselftest style) and JUnit XML, the exit code the command has without
// --format, the refusals, a board that cannot be read, and a recorded board whose names are
// hostile (the documents stay well-formed: test/helpers/xml.ts reads them back strictly).
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { epctl, isOneLineRefusal } from '../helpers/cli.js';
import { tempDirs } from '../helpers/tmp.js';
import { writeBoardDir, type Board } from '../helpers/hostile-sysroot.js';
import { parseXml, type XmlElement } from '../helpers/xml.js';
import { EXIT } from '../../src/exit-codes.js';

const tmp = tempDirs('epctl-report', { each: true });
const EXAMPLE_VNTB = path.resolve('examples/pci-epf-vntb.yaml');

/** The test lines of a TAP document, after checking its frame (version, plan, numbering, totals). */
function tap(doc: string): { ok: boolean; name: string; skip?: string }[] {
  const lines = doc.trimEnd().split('\n');
  expect(lines[0]).toBe('TAP version 13');
  const plan = lines.find((l) => /^1\.\.\d+$/.test(l));
  const tests = lines
    .map((l) => /^(ok|not ok) (\d+) - (.*?)(?: # SKIP (.*))?$/.exec(l))
    .filter((m) => m !== null)
    .map((m, k) => {
      expect(Number(m[2])).toBe(k + 1);
      return { ok: m[1] === 'ok', name: m[3]!, ...(m[4] === undefined ? {} : { skip: m[4] }) };
    });
  expect(plan).toBe(`1..${tests.length}`);
  expect(lines.filter((l) => !l.startsWith('#') && !/^(ok|not ok) \d+ - /.test(l))).toEqual(['TAP version 13', plan]);
  expect(lines.at(-1)).toMatch(/^# Totals: pass:\d+ fail:\d+ xfail:0 xpass:0 skip:\d+ error:0$/);
  return tests;
}

const cases = (suite: XmlElement) => suite.children.filter((c) => c.name === 'testcase');

describe('epctl probe --format', () => {
  it('tap: every board-level check and each controller passes on a simulated i.MX95; exit 0 as without --format', async () => {
    const r = await epctl(['probe', '--mock', 'imx95', '--format', 'tap']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(tap(r.stdout)).toEqual(
      ['kernel release known', 'configfs mounted', 'pci_ep in configfs', 'endpoint controllers', 'device tree readable', 'kernel data readable', '4c300000.pcie-ep in configfs', '4c300000.pcie-ep doorbell verdict', '4c380000.pcie-ep in configfs', '4c380000.pcie-ep doorbell verdict'].map((name) => ({ ok: true, name })),
    );
  });

  it('a controller without a doorbell fails its verdict check, with the reason and the DT fix as diagnostics', async () => {
    const r = await epctl(['probe', '--mock', 'qemu-virt-msi-parent', '--format', 'tap']);
    expect(r.exitCode).toBe(0);
    expect(tap(r.stdout).filter((t) => !t.ok)).toEqual([{ ok: false, name: '7e000000.pcie-ep doorbell verdict' }]);
    expect(r.stdout).toMatch(/^not ok 8 - 7e000000\.pcie-ep doorbell verdict\n# pcie-ep@7e000000 has msi-parent but no msi-map.*\n# fix:\n(?:# .*\n)+# {4}msi-map = <0x0 &its 0x0 0x1>;$/m);
  });

  it('junit: one testsuite, a testcase per check, the failure with its message; the same checks as tap', async () => {
    const j = await epctl(['probe', '--mock', 'qemu-virt-msi-parent', '--format', 'junit']);
    expect(j.exitCode).toBe(0);
    const suite = parseXml(j.stdout);
    expect(suite).toMatchObject({ name: 'testsuite', attrs: { name: 'epctl probe', tests: '8', failures: '1', errors: '0', skipped: '0' } });
    expect(suite.children[0]!.children.map((p) => p.attrs)).toEqual([
      { name: 'origin', value: 'mock:qemu-virt-msi-parent' },
      { name: 'kernel', value: '7.3.4' },
    ]);
    const t = tap((await epctl(['probe', '--mock', 'qemu-virt-msi-parent', '--format', 'tap'])).stdout);
    expect(cases(suite).map((c) => c.attrs['name'])).toEqual(t.map((x) => x.name));
    const failed = cases(suite).filter((c) => c.children[0]!.name === 'failure');
    expect(failed.map((c) => c.attrs['name'])).toEqual(['7e000000.pcie-ep doorbell verdict']);
    expect(failed[0]!.children[0]!.attrs['message']).toMatch(/^pcie-ep@7e000000 has msi-parent but no msi-map/);
    expect(failed[0]!.children[0]!.text).toContain('msi-map = <0x0 &its 0x0 0x1>;');
  });

  it('keeps the exit code of the first problem: no endpoint configfs is 5, its check not ok', async () => {
    const dir = await tmp();
    const board: Board = {
      'proc/version': { kind: 'file', bytes: 'Linux version 6.12.0 (b@h) #1 SMP\n' },
      'proc/mounts': { kind: 'file', bytes: 'configfs /sys/kernel/config configfs rw 0 0\n' },
      'sys/kernel/config': { kind: 'dir' },
    };
    await writeBoardDir(board, dir);
    const r = await epctl(['--root', dir, 'probe', '--format', 'tap']);
    expect(r.exitCode).toBe(EXIT.NO_ENDPOINT);
    const t = tap(r.stdout);
    expect(t.find((x) => x.name === 'pci_ep in configfs')).toEqual({ ok: false, name: 'pci_ep in configfs' });
    expect(t.find((x) => x.name === 'endpoint controllers')?.ok).toBe(false);
  });

  it('a board that cannot be read: TAP bails out, JUnit has one <error>, the error and its exit code as usual', async () => {
    const missing = path.join(await tmp(), 'nothing-here');
    const t = await epctl(['--root', missing, 'probe', '--format', 'tap']);
    expect(t.exitCode).toBe(EXIT.NO_BOARD);
    expect(t.stdout).toMatch(/^TAP version 13\n# epctl probe\nBail out! --root .*nothing-here: no such file or directory$/);
    expect(isOneLineRefusal(t)).toBe(true);
    const j = await epctl(['--root', missing, 'probe', '--format', 'junit']);
    expect(j.exitCode).toBe(EXIT.NO_BOARD);
    expect(parseXml(j.stdout)).toMatchObject({ attrs: { tests: '1', errors: '1' }, children: [{ name: 'testcase', children: [{ name: 'error' }] }] });
  });

  it('refuses --format beside --json or --dtso, and an unknown format, with exit 64', async () => {
    for (const args of [
      ['probe', '--mock', 'imx95', '--format', 'tap', '--json'],
      ['--json', 'probe', '--mock', 'imx95', '--format', 'junit'],
      ['probe', '--mock', 'imx95', '--format', 'tap', '--dtso'],
      ['probe', '--mock', 'imx95', '--format', 'xml'],
      ['doorbell', 'status', '--mock', 'imx95', '--format', 'junit', '--json'],
    ]) {
      const r = await epctl(args);
      expect(r.exitCode, args.join(' ')).toBe(EXIT.USAGE);
      expect(r.stderr).toMatch(/^epctl: (--format \w+ and --\w+ both print to stdout|option '--format <format>' argument 'xml' is invalid)/);
    }
  });

  it('hostile names from a recorded board never break either document', async () => {
    const dir = await tmp();
    const name = 'ep"]]>&<x>\x1b\x01\'#\\ not ok 1 - forged';
    const board: Board = {
      'proc/version': { kind: 'file', bytes: 'Linux version 6.12.0 (b@h) #1 SMP\n' },
      'proc/mounts': { kind: 'file', bytes: 'configfs /sys/kernel/config configfs rw 0 0\n' },
      [`sys/kernel/config/pci_ep/controllers/${name}`]: { kind: 'dir' },
      'sys/kernel/config/pci_ep/functions/pci_epf_test': { kind: 'dir' },
      [`sys/class/pci_epc/${name}`]: { kind: 'dir' },
    };
    await writeBoardDir(board, dir);
    const j = await epctl(['--root', dir, 'probe', '--format', 'junit']);
    const names = cases(parseXml(j.stdout)).map((c) => c.attrs['name']);
    expect(names).toContain('ep"]]>&<x>\\x1B\\x01\'#\\ not ok 1 - forged in configfs');
    const t = await epctl(['--root', dir, 'probe', '--format', 'tap']);
    expect(t.exitCode).toBe(j.exitCode);
    const tests = tap(t.stdout);
    expect(tests.map((x) => x.name)).toContain('ep"]]>&<x>\\x1B\\x01\'\\#\\\\ not ok 1 - forged in configfs');
    expect(tests).toHaveLength(names.length);
  });
});

describe('epctl doorbell status --format', () => {
  it('a fresh i.MX95: no doorbell function and no link are not ok; exit 0 as without --format', async () => {
    const r = await epctl(['doorbell', 'status', '--mock', 'imx95', '--format', 'tap']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const t = tap(r.stdout);
    expect(t.filter((x) => !x.ok).map((x) => x.name)).toEqual(['doorbell functions exist', '4c300000.pcie-ep link up', '4c380000.pcie-ep link up']);
    expect(r.stdout).toMatch(/^not ok \d+ - 4c300000\.pcie-ep link up\n# DETECT_QUIET \(0x00\): no link/m);
  });

  it('after the vNTB how-to on qemu-virt: the function is ready; the Cadence link has no reading (SKIP)', async () => {
    const dir = await tmp();
    const board = ['--mock', 'qemu-virt', '--mock-state', path.join(dir, 'board.json')];
    expect((await epctl(['apply', ...board, '-c', EXAMPLE_VNTB])).exitCode).toBe(0);
    const r = await epctl(['doorbell', 'status', ...board, '--format', 'tap', '--wait-ready', '--timeout', '5']);
    expect(r.exitCode, r.stderr).toBe(0);
    const t = tap(r.stdout);
    expect(t.find((x) => x.name === 'pci_epf_vntb/func1 doorbell ready')).toEqual({ ok: true, name: 'pci_epf_vntb/func1 doorbell ready' });
    expect(t.filter((x) => x.skip !== undefined).map((x) => x.name)).toEqual(['7e000000.pcie-ep link up']);
    expect(t.every((x) => x.ok)).toBe(true);
    const j = parseXml((await epctl(['doorbell', 'status', ...board, '--format', 'junit'])).stdout);
    expect(j.attrs).toMatchObject({ name: 'epctl doorbell status', tests: String(t.length), failures: '0', skipped: '1' });
  });
});
