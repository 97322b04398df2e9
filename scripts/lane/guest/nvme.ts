// Scenario `nvme`: the NVMe PCI endpoint target (drivers/nvme/target/pci-epf.c, nvmet_pci_epf,
// v6.14+) set up as Documentation/nvme/nvme-pci-endpoint-target.rst orders it, with its traps,
// on the live kernel: the nvmet configfs tree (drivers/nvme/target/configfs.c: a subsystem with
// a null_blk namespace, a port of trtype pci, the port→subsystem link), then a pci_ep function
// with its `nvme/` group (portid, subsysnqn, mdts_kb), linked to the EPC four times so each
// epc_init failure shows in the log (port absent, port not enabled, too few vectors, the NQN an
// `echo -n` truncated), then the working controller, its EBUSY traps, the wrong teardown order
// and the right one. Every call is a differential Op (src/lane/ops.ts) run by the one executor
// (src/lane/run-ops.ts) over src/kernel/real.ts, so the host records the results as a fixture
// (test/fixtures/kernel/<release>/qemu-virt-nvmet.json) the fake replays byte for byte.
// Paths are below the pci_ep root; `../nvmet/…` is the nvmet tree beside it.
import { RealKernel } from '../../../src/kernel/real.js';
import { kmsgTap } from '../../../src/lane/kmsg.js';
import { describeOp, type Op } from '../../../src/lane/ops.js';
import { runOps } from '../../../src/lane/run-ops.js';
import type { Scenario } from './scenarios.js';

export interface NvmeParams {
  readonly epc: string;
}

/** The subsystem NQN the scenario makes (any valid NQN; 25 bytes). */
export const NVME_NQN = 'nqn.2026-11.io.epctl:lane';

