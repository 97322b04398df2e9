// What the agent knows and serves (its status API, `epctl status --agent`, metrics): one
// JSON-able object the agent keeps current. The board part is `epctl status`'s own StatusState,
// read after each converge and each drift check; the rest is the agent's life.
import type { StatusState } from '../status/status.js';
import type { DoorbellEvent } from '../doorbell/watch.js';

/** Where the agent is: waiting for the board, applying, converged, or failed (and why). */
export const AGENT_PHASES = ['starting', 'waiting', 'applying', 'converged', 'failed', 'stopping'] as const;
export type AgentPhase = (typeof AGENT_PHASES)[number];
/** What an apply (or the plan that found nothing to do) came to. */
export const APPLY_OUTCOMES = ['nothing', 'applied', 'refused', 'failed'] as const;

export interface AgentApplyRecord {
  /** ISO time the apply (or the plan that found nothing to do) finished. */
  at: string;
  /** What started it: boot, a config change, SIGHUP, drift correction. */
  reason: 'start' | 'config-changed' | 'sighup' | 'drift';
  outcome: (typeof APPLY_OUTCOMES)[number];
  /** Operations carried out (0 for nothing/refused). */
  operations: number;
  /** One line per refusal or the failure (with its errno and path), empty when it converged. */
  errors: string[];
  durationMs: number;
}

export interface AgentStatus {
  format: 'epctl-agent-status';
  version: 1;
  pid: number;
  startedAt: string;
  phase: AgentPhase;
  /** The systemd STATUS= line: what a person sees in `systemctl status`. */
  statusLine: string;
  config: {
    file: string;
    /** When the config in use was loaded, and a hash of its text. */
    loadedAt: string | null;
    sha256: string | null;
    /** The last reload's error (the previous config stays in use), or null. */
    error: string | null;
  };
  /** What the agent waits for at boot (controllers, the configfs mount), empty when nothing. */
  waitingFor: string[];
  lastApply: AgentApplyRecord | null;
  /** Applies carried out (total), those that failed and were rolled back (as epctl_apply_failures_total counts them), plans refused before any write, drift corrections. */
  applies: { total: number; failed: number; refused: number; driftCorrections: number };
  drift: {
    /** Seconds between checks (0: off). */
    intervalS: number;
    /** Whether drift is corrected or only reported (config agent.correct_drift). */
    correct: boolean;
    /** The last check that found the board differing from the config: when, and the operations that would fix it. */
    detected: { at: string; operations: string[] } | null;
    lastCheckAt: string | null;
  };
  /** The board as `epctl status --json` shows it, as of the last read. */
  board: StatusState | null;
  doorbells: {
    /** Per virq: its function's row and count. */
    counts: { virq: number; index: number | undefined; chip: string; controller: string | null; action: string; count: number }[];
    /** The most recent events, oldest first (bounded). */
    recent: DoorbellEvent[];
  };
  /** Recent kernel log lines about endpoints (bounded), oldest first. */
  kernelLog: string[];
}
