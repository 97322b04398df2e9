// The board-farm and packaging examples (examples/lava, examples/labgrid, examples/yocto): not run
// against a farm here, but held to what LAVA, labgrid and BitBake require of them. The LAVA
// definition's steps are run for real, by /bin/sh, against a simulated board, with stand-ins for
// LAVA's lava-test-case and lava-test-set that record their arguments; the labgrid test is
// compiled by python3 (.ci/run installs it when missing); the recipe's assignments are read.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { BIN, epctl } from '../helpers/cli.js';
import { tempDirs } from '../helpers/tmp.js';

const tmp = tempDirs('epctl-farm', { each: true });
const LAVA = 'examples/lava/epctl-probe.yaml';
const RECIPE = 'examples/yocto/recipes-epctl/epctl/epctl_git.bb';

type Json = Record<string, unknown>;
const yamlOf = async (file: string): Promise<Json> => parse(await fs.readFile(file, 'utf8')) as Json;

/** The TAP test lines as LAVA test cases: [name with [A-Za-z0-9._-] only, pass|fail|skip]. */
function lavaCases(tap: string): string[] {
  return tap
    .split('\n')
    .map((l) => /^(ok|not ok) \d+ - (.*?)(?: # SKIP .*)?$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => `${m[2]!.replace(/[^A-Za-z0-9._-]/g, '_')} --result ${m[1] === 'not ok' ? 'fail' : / # SKIP /.test(m[0]) ? 'skip' : 'pass'}`);
}


/** A temp dir with stand-ins for LAVA's lava-test-case and lava-test-set that log their arguments. */
async function lavaStandIns(): Promise<{ dir: string; bin: string; log: string }> {
  const dir = await tmp();
  const bin = path.join(dir, 'bin');
  await fs.mkdir(bin);
  const log = path.join(dir, 'lava.log');
  for (const helper of ['lava-test-case', 'lava-test-set']) {
    await fs.writeFile(path.join(bin, helper), `#!/bin/sh\nprintf '%s\\n' "${helper} $*" >> '${log}'\n`);
    await fs.chmod(path.join(bin, helper), 0o755);
  }
  return { dir, bin, log };
}

describe('examples/lava/epctl-probe.yaml', () => {
  it('is a Lava-Test Test Definition 1.0: metadata (format, name, description), string params, run.steps', async () => {
    const def = await yamlOf(LAVA);
    expect(def['metadata']).toMatchObject({ format: 'Lava-Test Test Definition 1.0', name: 'epctl-probe', description: expect.any(String) });
    expect(Object.values(def['params'] as Json).every((v) => typeof v === 'string')).toBe(true);
    const steps = (def['run'] as { steps: unknown[] }).steps;
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.every((s) => typeof s === 'string')).toBe(true);
    expect(Object.keys(def).sort()).toEqual(['metadata', 'params', 'run']);
  });

  it('its steps, run by sh -e on a configured simulated board, report every TAP check and both exit codes', async () => {
    const { dir, bin, log } = await lavaStandIns();
    const state = path.join(dir, 'board.json');
    const mock = ['--mock', 'qemu-virt', '--mock-state', state];
    expect((await epctl(['apply', '-c', path.resolve('examples/pci-epf-vntb.yaml'), ...mock])).exitCode).toBe(0);

    const def = await yamlOf(LAVA);
    const steps = (def['run'] as { steps: string[] }).steps;
    // LAVA's run.sh: the params as shell variables, then the steps in order.
    const params = { ...(def['params'] as Record<string, string>), EPCTL: `${process.execPath} ${BIN}`, EPCTL_ARGS: mock.join(' ') };
    const script = [...Object.entries(params).map(([k, v]) => `${k}='${v}'`), ...steps].join('\n');
    await fs.writeFile(path.join(dir, 'run.sh'), script + '\n');
    const r = await execa('/bin/sh', ['-e', 'run.sh'], { cwd: dir, env: { PATH: `${bin}:/usr/bin:/bin`, NO_COLOR: '1' }, extendEnv: false, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);

    const probeTap = (await epctl(['probe', '--format', 'tap', ...mock])).stdout;
    const doorbellTap = (await epctl(['doorbell', 'status', '--format', 'tap', ...mock])).stdout;
    const calls = (await fs.readFile(log, 'utf8')).trimEnd().split('\n');
    expect(calls).toEqual([
      'lava-test-set start epctl-probe',
      ...lavaCases(probeTap).map((c) => `lava-test-case ${c}`),
      'lava-test-set stop epctl-probe',
      'lava-test-case epctl-probe-exit --result pass --measurement 0 --units exit-code',
      'lava-test-set start epctl-doorbell',
      ...lavaCases(doorbellTap).map((c) => `lava-test-case ${c}`),
      'lava-test-set stop epctl-doorbell',
      'lava-test-case epctl-doorbell-status-exit --result pass --measurement 0 --units exit-code',
    ]);
    expect(calls).toContain('lava-test-case pci_epf_vntb_func1_doorbell_ready --result pass');
    expect(calls).toContain('lava-test-case 7e000000.pcie-ep_link_up --result skip');
    // The TAP went to the log too, for people reading the job.
    expect(r.stdout).toContain('TAP version 13');
  });

  it('a failing check and a failing exit code are failures in LAVA, not a stopped run', async () => {
    const { dir, bin, log } = await lavaStandIns();
    const def = await yamlOf(LAVA);
    const steps = (def['run'] as { steps: string[] }).steps;
    // A recorded board that does not exist: probe exits 3 and bails out.
    const params = { ...(def['params'] as Record<string, string>), EPCTL: `${process.execPath} ${BIN}`, EPCTL_ARGS: `--root ${path.join(dir, 'missing')}` };
    await fs.writeFile(path.join(dir, 'run.sh'), [...Object.entries(params).map(([k, v]) => `${k}='${v}'`), ...steps].join('\n') + '\n');
    const r = await execa('/bin/sh', ['-e', 'run.sh'], { cwd: dir, env: { PATH: `${bin}:/usr/bin:/bin` }, extendEnv: false, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const calls = await fs.readFile(log, 'utf8');
    expect(calls).toContain('lava-test-case epctl-probe-exit --result fail --measurement 3 --units exit-code');
    expect(calls).toContain('lava-test-case epctl-doorbell-status-exit --result fail --measurement 3 --units exit-code');
  });
});

describe('examples/labgrid', () => {
  it('env.yaml: target main with a NetworkService (address, username) and an SSHDriver', async () => {
    const env = await yamlOf('examples/labgrid/env.yaml');
    const main = (env['targets'] as Json)['main'] as { resources: Json; drivers: Json };
    expect(Object.keys(env)).toEqual(['targets']);
    expect(main.resources['NetworkService']).toMatchObject({ address: expect.any(String), username: expect.any(String) });
    expect(Object.keys(main.drivers)).toEqual(['SSHDriver']);
  });

  it('env-serial.yaml: a RawSerialPort, its SerialDriver, then a ShellDriver with prompt, login_prompt and username', async () => {
    const env = await yamlOf('examples/labgrid/env-serial.yaml');
    const main = (env['targets'] as Json)['main'] as { resources: Json; drivers: Json };
    expect(main.resources['RawSerialPort']).toMatchObject({ port: expect.stringMatching(/^\/dev\//), speed: expect.any(Number) });
    // Drivers bind in order: the serial driver before the shell that uses it.
    expect(Object.keys(main.drivers)).toEqual(['SerialDriver', 'ShellDriver']);
    const shell = main.drivers['ShellDriver'] as Json;
    expect(shell).toMatchObject({ prompt: expect.any(String), login_prompt: expect.any(String), username: expect.any(String) });
    expect(() => new RegExp(shell['prompt'] as string)).not.toThrow();
  });

  it('test_epctl.py compiles, and uses the labgrid pytest plugin\'s target fixture and CommandProtocol', async () => {
    const file = 'examples/labgrid/test_epctl.py';
    // compile() as py_compile does, without writing a __pycache__ into the tree.
    const r = await execa('python3', ['-c', 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")', file], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const text = await fs.readFile(file, 'utf8');
    expect(text).toMatch(/^def command\(target\):$/m);
    expect(text).toContain('target.get_driver("CommandProtocol")');
    expect(text).toMatch(/"--format", "tap"/);
  });
});

/** A recipe's top-level assignments (NAME = "…", NAME:override += "…", continued lines), in order. */
function recipeVars(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  const joined = text.replace(/\\\n/g, ' ');
  for (const m of joined.matchAll(/^([A-Za-z_][A-Za-z0-9_:${}-]*(?:\[[a-z-]+\])?)\s*(\?\?=|\?=|\+=|=)\s*"(.*)"\s*$/gm)) {
    const [, name, op, value] = m as unknown as [string, string, string, string];
    vars.set(name, op === '+=' ? `${vars.get(name) ?? ''} ${value}` : value.replace(/\s+/g, ' ').trim());
  }
  return vars;
}

describe('examples/yocto epctl_git.bb', () => {
  it('fetches the source by git at a pinned SRCREV and ships the bundle and the config beside it', async () => {
    const v = recipeVars(await fs.readFile(RECIPE, 'utf8'));
    const srcUri = v.get('SRC_URI')!.split(' ');
    expect(srcUri[0]).toMatch(/^git:\/\/[^;]+;protocol=https;branch=\w+$/);
    expect(srcUri.slice(1)).toEqual(['file://epctl-bundle.cjs', 'file://epctl.yaml']);
    expect(v.get('SRCREV')).toMatch(/^[0-9a-f]{40}$/);
    expect(v.get('S')).toBe('${WORKDIR}/git');
    expect(v.get('PV')).toMatch(/\+git$/);
    expect(v.get('LICENSE')).toBeTruthy();
    // The file:// entries are files of the layer (the bundle is built outside: files/README.md).
    await fs.access(path.join(path.dirname(RECIPE), 'files', 'epctl.yaml'));
  });

  it('installs the bundle as /usr/bin/epctl (RDEPENDS nodejs), the unit through the systemd class, the config as a CONFFILE', async () => {
    const text = await fs.readFile(RECIPE, 'utf8');
    const v = recipeVars(text);
    expect(text).toMatch(/^inherit .*\bsystemd\b/m);
    expect(v.get('RDEPENDS:${PN}')).toMatch(/\bnodejs\b/);
    expect(v.get('SYSTEMD_SERVICE:${PN}')).toBe('epctl.service');
    expect(v.get('CONFFILES:${PN}')).toBe('${sysconfdir}/epctl/epctl.yaml');
    const install = /^do_install\(\) \{\n([\s\S]*?)^\}$/m.exec(text)![1]!;
    expect(install).toContain('install -m 0755 ${UNPACKDIR}/epctl-bundle.cjs ${D}${bindir}/epctl');
    // packaging/epctl.service, from the git checkout (written with `epctl service install`).
    expect(install).toContain('install -m 0644 ${S}/packaging/epctl.service ${D}${systemd_system_unitdir}/epctl.service');
    expect(install).toContain('install -m 0644 ${UNPACKDIR}/epctl.yaml ${D}${sysconfdir}/epctl/epctl.yaml');
  });

  it('the shipped config is valid', async () => {
    const r = await epctl(['validate', '-c', path.resolve(path.dirname(RECIPE), 'files', 'epctl.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
});
