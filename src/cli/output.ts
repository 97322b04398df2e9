// Standard output as a command uses it. A write that fails (a full disk: `epctl probe >
// /dev/full`, a closed pipe: `epctl probe | head -0`) is not epctl's bug and not worth a
// message nobody reads: the run stops quietly with exit 74 (EX_IOERR).
export class StdoutError extends Error {
  constructor(readonly code: string | undefined, cause: unknown) {
    super(`cannot write to standard output (${code ?? 'unknown error'})`, { cause });
  }
}

/** Writes TEXT to stdout; throws StdoutError when that fails synchronously (a file). */
export function writeOut(text: string): void {
  try {
    process.stdout.write(text);
  } catch (e) {
    throw new StdoutError((e as NodeJS.ErrnoException).code, e);
  }
}

/** Writes to stderr, ignoring failure: there is nowhere left to report it. */
export function writeErr(text: string): void {
  try {
    process.stderr.write(text);
  } catch {
    // stderr is gone too.
  }
}
