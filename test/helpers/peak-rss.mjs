// Preloaded into a CLI run by the hostile-input tests (node --import): on exit, writes the
// process's peak resident set size in kilobytes to the file EPCTL_TEST_RSS_FILE names, so a
// test can hold a run to a memory bound without any tool outside Node.
import { writeFileSync } from 'node:fs';

const file = process.env.EPCTL_TEST_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
