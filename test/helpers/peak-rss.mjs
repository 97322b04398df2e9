// Preloaded into a CLI run by the hostile-input tests (node --import): on exit, writes the
// process's peak resident set size in kilobytes to the file EPCTL_TEST_RSS_FILE names, so a
// test can hold a run to a memory bound without any tool outside Node.
//
// VmHWM from /proc/self/status, not getrusage's ru_maxrss: Linux carries ru_maxrss across
// fork and execve (it lives in signal_struct and keeps the parent's high-water mark), so a run
// spawned from a big test process would report the test process's peak, not its own.
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.env.EPCTL_TEST_RSS_FILE;
if (file)
  process.on('exit', () => {
    let kb = process.resourceUsage().maxRSS;
    try {
      const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
      if (m) kb = Number(m[1]);
    } catch {
      // No procfs (not Linux): ru_maxrss is the best there is.
    }
    writeFileSync(file, String(kb));
  });
