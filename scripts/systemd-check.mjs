#!/usr/bin/env node
// Runs epctl's unit (src/service/unit.ts, as `epctl service install` writes it) under a REAL
// systemd: boots systemd as PID 1 of a throwaway container (systemd-nspawn, the host's / as a
// read-only lower layer under a tmpfs overlay, all inside a private mount namespace), installs
// the unit with `epctl service install`, adds a drop-in that runs the agent on the simulated
// qemu-virt board, and checks what `systemd-analyze verify` and `security --offline` cannot:
// Type=notify READY (from the systemd-notify child, NotifyAccess=all), STATUS= in `systemctl
// status`, reload (SIGHUP), the watchdog, a clean stop, the status socket (mode 0660, and with
// --socket-group its group and a member reading it), and what the sandbox lets a process of the
// unit do (a oneshot copy of the unit with the same sandbox runs a probe script).
//
// Usage (as root, from the repo):  node scripts/systemd-check.mjs [--watchdog-wait SECONDS] [--keep-going]
// Needs: root; systemd-nspawn (Debian: apt-get install systemd-container); systemd (/usr/lib/systemd/systemd);
// util-linux (unshare, nsenter, runuser); node in a system path (/usr/bin or /usr/local/bin: the container
// boots the host's own /); node_modules (esbuild bundles epctl from this tree). No network, no image.
// Takes about 90 s (70 of them the watchdog wait; --watchdog-wait 35 makes it about 55 s, `npm run test:systemd`).
// No shell runs any of it: every program gets an argument array (inside the container through
// `nsenter -t LEADER -a FILE ARGS...`), files in the container are written and read from the host
// through /proc/LEADER/root, and the mount namespace is set up by scripts/systemd-check-ns.mjs
// (started by `unshare --mount --propagation private`), which then runs systemd-nspawn. (The probe
// further down is a sh script on purpose: it is what the sandboxed oneshot unit runs.)
// Prints PASS/FAIL per check (INFO for what this container cannot show); exits 1 when a check fails,
// 2 when a prerequisite is missing. Everything it makes (container, mounts, cgroups, temp dir) is removed.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const argValue = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const WATCHDOG_WAIT_S = Number(argValue('--watchdog-wait', '70'));
const KEEP_GOING = args.includes('--keep-going');
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

// ---------------------------------------------------------------- prerequisites
function prerequisite(ok, what, hint) {
  if (ok) return;
  console.error(`systemd-check: missing prerequisite: ${what}\n  fix: ${hint}`);
  process.exit(2);
}
/** CMD's path in $PATH (a regular file with an execute bit), '' when none: no shell. */
function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir || '.', cmd);
    try {
      if (fs.statSync(p).isFile()) {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      }
    } catch {
      /* not here */
    }
  }
  return '';
}
prerequisite(process.getuid?.() === 0, 'root', 'run it as root (it boots a container)');
prerequisite(which('systemd-nspawn') !== '', 'systemd-nspawn', 'apt-get install -y systemd-container');
for (const c of ['unshare', 'nsenter', 'runuser']) prerequisite(which(c) !== '', c, 'apt-get install -y util-linux');
const SYSTEMD = ['/usr/lib/systemd/systemd', '/lib/systemd/systemd'].find((p) => fs.existsSync(p));
prerequisite(SYSTEMD !== undefined, 'systemd (/usr/lib/systemd/systemd)', 'apt-get install -y systemd');
const nodeBin = fs.realpathSync(process.execPath);
prerequisite(
  /^\/(usr\/(local\/)?)?s?bin\//.test(process.execPath) || /^\/(usr\/(local\/)?)?s?bin\//.test(nodeBin),
  `node in a system path (this one is ${process.execPath})`,
  'install Node 20 under /usr/bin or /usr/local/bin: the unit runs with ProtectHome=yes and the default PATH',
);
prerequisite(fs.existsSync(path.join(repo, 'node_modules', 'esbuild')), 'node_modules (esbuild)', `npm ci in ${repo}`);
const cgroupV2Only = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
prerequisite(cgroupV2Only || fs.existsSync('/sys/fs/cgroup/unified/cgroup.controllers'), 'a cgroup2 hierarchy (/sys/fs/cgroup or /sys/fs/cgroup/unified)', 'boot with cgroup v2 (unified or hybrid)');
if (fs.readFileSync('/proc/1/comm', 'utf8').trim() === 'systemd')
  console.error('systemd-check: note: the host runs systemd; the container is still private (its own mount, pid and cgroup namespaces)');

