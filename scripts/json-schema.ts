// Writes schema/epctl-config.schema.json from the zod schema (src/config/json-schema.ts).
// Usage: node scripts/run-ts.mjs scripts/json-schema.ts
import fs from 'node:fs';
import { configJsonSchema, JSON_SCHEMA_FILE } from '../src/config/json-schema.js';

fs.mkdirSync('schema', { recursive: true });
fs.writeFileSync(JSON_SCHEMA_FILE, configJsonSchema());
console.log(`wrote ${JSON_SCHEMA_FILE}`);
