import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the `@regstack/source` condition, so the
// suites run against src/ without a build step (and dist/ stays what publishing ships).
export default defineConfig({
  resolve: { conditions: ['@regstack/source', 'module', 'node', 'default'] },
  ssr: { resolve: { conditions: ['@regstack/source', 'module', 'node', 'default'] } },
  test: {
    include: ['src/**/*.test.ts'],
    globalSetup: ['src/harness/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', './src/harness/summary-reporter.ts'],
  },
});
