// The raw tree of a recorded board held in memory: what archive-read.ts builds from a .tar.gz.
// Directories, regular files with their bytes and mode, symlinks with their raw text, and
// special entries (FIFOs, device nodes) kept by kind only, so the jail refuses them as it
// refuses them in a directory.
import type { RawKind, RawRead, RawStat, RawTree } from './raw-tree.js';
import { rawError } from './raw-tree.js';

export type MemoryNode =
  | { kind: 'dir'; mode: number; children: Map<string, MemoryNode> }
  | { kind: 'file'; mode: number; bytes: Uint8Array }
  | { kind: 'symlink'; target: string }
  | { kind: Exclude<RawKind, 'dir' | 'file' | 'symlink'>; mode: number };

export function memoryDir(mode = 0o755): Extract<MemoryNode, { kind: 'dir' }> {
  return { kind: 'dir', mode, children: new Map() };
}

export class MemoryTree implements RawTree {
  constructor(readonly root: Extract<MemoryNode, { kind: 'dir' }>) {}

  /** The node at a root-relative path, no link followed (the jail follows them). */
  private node(rel: string): MemoryNode {
    let n: MemoryNode = this.root;
    if (rel === '') return n;
    for (const name of rel.split('/')) {
      if (n.kind !== 'dir') throw rawError('ENOTDIR', rel);
      const next: MemoryNode | undefined = n.children.get(name);
      if (next === undefined) throw rawError('ENOENT', rel);
      n = next;
    }
    return n;
  }

  async lstat(rel: string): Promise<RawStat> {
    const n = this.node(rel);
    switch (n.kind) {
      case 'dir':
        return { kind: 'dir', mode: n.mode, size: 4096, nlink: 2 };
      case 'file':
        return { kind: 'file', mode: n.mode, size: n.bytes.length, nlink: 1 };
      case 'symlink':
        return { kind: 'symlink', mode: 0o777, size: Buffer.byteLength(n.target), nlink: 1 };
      default:
        return { kind: n.kind, mode: n.mode, size: 0, nlink: 1 };
    }
  }

  async readdir(rel: string): Promise<string[]> {
    const n = this.node(rel);
    if (n.kind !== 'dir') throw rawError('ENOTDIR', rel);
    return [...n.children.keys()];
  }

  async readlink(rel: string): Promise<string> {
    const n = this.node(rel);
    if (n.kind !== 'symlink') throw rawError('EINVAL', rel);
    return n.target;
  }

  async readBounded(rel: string, limit: number): Promise<RawRead> {
    const n = this.node(rel);
    if (n.kind !== 'file') return { special: n.kind };
    // A copy, as a read(2) gives: the caller may change its buffer, not the recording.
    return { bytes: n.bytes.slice(0, Math.min(n.bytes.length, limit + 1)) };
  }
}
