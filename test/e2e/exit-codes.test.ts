// The exit codes are documented twice, in README.md's table and in the `Exit codes:` block of
// `epctl --help`; both must say what src/exit-codes.ts does: the same codes, each meaning
// starting with the same words as EXIT_SUMMARY.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import { EXIT, EXIT_SUMMARY } from '../../src/exit-codes.js';
import { epctl } from '../helpers/cli.js';

const plain = (s: string): string => s.replace(/`/g, '').replace(/\s+/g, ' ').trim();

async function readmeTable(): Promise<Map<number, string>> {
  const text = await fs.readFile('README.md', 'utf8');
  const section = text.split(/^## Exit codes$/m)[1]!.split(/^## /m)[0]!;
  const rows = new Map<number, string>();
  for (const m of section.matchAll(/^\| (\d+) \| (.+) \|$/gm)) rows.set(Number(m[1]), plain(m[2]!));
  return rows;
}

async function helpBlock(): Promise<Map<number, string>> {
  const r = await epctl(['--help']);
  const block = r.stdout.split(/^Exit codes:$/m)[1]!;
  const rows = new Map<number, string>();
  for (const m of block.matchAll(/^ {2}(\d+)\s+(.+)$/gm)) rows.set(Number(m[1]), plain(m[2]!));
  return rows;
}

const codes = [...new Set(Object.values(EXIT))].sort((a, b) => a - b);

describe('exit codes', () => {
  it('every code in src/exit-codes.ts has one summary, and no summary lacks a code', () => {
    expect(Object.keys(EXIT_SUMMARY).map(Number).sort((a, b) => a - b)).toEqual(codes);
  });

  it("README.md's table lists exactly those codes, each meaning starting with its summary", async () => {
    const rows = await readmeTable();
    expect([...rows.keys()].sort((a, b) => a - b)).toEqual(codes);
    for (const code of codes) expect(rows.get(code)!.startsWith(plain(EXIT_SUMMARY[code])), `README code ${code}: ${rows.get(code)}`).toBe(true);
  });

  it("`epctl --help` lists exactly those codes with their summaries", async () => {
    const rows = await helpBlock();
    expect([...rows.keys()].sort((a, b) => a - b)).toEqual(codes);
    for (const code of codes) expect(rows.get(code)).toBe(plain(EXIT_SUMMARY[code]));
  });
});
