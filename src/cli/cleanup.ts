// Paths a run has created and must not leave behind if it is interrupted. A command tracks a
// path before writing into it and forgets it once done; SIGINT, SIGTERM and SIGHUP remove
// whatever is still tracked (synchronously: the process ends right after) and exit 128+N as a
// shell would report the signal. Removing twice is harmless.
import fs from 'node:fs';
import os from 'node:os';

export interface Cleanup {
  /** Remember PATH (a file or a directory tree); returns the function that forgets it. */
  track(path: string): () => void;
  /**
   * Run FN (synchronous, best effort) if the run ends with it still registered: what is not a
   * plain path, e.g. rmdir of a tracefs instance. Returns the function that unregisters it.
   */
  atExit(fn: () => void): () => void;
  /** Remove everything still tracked and run what is still registered with atExit. */
  removeAllSync(): void;
}

export function createCleanup(): Cleanup {
  const paths = new Set<string>();
  const hooks = new Set<() => void>();
  return {
    track(path) {
      paths.add(path);
      return () => void paths.delete(path);
    },
    atExit(fn) {
      hooks.add(fn);
      return () => void hooks.delete(fn);
    },
    removeAllSync() {
      for (const fn of [...hooks].reverse()) {
        hooks.delete(fn);
        try {
          fn();
        } catch {
          // Best effort, as below.
        }
      }
      for (const p of [...paths].reverse()) {
        try {
          fs.rmSync(p, { recursive: true, force: true });
        } catch {
          // Best effort: the process is ending and has nowhere left to report it.
        }
        paths.delete(p);
      }
    },
  };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Installs the signal handlers for this run; returns their remover. */
export function removeOnSignal(cleanup: Cleanup, exit: (code: number) => void): () => void {
  const handlers = SIGNALS.map((sig) => {
    const h = (): void => {
      cleanup.removeAllSync();
      exit(128 + os.constants.signals[sig]);
    };
    process.on(sig, h);
    return () => void process.off(sig, h);
  });
  return () => handlers.forEach((off) => off());
}

/**
 * While a board is being changed, the first SIGINT/SIGTERM/SIGHUP asks the change to stop and
 * roll back (ON_SIGNAL) instead of ending the process half way; a second one ends it as usual.
 * Returns the function that puts the usual handlers back.
 */
export function deferSignals(onSignal: (sig: NodeJS.Signals) => void): () => void {
  const saved = SIGNALS.map((sig) => [sig, process.listeners(sig)] as const);
  let asked = false;
  const handler = (sig: NodeJS.Signals): void => {
    if (!asked) {
      asked = true;
      onSignal(sig);
      return;
    }
    for (const l of saved.find(([s]) => s === sig)?.[1] ?? []) (l as (s: NodeJS.Signals) => void)(sig);
  };
  for (const [sig] of saved) {
    process.removeAllListeners(sig);
    process.on(sig, handler);
  }
  return () => {
    for (const [sig, listeners] of saved) {
      process.removeListener(sig, handler);
      for (const l of listeners) process.on(sig, l as (s: NodeJS.Signals) => void);
    }
  };
}
