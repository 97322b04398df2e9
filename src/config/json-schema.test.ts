import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import { configJsonSchema, JSON_SCHEMA_FILE } from './json-schema.js';

describe('the committed JSON Schema', () => {
  it('is what the zod schema generates (regenerate with scripts/json-schema.ts)', () => {
    expect(fs.readFileSync(JSON_SCHEMA_FILE, 'utf8')).toBe(configJsonSchema());
  });

  it('states the limits editors can check: MSI 1..32, MSI-X 1..2048, 16-bit vendorid, version 1', () => {
    const s = JSON.parse(configJsonSchema()) as { properties: { version: unknown; functions: { items: { properties: Record<string, { minimum?: number; maximum?: number; properties?: Record<string, { maximum?: number }> }> } } } };
    const f = s.properties.functions.items.properties;
    expect([f['msi_interrupts']!.minimum, f['msi_interrupts']!.maximum]).toEqual([1, 32]);
    expect([f['msix_interrupts']!.minimum, f['msix_interrupts']!.maximum]).toEqual([1, 2048]);
    expect(f['header']!.properties!['vendorid']!.maximum).toBe(0xffff);
    expect(s.properties.version).toMatchObject({ const: 1 });
  });
});