// ---------------------------------------------------------------- results
const results = [];
function check(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  if (!ok && !KEEP_GOING) throw new Abort(name);
  return ok;
}
const info = (name, detail) => console.log(`INFO ${name} — ${detail}`);
class Abort extends Error {}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- setup and cleanup
const tag = `sysd-check-${process.pid}`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sysd-check-'));
/** cgroup directories this run made (the container's tree goes under them), deepest removed first. */
const cgroups = [];
let nspawn; // unshare, then (same pid) scripts/systemd-check-ns.mjs: forwards SIGTERM to systemd-nspawn, exits with it
let nspawnPid; // systemd-nspawn itself
let leader; // the container's PID 1, as the host sees it

function ownCgroup(hierarchyLine) {
  const line = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n').find(hierarchyLine);
  return line ? line.split(':').slice(2).join(':') : '/';
}
function makeCgroups() {
  const roots = cgroupV2Only ? [['/sys/fs/cgroup', (l) => l.startsWith('0::')]] : [['/sys/fs/cgroup/unified', (l) => l.startsWith('0::')], ['/sys/fs/cgroup/systemd', (l) => l.includes(':name=systemd:')]];
  for (const [mnt, pick] of roots) {
    if (!fs.existsSync(mnt)) continue;
    const dir = path.join(mnt, ownCgroup(pick), tag);
    fs.mkdirSync(dir);
    cgroups.push(dir);
  }
}
function rmCgroupTree(dir) {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmCgroupTree(path.join(dir, e.name));
  fs.rmdirSync(dir);
}

async function cleanup() {
  const alive = () => nspawn && nspawn.exitCode === null && nspawn.signalCode === null;
  // SIGTERM: systemd-nspawn asks the container's systemd to power off, then exits.
  if (alive()) nspawn.kill('SIGTERM');
  for (let i = 0; i < 100 && alive(); i++) await sleep(200);
  // Still there: SIGKILL to the container's PID 1 ends its pid namespace; nspawn reaps it and exits.
  if (alive() && leader > 0) {
    try {
      process.kill(leader, 'SIGKILL');
    } catch {
      /* gone */
    }
    for (let i = 0; i < 50 && alive(); i++) await sleep(200);
  }
  if (alive()) {
    for (const pid of [nspawnPid, nspawn.pid])
      try {
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    await sleep(500);
  }
  // Whatever is left in the container's cgroups (nothing, normally) is killed before they go.
  for (const dir of cgroups) {
    const kill = path.join(dir, 'cgroup.kill');
    if (fs.existsSync(kill)) fs.writeFileSync(kill, '1');
  }
  for (let i = 0; i < 50; i++) {
    try {
      for (const dir of cgroups) rmCgroupTree(dir);
      break;
    } catch {
      await sleep(200);
    }
  }
  const leftCgroups = cgroups.filter((d) => fs.existsSync(d));
  fs.rmSync(work, { recursive: true, force: true });
  if (leftCgroups.length) console.error(`systemd-check: could not remove ${leftCgroups.join(' ')}`);
}

// ---------------------------------------------------------------- the container
/** Runs FILE with ARGS inside the container (all its namespaces; an argument array, no shell); never throws. */
function inC(file, argv = [], { input, timeout = 60_000 } = {}) {
  const r = spawnSync('nsenter', ['-t', String(leader), '-a', file, ...argv], { encoding: 'utf8', input, timeout });
  return { code: r.status ?? -1, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() };
}
/** Runs the steps [file, args, opts?] in order and stops at the first that fails (what `&&` did); its result, else the last one's. */
function inCAll(...steps) {
  let r = { code: 0, out: '', err: '' };
  for (const [file, argv, opts] of steps) {
    r = inC(file, argv, opts);
    if (r.code !== 0) return { ...r, err: `${file} ${argv.join(' ')}: exit ${r.code}${r.err ? `: ${r.err}` : ''}` };
  }
  return r;
}
/** PATH inside the container, from the host: /proc/LEADER/root follows PID 1's root in its own mount namespace
 *  (the overlay root and the mounts on it, /run included). */
const cPath = (p) => `/proc/${leader}/root${p}`;
const cWrite = (p, text, mode = 0o644) => {
  fs.mkdirSync(path.dirname(cPath(p)), { recursive: true });
  fs.writeFileSync(cPath(p), text, { mode });
};
const cRead = (p) => fs.readFileSync(cPath(p), 'utf8');
/** Names of the container's users and groups by id (its /etc/passwd and /etc/group). */
const cIds = (file) => new Map(cRead(file).split('\n').filter(Boolean).map((l) => l.split(':')).map((f) => [Number(f[2]), f[0]]));
/** `stat -c '%a %U:%G'` of a path in the container, plus its type ('socket', 'directory', ...). */
function cStat(p) {
  try {
    const st = fs.statSync(cPath(p));
    const type = st.isSocket() ? 'socket' : st.isDirectory() ? 'directory' : st.isFile() ? 'regular file' : 'other';
    const user = cIds('/etc/passwd').get(st.uid) ?? String(st.uid);
    const group = cIds('/etc/group').get(st.gid) ?? String(st.gid);
    return { out: `${(st.mode & 0o777).toString(8)} ${user}:${group}`, type, err: '' };
  } catch (e) {
    return { out: '', type: '', err: String(e.message) };
  }
}
const show = (prop, unit = 'epctl') => inC('systemctl', ['show', '-P', prop, unit]).out;

/** The unit's journal since CURSOR as [{ident, msg, json?}] (json: the agent's log line parsed). */
function journal(cursor) {
  const r = inC('journalctl', ['-u', 'epctl', '-o', 'json', '--no-pager', ...(cursor ? [`--after-cursor=${cursor}`] : [])]);
  return r.out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const e = JSON.parse(l);
      const msg = typeof e.MESSAGE === 'string' ? e.MESSAGE : Buffer.from(e.MESSAGE ?? []).toString();
      let json;
      if (e.SYSLOG_IDENTIFIER === 'epctl' && msg.startsWith('{')) json = JSON.parse(msg);
      return { ident: e.SYSLOG_IDENTIFIER, msg, json, prio: Number(e.PRIORITY), cursor: e.__CURSOR };
    });
}
async function waitFor(what, fn, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) return undefined;
    await sleep(250);
  }
}

