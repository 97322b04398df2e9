#!/usr/bin/env node
// The namespace step of scripts/systemd-check.mjs (not meant to be run by hand). That script starts
//   unshare --mount --propagation private -- NODE scripts/systemd-check-ns.mjs --src DIR --machine NAME [--cgroup DIR]...
// and this runs in the fresh private mount namespace (unshare execs node: same pid): it joins the
// given cgroups (so systemd-nspawn and the container land in them), makes /run and /tmp tmpfs
// (nspawn's own files land there, not on the host), binds the host's / (without its sub-mounts) as
// the container's read-only lower layer, then runs systemd-nspawn with stdio inherited, forwards
// SIGTERM/SIGHUP to it and exits with its status. Every program runs with an argument array; no shell.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

const args = process.argv.slice(2);
const all = (name) => args.flatMap((a, i) => (a === name && args[i + 1] !== undefined ? [args[i + 1]] : []));
const one = (name) => {
  const v = all(name);
  if (v.length !== 1) fail(`expects exactly one ${name}`);
  return v[0];
};
function fail(msg) {
  console.error(`systemd-check-ns: ${msg}`);
  process.exit(1);
}
const src = one('--src');
const machine = one('--machine');

for (const d of all('--cgroup')) fs.writeFileSync(`${d}/cgroup.procs`, String(process.pid));

/** `set -e`: each step must succeed. */
function run(file, argv) {
  const r = spawnSync(file, argv, { encoding: 'utf8' });
  if (r.status !== 0) fail(`${file} ${argv.join(' ')}: ${r.error?.message ?? `exit ${r.status ?? r.signal}`} ${(r.stderr ?? '').trim()}`);
}
run('mount', ['--make-rprivate', '/']);
run('mount', ['-t', 'tmpfs', '-o', 'mode=755', 'sysd-check-run', '/run']);
fs.mkdirSync('/run/sysd-root');
fs.mkdirSync('/run/sysd-src');
run('mount', ['--bind', '/', '/run/sysd-root']);
run('mount', ['--bind', src, '/run/sysd-src']);
run('mount', ['-t', 'tmpfs', '-o', 'mode=1777', 'sysd-check-tmp', '/tmp']);

// /dev/kmsg: /dev/null stands in (the unit's BindReadOnlyPaths=-/dev/kmsg is exercised, and
// nothing in the container writes to the host's kernel log).
const nspawn = spawn(
  'systemd-nspawn',
  [
    '-D', '/run/sysd-root', '--volatile=overlay', '--boot', `--machine=${machine}`, '--register=no', '--keep-unit', '--link-journal=no', '--console=pipe',
    '--capability=CAP_SYS_MODULE,CAP_SYSLOG,CAP_NET_ADMIN', '--bind-ro=/run/sysd-src:/opt/epctl-check', '--bind-ro=/dev/null:/dev/kmsg',
  ],
  { stdio: 'inherit' },
);
// SIGTERM: nspawn asks the container's systemd to power off. SIGINT from a terminal reaches
// nspawn itself (same process group); the parent script's cleanup then sends SIGTERM here.
for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => nspawn.kill(sig));
process.on('SIGINT', () => {});
nspawn.on('error', (e) => fail(`systemd-nspawn: ${e.message}`));
nspawn.on('exit', (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0)));
