// Runs every bench/*.ts (each exports `run()` → one result or a list) and prints the ratios
// measured in this one run. Benchmarks never fail the build; they report against their target.
import { readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const dir = path.dirname(new URL(import.meta.url).pathname);
const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'harness.ts').sort();
const rows = [];
for (const f of files) {
  const out = execFileSync(process.execPath, [path.join(dir, '..', 'scripts', 'run-ts.mjs'), path.join(dir, 'harness.ts'), path.join(dir, f)], { encoding: 'utf8' });
  rows.push(...JSON.parse(out.trim().split('\n').pop()));
}
for (const r of rows) {
  const ok = r.ratio <= r.target ? 'ok  ' : 'SLOW';
  console.log(`${ok} ${r.ratio.toFixed(2)}× (target ≤ ${r.target}×)  ${r.name}\n      ${r.detail}`);
}
