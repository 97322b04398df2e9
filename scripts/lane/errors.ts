// The lane's one error: what step failed, what happened, and what to do about it, so a
// failure on a fresh machine reads as an instruction rather than a stack trace.

/** A lane failure with its step and the fix; main prints `step: message` and `fix: …`. */
export class LaneError extends Error {
  override readonly name = 'LaneError';
  constructor(
    readonly step: string,
    message: string,
    readonly fix?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
