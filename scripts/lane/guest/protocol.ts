// What the host sends the guest harness (the scenario list, in /lane/input.json) and what the
// harness sends back (framed records on the console). Shared by both sides; types only.

/** One scenario to run in the guest: its registered name and its parameters. */
export interface ScenarioRequest {
  readonly name: string;
  readonly params?: unknown;
}

/** /lane/input.json. */
export interface GuestInput {
  readonly scenarios: readonly ScenarioRequest[];
}

/** Kernel log lines (from /dev/kmsg) printed while a scenario ran: `[seconds] text`. */
export type KernelLog = string[];

export type GuestRecord =
  | { readonly type: 'hello'; readonly node: string; readonly release: string; readonly uptime: number }
  /** A scenario starts. */
  | { readonly type: 'begin'; readonly index: number; readonly scenario: string }
  /** The operation a scenario is about to do: named by the host if the kernel oopses during it. */
  | { readonly type: 'op'; readonly index: number; readonly scenario: string; readonly op: string }
  /** Streamed data of a scenario (for long ones: results as they come). */
  | { readonly type: 'data'; readonly index: number; readonly scenario: string; readonly data: unknown }
  | { readonly type: 'result'; readonly index: number; readonly scenario: string; readonly ok: true; readonly ms: number; readonly data: unknown; readonly kmsg: KernelLog }
  | { readonly type: 'result'; readonly index: number; readonly scenario: string; readonly ok: false; readonly ms: number; readonly error: string; readonly kmsg: KernelLog }
  /** The harness finished every scenario. */
  | { readonly type: 'end'; readonly count: number; readonly uptime: number };

export type ScenarioResult = Extract<GuestRecord, { type: 'result' }>;
