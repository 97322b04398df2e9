// Running programs in the guest: busybox applets and the guest's epctl, always with argument
// arrays (execa), and the exact-width register access the host emulation needs (busybox devmem
// mmaps /dev/mem; a plain read() only reaches mapped RAM: arch/arm64/mm/mmap.c valid_phys_addr_range).
import { execa } from 'execa';

export interface Ran {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it did not run or ended abnormally (spawn error, signal), when it did. */
  readonly error?: string;
}

/** Runs a program and returns its status and output; never throws for a non-zero exit. */
export async function run(file: string, args: readonly string[]): Promise<Ran> {
  const r = await execa(file, args, { reject: false, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ...(r.failed && r.exitCode === undefined ? { error: r.shortMessage } : {}) };
}

/** Reads a 32-bit register or word at a physical address. */
export async function peek32(addr: bigint): Promise<number> {
  const r = await run('devmem', [`0x${addr.toString(16)}`, '32']);
  if (r.exitCode !== 0) throw new Error(`devmem 0x${addr.toString(16)} 32 failed: ${r.stderr.trim()}`);
  return Number(BigInt(r.stdout.trim()));
}

/** Writes a 32-bit value at a physical address. */
export async function poke32(addr: bigint, value: number): Promise<void> {
  const r = await run('devmem', [`0x${addr.toString(16)}`, '32', `0x${value.toString(16)}`]);
  if (r.exitCode !== 0) throw new Error(`devmem 0x${addr.toString(16)} 32 0x${value.toString(16)} failed: ${r.stderr.trim()}`);
}
