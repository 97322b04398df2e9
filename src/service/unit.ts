// The systemd unit of `epctl agent`: rendered from a few options, sandboxed as tightly as the
// agent's work allows, every permission it keeps explained in a comment line of the unit itself.
// packaging/epctl.service is this text with the defaults (a test holds the two together).
// Directives are the ones systemd.exec(5), systemd.service(5), systemd.resource-control(5) and
// systemd.unit(5) document as of systemd 252 (Debian 12); `systemd-analyze verify` and
// `systemd-analyze security --offline=yes` check them in the tests.

export interface UnitOptions {
  /** The epctl binary ExecStart runs (absolute). */
  bin: string;
  /** The config the agent keeps the board at (absolute). */
  config: string;
  /** The group given access to the agent's socket (the agent's --socket-group), if any. */
  socketGroup?: string | undefined;
  /** The config uses devmem: /dev/mem read-write and CAP_SYS_RAWIO. */
  devmem: boolean;
  /** WatchdogSec=: the agent pings at half of it. */
  watchdogSec: number;
}

export const DEFAULT_BIN = '/usr/bin/epctl';
export const DEFAULT_WATCHDOG_SEC = 30;
/** StateDirectory= and RuntimeDirectory= name: /var/lib/epctl (the agent's --state default is /var/lib/epctl/state.json), /run/epctl (its socket). */
export const UNIT_DIRECTORY = 'epctl';
/** Where the unit is installed, under the root. */
export const UNIT_PATH = '/etc/systemd/system/epctl.service';

/**
 * A path systemd takes verbatim in ExecStart= and the path settings: absolute, no blanks,
 * quotes, backslashes, "%" specifiers or "$" expansions (systemd.service(5) "Command lines"),
 * no "." or ".." components.
 */
const SAFE_PATH = /^(\/[A-Za-z0-9_.+@:-]+)+$/;
/** A group name as useradd(8)/groupadd(8) take it. */
const GROUP = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Why VALUE cannot go in the unit as the path named WHAT, or undefined when it can. */
export function unsafePath(value: string): string | undefined {
  if (!value.startsWith('/')) return 'it is not an absolute path';
  if (!SAFE_PATH.test(value) || value.split('/').some((c) => c === '.' || c === '..')) return 'a unit file takes it verbatim only with A-Z a-z 0-9 _ . + @ : - between the slashes (no blanks, quotes, %, $ or backslashes; no . or .. components)';
  return undefined;
}

/** Why NAME cannot be the socket group, or undefined when it can. */
export function badGroup(name: string): string | undefined {
  return GROUP.test(name) ? undefined : 'a group name is 1..32 of a-z 0-9 _ -, starting with a letter or _';
}

/** One setting with the comment lines that say why it is there. */
type Line = readonly [why: readonly string[], directive: string];

const line = (directive: string, ...why: string[]): Line => [why, directive];