async function boot() {
  makeCgroups();
  const src = path.join(work, 'src');
  fs.mkdirSync(src);
  // epctl from this tree, one file (as a board gets it); the config the agent keeps.
  const b = spawnSync(process.execPath, [path.join(repo, 'scripts', 'bundle.mjs'), '--outfile', path.join(src, 'epctl')], { cwd: repo, encoding: 'utf8' });
  check('epctl bundled from this tree (scripts/bundle.mjs)', b.status === 0, b.status === 0 ? '' : (b.stderr || b.stdout).trim());
  fs.copyFileSync(path.join(repo, 'examples', 'pci-epf-test.yaml'), path.join(src, 'epctl.yaml'));
  // In a private mount namespace (scripts/systemd-check-ns.mjs, run by unshare, joins the cgroups, mounts,
  // then runs systemd-nspawn): a tmpfs /run and /tmp (nspawn's own files land there, not on the host),
  // the host's / bound (without its sub-mounts) as the container's read-only lower layer, /dev/null
  // as /dev/kmsg; --volatile=overlay puts a tmpfs over it.
  nspawn = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', '--', process.execPath, path.join(repo, 'scripts', 'systemd-check-ns.mjs'), '--src', src, '--machine', tag.slice(0, 60), ...cgroups.flatMap((d) => ['--cgroup', d])],
    { env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  nspawn.stdout.on('data', (d) => (log += d));
  nspawn.stderr.on('data', (d) => (log += d));
  // unshare execs node (the helper keeps unshare's pid), the helper's child is systemd-nspawn, whose
  // child is the container's systemd.
  const ppidOf = (p) => {
    const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  };
  leader = await waitFor('the container', () => {
    if (nspawn.exitCode !== null) return -1;
    for (const p of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        const ppid = ppidOf(p);
        if (ppid !== nspawn.pid && ppidOf(ppid) === nspawn.pid && fs.readFileSync(`/proc/${ppid}/comm`, 'utf8').trim() === 'systemd-nspawn' && fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'systemd') {
          nspawnPid = ppid;
          return Number(p);
        }
      } catch {
        /* gone */
      }
    }
    return undefined;
  });
  if (!check('container boots systemd as its PID 1', leader !== undefined && leader > 0, leader > 0 ? `host pid ${leader}` : `systemd-nspawn: ${log.trim().slice(-800)}`)) return false;
  // The container's bus comes up a moment after its PID 1 does.
  let running;
  await waitFor('the bus', () => {
    running = inC('systemctl', ['is-system-running', '--wait'], { timeout: 120_000 });
    return !/Failed to connect to bus/.test(running.err);
  }, 60_000);
  check('container reaches running', ['running', 'degraded'].includes(running.out), `${running.err} ${running.out}${running.out === 'degraded' ? `; failed: ${inC('systemctl', ['--failed', '--plain', '--no-legend']).out.replace(/\n/g, '; ')}` : ''} (${elapsed()})`);
  // Files are written and read from the host through /proc/LEADER/root: on the overlay root (/etc)
  // and on a mount the container made (/run, nspawn's tmpfs), seen from inside and back.
  const rt = `sysd-check ${process.pid} ${Date.now()}`;
  const trip = ['/etc/sysd-check.roundtrip', '/run/sysd-check.roundtrip'].map((f) => {
    cWrite(f, `${rt}\n`);
    const seen = inC('cat', [f]).out;
    const rm = inC('rm', [f]).code;
    return seen === rt && rm === 0 && !fs.existsSync(cPath(f)) ? '' : `${f}: inside saw ${JSON.stringify(seen)}, rm ${rm}`;
  });
  check('host writes reach the container through /proc/PID/root (overlay / and its /run)', trip.every((t) => t === ''), trip.filter(Boolean).join('; ') || `/proc/${leader}/root`);
  return true;
}