/** The fixed Op list of the scenario (also what the host records as the fixture's ops). */
export function nvmeOps(epc: string): Op[] {
  const N = '../nvmet';
  const sub = `${N}/subsystems/${NVME_NQN}`;
  const ns = `${sub}/namespaces/1`;
  const port = `${N}/ports/1`;
  const fn = 'functions/nvmet_pci_epf/f0';
  const g = `${fn}/nvme`;
  const link = `controllers/${epc}/f0`;
  const ops: Op[] = [];
  const w = (path: string, data: string): void => void ops.push({ op: 'write', path, data });
  const r = (path: string): void => void ops.push({ op: 'read', path });
  const ls = (path: string): void => void ops.push({ op: 'readdir', path });
  const wr = (path: string, data: string): void => (w(path, data), r(path));
  const linkFn = (): void => void ops.push({ op: 'symlink', path: link, target: fn });
  const unlinkFn = (): void => void ops.push({ op: 'unlink', path: link });

  // Presence: the nvmet tree, null_blk's default device (nr_devices=1 when built in).
  ls(N);
  ops.push({ op: 'lstat', path: '../../../../dev/nullb0' });
  r(`${N}/discovery_nqn`);
  // The subsystem and its attributes (attr_serial is random per subsystem: not read).
  ops.push({ op: 'mkdir', path: sub });
  ls(sub);
  for (const a of ['attr_allow_any_host', 'attr_version', 'attr_cntlid_min', 'attr_cntlid_max', 'attr_vendor_id', 'attr_subsys_vendor_id', 'attr_model', 'attr_qid_max', 'attr_ieee_oui', 'attr_firmware', 'attr_pi_enable']) r(`${sub}/${a}`);
  ls(`${sub}/namespaces`);
  ls(`${sub}/allowed_hosts`);
  wr(`${sub}/attr_allow_any_host`, '1\n');
  wr(`${sub}/attr_model`, 'epctl lane\n');
  w(`${sub}/attr_vendor_id`, 'nonsense\n');
  wr(`${sub}/attr_vendor_id`, '0x1b36\n');
  wr(`${sub}/attr_subsys_vendor_id`, '0x1af4\n');
  w(`${sub}/attr_qid_max`, '0\n');
  wr(`${sub}/attr_qid_max`, '4\n');
  // Namespace 1 on /dev/nullb0.
  ops.push({ op: 'mkdir', path: ns });
  ls(ns);
  r(`${ns}/device_path`);
  r(`${ns}/enable`);
  w(`${ns}/enable`, '1\n'); // no device_path yet
  wr(`${ns}/device_path`, '/dev/nullb0\n');
  wr(`${ns}/enable`, '1\n');
  w(`${ns}/device_path`, '/dev/nullb0\n'); // while enabled
  // Port 1, trtype pci.
  ops.push({ op: 'mkdir', path: port });
  ls(port);
  for (const a of ['addr_trtype', 'addr_adrfam', 'addr_traddr', 'addr_treq', 'addr_trsvcid', 'addr_tsas', 'param_inline_data_size', 'param_max_queue_size', 'param_mdts', 'param_pi_enable']) r(`${port}/${a}`);
  ls(`${port}/subsystems`);
  w(`${port}/addr_trtype`, 'nonsense\n');
  wr(`${port}/addr_trtype`, 'pci\n');

  // The pci_ep function and its nvme/ group.
  ls('functions/nvmet_pci_epf');
  ops.push({ op: 'mkdir', path: fn });
  ls(fn);
  ls(g);
  for (const a of ['vendorid', 'deviceid', 'revid', 'progif_code', 'subclass_code', 'baseclass_code', 'cache_line_size', 'subsys_vendor_id', 'subsys_id', 'interrupt_pin', 'msi_interrupts', 'msix_interrupts']) r(`${fn}/${a}`);
  for (const a of ['portid', 'subsysnqn', 'mdts_kb']) r(`${g}/${a}`);
  w(`${g}/portid`, 'abc\n');
  w(`${g}/portid`, '65536\n');
  wr(`${g}/portid`, '0x2\n');
  w(`${g}/subsysnqn`, '');
  wr(`${g}/subsysnqn`, NVME_NQN); // echo -n
  wr(`${g}/subsysnqn`, `${NVME_NQN}\n`);
  for (const v of ['0\n', '4\n', '3\n', '4096\n', 'x\n', '-1\n', '512\n']) wr(`${g}/mdts_kb`, v);
  wr(`${fn}/deviceid`, '0xbeef\n');
  wr(`${fn}/msix_interrupts`, '8\n');

  // epc_init failures: each link returns 0 and only the log tells.
  linkFn(); // port 2 does not exist
  r(`${fn}/vendorid`);
  wr(`${g}/portid`, '1\n'); // no EBUSY: no controller was made
  unlinkFn();
  linkFn(); // port 1 exists, but has no subsystem yet: not enabled
  unlinkFn();
  ops.push({ op: 'symlink', path: `${port}/subsystems/${NVME_NQN}`, target: sub });
  ls(`${port}/subsystems`);
  ops.push({ op: 'readlink', path: `${port}/subsystems/${NVME_NQN}` });
  w(`${port}/addr_trtype`, 'pci\n'); // while enabled
  wr(`${fn}/msix_interrupts`, '1\n');
  linkFn(); // one vector: one queue pair
  unlinkFn();
  wr(`${fn}/msix_interrupts`, '8\n');
  wr(`${g}/subsysnqn`, NVME_NQN); // echo -n: last character lost
  linkFn();
  unlinkFn();
  wr(`${g}/subsysnqn`, `${NVME_NQN}\n`);

  // The working controller.
  linkFn();
  ls(`controllers/${epc}`);
  for (const a of ['portid', 'subsysnqn', 'mdts_kb']) w(`${g}/${a}`, a === 'subsysnqn' ? `${NVME_NQN}\n` : '1\n');
  for (const a of ['vendorid', 'subsys_vendor_id', 'deviceid', 'msix_interrupts']) r(`${fn}/${a}`);
  w(`${fn}/msix_interrupts`, '4\n');
  w(`controllers/${epc}/start`, '1\n');
  r(`controllers/${epc}/start`);
  // Wrong teardown order, the harmless kinds.
  ops.push({ op: 'rmdir', path: fn });
  ops.push({ op: 'rmdir', path: port });
  ops.push({ op: 'rmdir', path: sub });
  // Not attr_qid_max: its store calls ctrl->ops->delete_ctrl on every controller of the
  // subsystem, and nvmet_pci_epf_fabrics_ops has none: observed 7.3.4, a NULL pc oops in
  // nvmet_subsys_attr_qid_max_store (drivers/nvme/target/configfs.c).
  w(`${ns}/enable`, '0\n');
  r(`${ns}/enable`);
  wr(`${ns}/enable`, '1\n');
  // Not the port→subsystem unlink while the controller lives: nvmet_port_subsys_drop_link
  // deletes the port's controllers through ctrl->ops->delete_ctrl, which nvmet_pci_epf lacks
  // (observed 7.3.4: a NULL pc oops, as with attr_qid_max).
  // The documented teardown, in reverse.
  w(`controllers/${epc}/start`, '0\n');
  unlinkFn();
  for (const a of ['portid', 'subsysnqn', 'mdts_kb']) r(`${g}/${a}`);
  ops.push({ op: 'rmdir', path: fn });
  ops.push({ op: 'rmdir', path: port }); // its subsystems/ link still there
  wr(`${ns}/enable`, '0\n');
  ops.push({ op: 'rmdir', path: ns });
  ops.push({ op: 'rmdir', path: sub }); // still a link target
  ops.push({ op: 'unlink', path: `${port}/subsystems/${NVME_NQN}` });
  w(`${port}/addr_trtype`, 'pci\n'); // the port is disabled again
  ops.push({ op: 'rmdir', path: port });
  ops.push({ op: 'rmdir', path: sub });
  ls(`${N}/subsystems`);
  ls(`${N}/ports`);
  return ops;
}

/** Runs nvmeOps on the live kernel, streaming each result as a `data` record {i, r}. */
export const nvme: Scenario = async (params, ctx) => {
  const { epc } = params as NvmeParams;
  const ops = nvmeOps(epc);
  const log = kmsgTap();
  try {
    const results = await runOps(new RealKernel(), log, ops, {
      onStart: (i, op) => ctx.op(`${i}: ${describeOp(op)}`),
      onResult: (i, r) => ctx.data({ i, r }),
    });
    return { count: results.length };
  } finally {
    log.close();
  }
};