/** The unit text for OPTS. */
export function renderUnit(opts: UnitOptions): string {
  const exec = [opts.bin, 'agent', '-c', opts.config, ...(opts.socketGroup ? ['--socket-group', opts.socketGroup] : [])].join(' ');
  const unit: Line[] = [
    line('Description=epctl agent: keeps the PCI endpoint functions of the board as its config says'),
    line('Documentation=man:systemd.exec(5)', 'The agent: `epctl agent --help`. What each sandbox setting below means: systemd.exec(5).'),
    line(
      'Wants=sys-kernel-config.mount',
      "configfs is mounted by systemd's own mount unit before the agent starts, so the agent needs no CAP_SYS_ADMIN",
      'and no mount(2): a mount made inside this sandbox would not reach the host anyway (ReadWritePaths= and the',
      'other path settings cut mount propagation from the service to the host, systemd.exec(5)).',
    ),
    line('After=sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount'),
  ];
  const service: Line[] = [
    line(
      'Type=notify',
      'The agent says READY, STATUS, WATCHDOG and STOPPING by running /usr/bin/systemd-notify, a child process:',
      'NotifyAccess=all accepts notifications from every process of the service, not only the main one.',
    ),
    line('NotifyAccess=all'),
    line(`ExecStart=${exec}`),
    line('ExecReload=/bin/kill -HUP $MAINPID', 'SIGHUP: the agent reads its config again and converges the board to it.'),
    line(`WatchdogSec=${opts.watchdogSec}s`, 'The agent pings the watchdog at half of WATCHDOG_USEC; a hung agent is killed and restarted.'),
    line('Restart=on-failure'),
    line('RestartSec=5s'),
    line(`RuntimeDirectory=${UNIT_DIRECTORY}`, `/run/${UNIT_DIRECTORY}: the agent's socket (agent.sock), writable; removed when it stops.`),
    line(`StateDirectory=${UNIT_DIRECTORY}`, `/var/lib/${UNIT_DIRECTORY}: what epctl made on this board (state.json), writable, kept across restarts.`),
    line('UMask=0077', 'What the agent creates is its own; it gives the socket its mode and group itself (--socket-group).'),

    line(
      'ProtectSystem=strict',
      'The whole file system is read-only but for the two directories above and:',
      '- configfs, where the functions are made (mkdir, rmdir, symlink, attribute writes under pci_ep/);',
      '- tracefs instances/, where the agent makes its own trace instance for the irq events of doorbells;',
      '- /run/lock, for /run/lock/epctl.lock: the lock `epctl apply` takes too, so one changes the board at a time.',
    ),
    line('ReadWritePaths=-/sys/kernel/config -/sys/kernel/tracing/instances -/run/lock'),
    line(
      'ReadOnlyPaths=/run',
      'With ProtectProc= (below) set, ProtectSystem=strict alone left all of /run writable under systemd 252 (seen in a',
      'systemd-nspawn container by scripts/systemd-check.mjs, /run a tmpfs there as on a board): /run is made read-only by',
      'name; /run/lock above and /run/epctl stay writable.',
    ),
    line('ProtectHome=yes', 'Nothing under /home, /root or /run/user: the binary and the config must not live there.'),
    line('PrivateTmp=yes'),

    line(
      'ProtectKernelTunables=no',
      'ProtectKernelTunables=yes would make /sys read-only (configfs too; ReadWritePaths= can give it back) but also hides',
      '/proc/kallsyms, whose symbol names tell which doorbell code the kernel carries: the same read-only paths, kallsyms left',
      'readable, are set by hand instead (nested ReadWritePaths= above keep configfs and the trace instances writable).',
    ),
    line('ReadOnlyPaths=/sys /proc/sys /proc/fs /proc/irq -/proc/sysrq-trigger -/proc/latency_stats -/proc/acpi -/proc/timer_stats'),
    line('InaccessiblePaths=-/proc/kcore'),
    line(
      'ProtectKernelModules=no',
      'The agent runs modprobe for a function driver that is not loaded (pci-epf-test, pci-epf-vntb, nvmet-pci-epf):',
      'ProtectKernelModules=yes would take CAP_SYS_MODULE, the module system calls and /usr/lib/modules away.',
    ),
    line(
      'ProtectKernelLogs=no',
      'The agent reads /dev/kmsg: a configfs link can return 0 and report its failure only in the kernel log.',
      'ProtectKernelLogs=yes would hide /dev/kmsg and take CAP_SYSLOG (needed to read it under kernel.dmesg_restrict=1).',
    ),
  ];

  const caps = ['CAP_SYS_MODULE', 'CAP_SYSLOG', ...(opts.devmem ? ['CAP_SYS_RAWIO'] : [])];
  service.push(
    line(
      `CapabilityBoundingSet=${caps.join(' ')}`,
      'The agent runs as root (configfs, debugfs and tracefs files are root-owned; root needs no CAP_DAC_OVERRIDE for',
      'them) with only these capabilities: CAP_SYS_MODULE for modprobe, CAP_SYSLOG to read /dev/kmsg' + (opts.devmem ? ',' : '.'),
      ...(opts.devmem ? ['CAP_SYS_RAWIO to open /dev/mem (busybox devmem; `epctl service install --devmem`).'] : []),
      'Not CAP_SYS_ADMIN: configfs is mounted by sys-kernel-config.mount (see [Unit]).',
    ),
    line('AmbientCapabilities='),
    line('NoNewPrivileges=yes'),
    line('PrivateUsers=no', 'Capabilities must count in the host user namespace (modprobe, /dev/kmsg): no PrivateUsers=.'),
  );
  if (opts.devmem)
    service.push(
        line(
        'PrivateDevices=no',
        '--devmem: /dev/mem must be reachable, and PrivateDevices=yes would drop CAP_SYS_RAWIO; the device cgroup',
        'still allows only the pseudo devices (/dev/null, /dev/zero, ...), the kernel log read-only and /dev/mem.',
      ),
      line('DevicePolicy=closed'),
      line('DeviceAllow=/dev/kmsg r'),
      line('DeviceAllow=/dev/mem rw'),
    );
  else
    service.push(
      line('PrivateDevices=yes', 'A private /dev with the pseudo devices only, and the kernel log read-only in it.'),
      line('BindReadOnlyPaths=-/dev/kmsg'),
      line('DeviceAllow=/dev/kmsg r'),
    );
  service.push(
    line(
      'PrivateNetwork=yes',
      'No network: the agent serves its unix socket only (a file in /run/epctl, not a network endpoint). For',
      '`epctl agent --metrics 127.0.0.1:PORT` add a drop-in (systemctl edit epctl) with PrivateNetwork=no,',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 and IPAddressAllow=localhost, and the option in ExecStart=.',
    ),
    line('IPAddressDeny=any'),
    line('RestrictAddressFamilies=AF_UNIX'),
    line('ProtectControlGroups=yes'),
    line('ProtectClock=yes'),
    line('ProtectHostname=yes'),
    line('ProtectProc=invisible'),
    line('PrivateMounts=yes'),
    line('PrivateIPC=yes'),
    line('KeyringMode=private'),
    line('LockPersonality=yes'),
    line('RestrictNamespaces=yes'),
    line('RestrictRealtime=yes'),
    line('RestrictSUIDSGID=yes'),
    line('MemoryDenyWriteExecute=no', "Node's JIT (V8) maps memory writable and executable: MemoryDenyWriteExecute=yes would kill it."),
    line('SystemCallArchitectures=native'),
    line(
      'SystemCallFilter=@system-service',
      'The system calls of a service, minus the privileged and resource-changing ones, plus loading a module',
      '(modprobe; not delete_module: the agent never unloads one)' + (opts.socketGroup ? ' and chown (to give the socket its group).' : '.'),
    ),
    line('SystemCallFilter=~@privileged @resources'),
    line(`SystemCallFilter=init_module finit_module${opts.socketGroup ? ' @chown' : ''}`),
    line('SystemCallErrorNumber=EPERM', 'A call outside the filter fails with EPERM instead of killing the agent.'),
  );
  if (opts.socketGroup)
    service.push(line(`SupplementaryGroups=${opts.socketGroup}`, `The agent gives its socket to group ${opts.socketGroup}: as a member it may, without CAP_CHOWN.`));

  const install: Line[] = [line('WantedBy=multi-user.target')];
  const section = (name: string, lines: readonly Line[]): string =>
    `[${name}]\n` + lines.map(([why, d]) => why.map((w) => `# ${w}\n`).join('') + `${d}\n`).join('');
  return [
    '# epctl agent, as `epctl service install` writes it: edit with `systemctl edit epctl` (a drop-in),\n# not here, so a reinstall keeps your changes.\n',
    section('Unit', unit),
    section('Service', service),
    section('Install', install),
  ].join('\n');
}
