// Checks as JUnit XML, the shape CI servers and board farms read (Jenkins, GitLab, LAVA's and
// labgrid's pytest reports): one <testsuite>, a <testcase> per check, <failure message> for a
// failed check (its details as the element's text), <skipped message> for one that does not
// apply, the passing check's message in <system-out>. Every string goes through xml.ts.
import type { Check } from './checks.js';
import { escapeAttr, escapeText } from './xml.js';

export interface SuiteInfo {
  /** The suite's name: "epctl probe", "epctl doorbell status". */
  name: string;
  /** Recorded as <properties>: the board source, the kernel release. */
  properties: Record<string, string>;
}

/** The JUnit XML document of CHECKS. */
export function renderJunit(suite: SuiteInfo, checks: readonly Check[]): string {
  const count = (s: Check['status']) => checks.filter((c) => c.status === s).length;
  const classname = escapeAttr(suite.name.replace(/\s+/g, '.'));
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="${escapeAttr(suite.name)}" tests="${checks.length}" failures="${count('fail')}" errors="0" skipped="${count('skip')}">`,
  ];
  const props = Object.entries(suite.properties);
  if (props.length > 0) {
    out.push('  <properties>');
    for (const [k, v] of props) out.push(`    <property name="${escapeAttr(k)}" value="${escapeAttr(v)}"/>`);
    out.push('  </properties>');
  }
  for (const c of checks) {
    const open = `  <testcase name="${escapeAttr(c.name)}" classname="${classname}"`;
    if (c.status === 'pass') out.push(`${open}>`, `    <system-out>${escapeText(c.message)}</system-out>`, '  </testcase>');
    else if (c.status === 'skip') out.push(`${open}>`, `    <skipped message="${escapeAttr(c.message)}"/>`, '  </testcase>');
    else out.push(`${open}>`, `    <failure message="${escapeAttr(c.message)}" type="fail">${escapeText([c.message, ...c.details].join('\n'))}</failure>`, '  </testcase>');
  }
  out.push('</testsuite>');
  return out.join('\n') + '\n';
}

/** A run that could not read the board: the suite with one <error> testcase saying why. */
export function renderJunitError(suite: SuiteInfo, message: string, hint: string | undefined): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="${escapeAttr(suite.name)}" tests="1" failures="0" errors="1" skipped="0">`,
    `  <testcase name="${escapeAttr(suite.name)}" classname="${escapeAttr(suite.name.replace(/\s+/g, '.'))}">`,
    `    <error message="${escapeAttr(message)}" type="error">${escapeText(hint ? `${message}\nfix: ${hint}` : message)}</error>`,
    '  </testcase>',
    '</testsuite>',
  ].join('\n') + '\n';
}