// ---------------------------------------------------------------- the checks
const MOCK = '--mock qemu-virt --mock-state /var/lib/epctl/board.json --socket /run/epctl/agent.sock';
/** The drop-in (written from the host) and daemon-reload. */
const dropIn = (extra = '') => {
  cWrite('/etc/systemd/system/epctl.service.d/mock.conf', ['[Service]', 'ExecStart=', `ExecStart=/usr/bin/epctl agent -c /etc/epctl/epctl.yaml ${MOCK}${extra}`, ''].join('\n'));
  return inC('systemctl', ['daemon-reload']);
};
/** `epctl status --agent --json`, as root or (runuser -u USER) as USER. */
const agentStatus = (user) => {
  const r = user ? inC('runuser', ['-u', user, '--', 'epctl', 'status', '--agent', '--json']) : inC('epctl', ['status', '--agent', '--json']);
  try {
    return { ...r, json: JSON.parse(r.out) };
  } catch {
    return r;
  }
};

async function checks() {
  const inst = inCAll(['install', ['-m', '0755', '/opt/epctl-check/epctl', '/usr/bin/epctl']], ['epctl', ['service', 'install', '--json']]);
  let installed;
  try {
    installed = JSON.parse(inst.out);
  } catch {
    /* below */
  }
  check('epctl service install writes the unit', inst.code === 0 && installed?.unit?.action === 'created', inst.code === 0 ? `${installed.unit.written}, config ${installed.config.action}` : inst.err);
  inC('install', ['-m', '0644', '/opt/epctl-check/epctl.yaml', '/etc/epctl/epctl.yaml']);
  const verify = inC('systemd-analyze', ['verify', 'epctl.service']);
  check('systemd-analyze verify epctl.service (in the container)', verify.code === 0 && verify.err === '', verify.err || 'no complaints');
  const di = dropIn();
  check('the drop-in that runs the agent on the simulated board, and daemon-reload', di.code === 0, di.code === 0 ? '' : di.err);

  // Start: `systemctl start` returns once READY=1 arrives (Type=notify), and the agent's
  // converged line comes before systemd's "Started".
  const ts = Date.now();
  const start = inC('systemctl', ['start', 'epctl'], { timeout: 120_000 });
  const startMs = Date.now() - ts;
  check('systemctl start epctl', start.code === 0, start.code === 0 ? `${startMs} ms` : `${start.err}\n${inC('journalctl', ['-u', 'epctl', '--no-pager', '-n', '30']).out}`);
  check('active (running) after start', show('ActiveState') === 'active' && show('SubState') === 'running', `${show('ActiveState')} (${show('SubState')})`);
  let j = journal();
  const converged = j.findIndex((e) => e.json?.msg === 'converged' && e.json?.reason === 'start');
  const started = j.findIndex((e) => e.ident === 'systemd' && /^Started epctl\.service/.test(e.msg));
  check('READY only after the first apply converged', converged >= 0 && started > converged, `agent "converged" is journal entry ${converged}, systemd "Started" is ${started}`);
  const status = inC('systemctl', ['status', 'epctl', '--no-pager']);
  const statusLine = status.out.split('\n').find((l) => /^\s*Status: /.test(l));
  check('systemctl status shows the STATUS= line', /Status: "converged to \/etc\/epctl\/epctl\.yaml/.test(statusLine ?? ''), statusLine?.trim() ?? 'no Status: line');
  const mainPid = show('MainPID');

  // The status socket.
  const sock = cStat('/run/epctl/agent.sock');
  check('/run/epctl/agent.sock is a socket, mode 0660', `${sock.out} ${sock.type}` === '660 root:root socket', sock.err || `${sock.out} ${sock.type}`);
  const st = agentStatus();
  check('epctl status --agent --json reads it', st.code === 0 && st.json?.phase === 'converged' && String(st.json?.pid) === mainPid, st.json ? `phase ${st.json.phase}, pid ${st.json.pid} (MainPID ${mainPid})` : st.err);

  // Reload: SIGHUP, the agent reads its config again and converges; same process.
  const cursor = j.at(-1)?.cursor;
  const rl = inC('systemctl', ['reload', 'epctl']);
  const reloaded = await waitFor('reload', () => journal(cursor).find((e) => e.json?.msg === 'converged' && e.json?.reason === 'sighup'));
  check('systemctl reload epctl: the agent reloads (SIGHUP)', rl.code === 0 && reloaded !== undefined, reloaded ? `journal: ${reloaded.msg}` : `reload rc ${rl.code} ${rl.err}`);
  const after = journal(cursor);
  const reloadedAt = after.findIndex((e) => e.ident === 'systemd' && /^Reloaded epctl\.service/.test(e.msg));
  const convergedAt = after.findIndex((e) => e.json?.reason === 'sighup' && e.json?.msg === 'converged');
  info('systemctl reload returns', reloadedAt >= 0 && convergedAt >= 0 && reloadedAt < convergedAt ? 'before the agent has converged (systemd calls it Reloaded once kill -HUP exits)' : 'after the agent converged');
  check('same process, still active after reload', show('MainPID') === mainPid && show('ActiveState') === 'active', `MainPID ${show('MainPID')}`);

  // A config that does not load is refused; the agent stays up on the last good one.
  fs.copyFileSync(cPath('/etc/epctl/epctl.yaml'), cPath('/etc/epctl/epctl.yaml.good'));
  fs.writeFileSync(cPath('/etc/epctl/epctl.yaml'), 'version: 1\nfunctions: 5\n');
  inC('systemctl', ['reload', 'epctl']);
  const refused = await waitFor('refusal', () => {
    const s = agentStatus();
    return s.json?.config?.error ? s.json : undefined;
  });
  // The agent shows the error a moment before its READY=1 ends the RELOADING=1 (and the file
  // watch's own reload may follow): systemd says "reloading" until then.
  const settled = await waitFor('active again', () => show('ActiveState') === 'active', 10_000);
  check('a bad config on reload is refused, the agent stays active', refused !== undefined && settled === true && show('MainPID') === mainPid, refused ? `config.error: ${String(refused.config.error).slice(0, 120)}; ${show('ActiveState')}` : 'no config.error in the agent status');
  fs.renameSync(cPath('/etc/epctl/epctl.yaml.good'), cPath('/etc/epctl/epctl.yaml'));
  inC('systemctl', ['reload', 'epctl']);
  const good = await waitFor('good config', () => {
    const s = agentStatus();
    return s.json && s.json.config?.error === null && s.json.phase === 'converged' ? s.json : undefined;
  });
  check('the good config back on reload', good !== undefined, good ? `phase ${good.phase}` : 'config.error stays');

  // Watchdog: WatchdogSec=30s, the agent pings every 15 s; nothing kills it.
  const pings = new Set();
  const wEnd = Date.now() + WATCHDOG_WAIT_S * 1000;
  while (Date.now() < wEnd) {
    pings.add(show('WatchdogTimestampMonotonic'));
    await sleep(2000);
  }
  pings.add(show('WatchdogTimestampMonotonic'));
  const times = [...pings].map(Number).filter((n) => n > 0).sort((a, b) => a - b);
  const gaps = times.slice(1).map((t, i) => ((t - times[i]) / 1e6).toFixed(1));
  const timeouts = journal().filter((e) => /watchdog timeout/i.test(e.msg));
  check(
    `watchdog: alive after ${WATCHDOG_WAIT_S} s (WatchdogSec=${show('WatchdogUSec')})`,
    show('MainPID') === mainPid && show('NRestarts') === '0' && show('ActiveState') === 'active' && timeouts.length === 0 && times.length >= Math.floor(WATCHDOG_WAIT_S / 15),
    `${times.length} pings seen, ${gaps.length ? `gaps ${gaps.join(', ')} s` : 'no gaps'}, NRestarts=${show('NRestarts')}${timeouts.length ? `; ${timeouts[0].msg}` : ''}`,
  );

  // The socket group: the unit gets @chown and SupplementaryGroups=; a member reads the socket, others cannot.
  let grp = inCAll(
    ['groupadd', ['epctlchk']],
    ['useradd', ['-M', '-N', '-G', 'epctlchk', '-s', '/bin/sh', 'epctlchk-member']],
    ['useradd', ['-M', '-N', '-s', '/bin/sh', 'epctlchk-other']],
    ['epctl', ['service', 'install', '--socket-group', 'epctlchk', '--force']],
  );
  if (grp.code === 0) {
    const dr = dropIn(' --socket-group epctlchk');
    grp = dr.code !== 0 ? { ...dr, err: `systemctl daemon-reload: exit ${dr.code}: ${dr.err}` } : inCAll(['systemctl', ['restart', 'epctl'], { timeout: 120_000 }]);
  }
  check('restart with --socket-group (SystemCallFilter @chown, SupplementaryGroups=)', grp.code === 0 && show('ActiveState') === 'active', grp.code === 0 ? `socket ${cStat('/run/epctl/agent.sock').out}` : `${grp.err}\n${inC('journalctl', ['-u', 'epctl', '--no-pager', '-n', '20']).out}`);
  const gsock = cStat('/run/epctl/agent.sock').out;
  check('the socket is root:epctlchk 0660', gsock === '660 root:epctlchk', gsock);
  const member = agentStatus('epctlchk-member');
  check('a member of the socket group reads the agent status', member.code === 0 && member.json?.phase === 'converged', member.json ? `phase ${member.json.phase}` : member.err);
  const other = agentStatus('epctlchk-other');
  check('a user outside the group cannot', other.code !== 0, `exit ${other.code}: ${other.err.split('\n')[0]}`);

  // Stop: SIGTERM, STOPPING=1, exit 0, no failed state, /run/epctl gone.
  const stopTs = Date.now();
  const stop = inC('systemctl', ['stop', 'epctl'], { timeout: 120_000 });
  const stopMs = Date.now() - stopTs;
  check('systemctl stop epctl exits cleanly', stop.code === 0 && show('Result') === 'success' && show('ExecMainStatus') === '0' && inC('systemctl', ['is-failed', 'epctl']).out === 'inactive', `${stopMs} ms, Result=${show('Result')}, ExecMainStatus=${show('ExecMainStatus')}, ${inC('systemctl', ['is-failed', 'epctl']).out}`);
  check('/run/epctl is removed on stop', !fs.existsSync(cPath('/run/epctl')) && inC('test', ['-e', '/run/epctl']).code === 1);
  // The notifications come from short-lived systemd-notify children: systemd must still find their unit.
  const lost = inC('journalctl', ['-b', '-t', 'systemd', '--no-pager', '-o', 'cat'])
    .out.split('\n')
    .filter((l) => /Cannot find unit for notify message|notification message from PID.*ignoring/.test(l))
    .join('\n');
  check('no notification from the agent lost (systemd-notify child, NotifyAccess=all)', lost === '', lost.split('\n')[0]);
  j = journal();
  const warnings = j.filter((e) => e.prio <= 4 && e.ident !== 'epctl');
  for (const w of warnings) info('journal warning', `${w.ident}: ${w.msg}`);

  // The sandbox, seen by a process of the unit: a oneshot copy of the default unit with the same
  // settings runs a probe (epctl is stopped: the copy shares RuntimeDirectory=epctl and removes it).
  const reinst = inC('epctl', ['service', 'install', '--force']);
  if (reinst.code === 0) fs.rmSync(cPath('/etc/systemd/system/epctl.service.d'), { recursive: true });
  const probe = fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n# PROBE-START\n')[1].split('\n# PROBE-END')[0];
  cWrite('/opt/epctl-probe.sh', `${probe}\n`);
  // The unit as a oneshot: Type=oneshot, no watchdog, no restart, the probe as ExecStart= (what sed did).
  const probeUnit = cRead('/etc/systemd/system/epctl.service')
    .split('\n')
    .filter((l) => !/^WatchdogSec=/.test(l) && !/^Restart/.test(l))
    .map((l) => l.replace(/^Type=notify/, 'Type=oneshot').replace(/^ExecStart=.*/, 'ExecStart=/bin/sh /opt/epctl-probe.sh'))
    .join('\n');
  cWrite('/etc/systemd/system/epctl-probe.service', probeUnit);
  inC('systemctl', ['daemon-reload']);
  inC('systemctl', ['start', 'epctl-probe']);
  const pr = inC('journalctl', ['-u', 'epctl-probe', '-o', 'cat', '--no-pager']);
  const seen = Object.fromEntries(pr.out.split('\n').filter((l) => l.startsWith('PROBE ')).map((l) => l.split(' ').slice(1)));
  // What the unit's comments promise. [probe, expected, why]
  const expect = [
    ['var-lib-epctl-writable', 'yes', 'StateDirectory=epctl'],
    ['run-epctl-writable', 'yes', 'RuntimeDirectory=epctl'],
    ['run-lock-writable', 'yes', 'ReadWritePaths=/run/lock (the lock `epctl apply` takes)'],
    ['tmp-writable', 'yes', 'PrivateTmp=yes'],
    ['run-writable', 'no', 'ProtectSystem=strict, ReadOnlyPaths=/run'],
    ['run-systemd-writable', 'no', 'ProtectSystem=strict, ReadOnlyPaths=/run'],
    ['etc-writable', 'no', 'ProtectSystem=strict'],
    ['usr-writable', 'no', 'ProtectSystem=strict'],
    ['var-writable', 'no', 'ProtectSystem=strict'],
    ['root-home-readable', 'no', 'ProtectHome=yes'],
    ['dev-kmsg-exists', 'yes', 'BindReadOnlyPaths=-/dev/kmsg into PrivateDevices=yes'],
    ['dev-kmsg-readable', 'yes', 'DeviceAllow=/dev/kmsg r'],
    ['dev-block-visible', 'no', 'PrivateDevices=yes'],
    ['proc-kallsyms-readable', 'yes', 'ProtectKernelTunables=no, kallsyms left readable'],
    ['proc-kcore-readable', 'no', 'InaccessiblePaths=-/proc/kcore'],
    ['proc-sys-open-write', 'no', 'ReadOnlyPaths=/proc/sys'],
    ['sys-open-write', 'no', 'ReadOnlyPaths=/sys'],
    ['inet-socket', 'no', 'RestrictAddressFamilies=AF_UNIX'],
    ['unix-socket', 'yes', 'RestrictAddressFamilies=AF_UNIX'],
    ['chown', 'no', 'SystemCallFilter=~@privileged (no --socket-group)'],
    ['setuid-eperm', 'yes', 'SystemCallFilter=~@privileged, SystemCallErrorNumber=EPERM'],
    ['caps', '0000000400010000', 'CapabilityBoundingSet=CAP_SYS_MODULE CAP_SYSLOG'],
    ['nonewprivs', '1', 'NoNewPrivileges=yes'],
    ['seccomp', '2', 'SystemCallFilter='],
  ];
  for (const [name, want, why] of expect) check(`sandbox: ${name} = ${want}`, seen[name] === want, `${why}; got ${seen[name] ?? '(no probe output)'}`);
  // DeviceAllow=/dev/kmsg r is held only where this systemd enforces a cgroup device policy at
  // all: a control unit allowed /dev/null read-only tells (a read-only bind mount alone does not
  // stop writing to a device).
  // (tee -a opens /dev/null for appending, as `exec 3>>/dev/null` did; stdin is empty.)
  const devPolicy = inC('systemd-run', ['--wait', '--pipe', '-q', '-p', 'DevicePolicy=strict', '-p', 'DeviceAllow=/dev/null r', 'tee', '-a', '/dev/null'], { input: '' }).code !== 0;
  if (devPolicy) check('sandbox: dev-kmsg-open-write = no', seen['dev-kmsg-open-write'] === 'no', `DeviceAllow=/dev/kmsg r; got ${seen['dev-kmsg-open-write']}`);
  else info('sandbox: dev-kmsg-open-write', `${seen['dev-kmsg-open-write']}: not held here, this systemd enforces no cgroup device policy (a control unit with DevicePolicy=strict, DeviceAllow=/dev/null r could write /dev/null)`);
  const ipPolicy = inC('systemd-run', ['--wait', '--pipe', '-q', '-p', 'IPAddressDeny=any', 'node', '-e', 'require("dgram").createSocket("udp4").send("x",9,"127.0.0.1",(e)=>process.exit(e?0:1))'], { input: '' }).code === 0;
  info('IPAddressDeny=any', ipPolicy ? 'this systemd enforces IP firewalls (cgroup BPF)' : 'not enforced here (a control unit with IPAddressDeny=any could send to 127.0.0.1); the unit has PrivateNetwork=yes anyway');
}

// ---------------------------------------------------------------- main
let failed = false;
const onSignal = async () => {
  console.error('systemd-check: interrupted, cleaning up');
  await cleanup();
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
try {
  if (await boot()) await checks();
} catch (e) {
  if (!(e instanceof Abort)) {
    console.error(`systemd-check: ${e.stack ?? e}`);
  }
  failed = true;
} finally {
  await cleanup();
}
failed ||= results.some((r) => !r.ok);
const n = results.filter((r) => r.ok).length;
console.log(`${failed ? 'FAIL' : 'PASS'}: ${n}/${results.length} checks passed in ${elapsed()}${KEEP_GOING ? '' : ' (stops at the first failure; --keep-going runs them all)'}`);
process.exit(failed ? 1 : 0);

/* The probe the sandboxed oneshot runs (sh); it writes nothing outside its writable directories
   and opens kernel files for writing without writing to them.
# PROBE-START
p() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "PROBE $name yes"; else echo "PROBE $name no"; fi; }
p var-lib-epctl-writable sh -c 'touch /var/lib/epctl/.probe && rm /var/lib/epctl/.probe'
p run-epctl-writable sh -c 'touch /run/epctl/.probe && rm /run/epctl/.probe'
p run-lock-writable sh -c 'touch /run/lock/epctl.probe && rm /run/lock/epctl.probe'
p run-writable sh -c 'touch /run/.epctl-probe && rm /run/.epctl-probe'
p run-systemd-writable sh -c 'touch /run/systemd/.epctl-probe && rm /run/systemd/.epctl-probe'
p tmp-writable sh -c 'touch /tmp/.probe && rm /tmp/.probe'
p etc-writable sh -c 'touch /etc/.epctl-probe && rm /etc/.epctl-probe'
p usr-writable sh -c 'touch /usr/.epctl-probe && rm /usr/.epctl-probe'
p var-writable sh -c 'touch /var/.epctl-probe && rm /var/.epctl-probe'
p root-home-readable ls /root
p dev-kmsg-exists test -c /dev/kmsg
p dev-kmsg-readable sh -c 'exec 3</dev/kmsg'
p dev-kmsg-open-write sh -c 'exec 3>>/dev/kmsg'
p dev-block-visible sh -c 'ls /dev | grep -qE "^(vd|sd|nvme|loop|mmcblk)"'
p proc-kallsyms-readable sh -c 'head -1 /proc/kallsyms | grep -q .'
p proc-kcore-readable sh -c 'head -c1 /proc/kcore'
p proc-sys-open-write sh -c 'exec 3>>/proc/sys/kernel/hostname'
p sys-open-write sh -c 'exec 3>>/sys/kernel/profiling'
p inet-socket node -e 'require("net").createServer().listen(0,"127.0.0.1",()=>process.exit(0)).on("error",()=>process.exit(1))'
p unix-socket node -e 'const p="/run/epctl/probe.sock";require("net").createServer().listen(p,()=>{require("fs").unlinkSync(p);process.exit(0)}).on("error",()=>process.exit(1))'
p chown sh -c 'touch /run/epctl/c && chown root:root /run/epctl/c; r=$?; rm -f /run/epctl/c; exit $r'
p setuid-eperm sh -c 'setpriv --reuid=0 true 2>&1 | grep -q "not permitted"'
echo "PROBE caps $(grep CapEff /proc/self/status | cut -f2)"
echo "PROBE nonewprivs $(grep NoNewPrivs /proc/self/status | cut -f2)"
echo "PROBE seccomp $(grep '^Seccomp:' /proc/self/status | cut -f2)"
# PROBE-END
*/
