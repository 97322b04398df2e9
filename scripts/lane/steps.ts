// Step timing: every lane step prints its wall time as it ends, and the summary lists them,
// so cold and warm runs can be compared and a slow step is visible at once.

export interface StepTime {
  readonly name: string;
  readonly ms: number;
  readonly note?: string;
}

/** Prints lane progress on stderr; stdout stays free for a JSON summary. */
export function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Formats milliseconds as seconds with one decimal. */
export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Collects the timed steps of one lane run. */
export class Steps {
  readonly times: StepTime[] = [];

  /** Runs `fn` as the step `name`, printing its wall time; `fn` may return a note (e.g. "cached"). */
  async run<T>(name: string, fn: (note: (n: string) => void) => Promise<T>): Promise<T> {
    const t0 = performance.now();
    let noted: string | undefined;
    say(`[lane] ${name} …`);
    try {
      const out = await fn((n) => {
        noted = n;
      });
      const ms = performance.now() - t0;
      this.times.push({ name, ms, ...(noted ? { note: noted } : {}) });
      say(`[lane] ${name}: ${secs(ms)}${noted ? ` (${noted})` : ''}`);
      return out;
    } catch (e) {
      const ms = performance.now() - t0;
      this.times.push({ name, ms, note: 'FAILED' });
      say(`[lane] ${name}: FAILED after ${secs(ms)}`);
      throw e;
    }
  }
}
