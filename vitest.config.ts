import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'],
    pool: 'threads',
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
