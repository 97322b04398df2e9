// --format tap|junit of `probe` and `doorbell status`: the command's result as checks
// (src/report/checks.ts) in the shape a board farm collects — TAP 13 as kselftest prints it,
// or JUnit XML. The exit code is the command's own, whatever the checks say. A run that cannot
// read the board at all still prints a document (TAP's Bail out!, a JUnit <error>) before the
// error is reported as usual (stderr, its exit code).
import { Option, type Command } from 'commander';
import { EpctlError } from '../kernel/errors.js';
import { UsageError, type RunContext } from './context.js';
import { writeOut } from './output.js';
import type { Check } from '../report/checks.js';
import { renderTap, renderTapBailOut } from '../report/tap.js';
import { renderJunit, renderJunitError, type SuiteInfo } from '../report/junit.js';

export const REPORT_FORMATS = ['tap', 'junit'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function formatOption(): Option {
  return new Option('--format <format>', 'print the checks for a board farm: tap (TAP 13, kselftest style) or junit (JUnit XML)').choices(REPORT_FORMATS);
}

/** The --format the command was given, refused beside another output choice (--json, --dtso). */
export function reportFormat(cmd: Command, ctx: RunContext, others: Record<string, boolean | undefined> = {}): ReportFormat | undefined {
  const format = (cmd.opts() as { format?: ReportFormat }).format;
  if (format === undefined) return undefined;
  for (const [flag, given] of Object.entries({ '--json': ctx.json, ...others }))
    if (given) throw new UsageError(`--format ${format} and ${flag} both print to stdout: choose one`, `drop ${flag}, or --format ${format}`);
  return format;
}

/** The run's title and JUnit properties. */
export function suiteOf(command: string, source: { origin: string } | undefined, release: string | null | undefined): SuiteInfo {
  return { name: `epctl ${command}`, properties: { ...(source ? { origin: source.origin } : {}), ...(release ? { kernel: release } : {}) } };
}

export function renderReport(format: ReportFormat, suite: SuiteInfo, checks: readonly Check[]): string {
  if (format === 'junit') return renderJunit(suite, checks);
  const title = [suite.name, ...Object.entries(suite.properties).map(([k, v]) => `${k} ${v}`)].join(', ');
  return renderTap(title, checks);
}

/** Runs FN; an EpctlError (no board, no configfs to read) prints the format's failure document first. */
export async function reportingFailure<T>(format: ReportFormat | undefined, command: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (format !== undefined && e instanceof EpctlError) {
      const suite = suiteOf(command, undefined, undefined);
      writeOut(format === 'junit' ? renderJunitError(suite, e.message, e.hint) : renderTapBailOut(suite.name, e.message));
    }
    throw e;
  }
}
