// Checks as TAP version 13, as the kernel's kselftests print it (tools/testing/selftests/
// kselftest.h): the version line, the plan `1..N`, one `ok N - name` / `not ok N - name` per
// check, `# SKIP reason` as the directive of a check that does not apply, diagnostics as `# `
// lines after their test line, and kselftest's `# Totals:` line. A description never carries a
// line break or an unescaped `#` (it would start a directive); every diagnostic line starts
// with `# `, so no board string can forge a test line or a `Bail out!`.
import type { Check } from './checks.js';

/**
 * One line, `\` and `#` escaped (TAP 13 escapes `#` as `\#`), then control characters written
 * visibly (\x1B): a backslash from the board is always doubled, so \x1B is never ambiguous.
 */
function description(text: string): string {
  return oneLine(text.replace(/[\\#]/g, (c) => `\\${c}`));
}

function oneLine(text: string): string {
  return text.replace(/\r\n|[\r\n]/g, ' ').replace(/[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).replace(/\t/g, ' ');
}

function diagnostics(lines: readonly string[]): string[] {
  return lines.flatMap((l) => l.split(/\r\n|[\r\n]/)).map((l) => `# ${oneLine(l)}`.trimEnd());
}

/** The TAP document of CHECKS; TITLE is a first diagnostic naming the run (command and board). */
export function renderTap(title: string, checks: readonly Check[]): string {
  const out = ['TAP version 13', ...diagnostics([title]), `1..${checks.length}`];
  checks.forEach((c, i) => {
    const n = i + 1;
    if (c.status === 'skip') {
      out.push(`ok ${n} - ${description(c.name)} # SKIP ${description(c.message)}`);
      return;
    }
    out.push(`${c.status === 'pass' ? 'ok' : 'not ok'} ${n} - ${description(c.name)}`, ...diagnostics([c.message, ...c.details]));
  });
  const count = (s: Check['status']) => checks.filter((c) => c.status === s).length;
  out.push(`# Totals: pass:${count('pass')} fail:${count('fail')} xfail:0 xpass:0 skip:${count('skip')} error:0`);
  return out.join('\n') + '\n';
}

/** A run that could not read the board: TAP's Bail out! (after the version line), with the reason. */
export function renderTapBailOut(title: string, message: string): string {
  return ['TAP version 13', ...diagnostics([title]), `Bail out! ${oneLine(message)}`].join('\n') + '\n';
}
