// Fault injection for the fake kernel: "the nth operation matching (op, path glob) from now
// fails with errno". Rules are data (they are saved with the state) and are consumed when they
// fire, so a test can prove that epctl rolls back after exactly that failure.
import type { ErrnoCode } from '../kernel/errno.js';
import type { FaultRule, FakeHook, FakeOp } from './api.js';

export interface ArmedFault {
  op: FakeOp | FakeHook;
  path: string;
  errno: ErrnoCode;
  /** Matching operations still to let through before this one fails. */
  skip: number;
}

export function armFault(rule: FaultRule): ArmedFault {
  const nth = rule.nth ?? 1;
  if (!Number.isInteger(nth) || nth < 1) throw new RangeError(`fault rule nth must be a positive integer, got ${nth}`);
  return { op: rule.op, path: rule.path, errno: rule.errno, skip: nth - 1 };
}

/** `*` matches within one path component, `**` across components; the rest is literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Counts this operation against the armed rules; returns the errno of the rule that fires
 * (and removes it), or undefined.
 */
export function takeFault(faults: ArmedFault[], op: FakeOp | FakeHook, path: string): ErrnoCode | undefined {
  for (let i = 0; i < faults.length; i++) {
    const f = faults[i]!;
    if (f.op !== op || !globToRegExp(f.path).test(path)) continue;
    if (f.skip > 0) {
      f.skip--;
      continue;
    }
    faults.splice(i, 1);
    return f.errno;
  }
  return undefined;
}
