import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing running; `services` gets a real Temporal dev server and a real
// MinIO from the global setup. Files ending in `.services.test.ts` are the ones that need them.
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    setupFiles: ['test/setup/fail-on-console.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.services.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'services',
          include: ['test/**/*.services.test.ts'],
          globalSetup: ['test/setup/start-services.ts'],
          setupFiles: ['test/setup/fail-on-console.ts', 'test/setup/quiet-temporal-runtime.ts'],
        },
      },
    ],
  },
});
