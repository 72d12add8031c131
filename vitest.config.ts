import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing running; `services` gets a real Temporal dev server and a real
// MinIO from the global setup. Files ending in `.services.test.ts` are the ones that need them.
// `npm run test:quick` is what a developer runs on every change (PATHGEN_QUICK=1): the unit project
// without the tests that train with open_clip and without those that start the CLI as a process
// per case (test/workers/*-cli.test.ts); `npm test` runs everything, and is what CI runs.
const notQuick = process.env.PATHGEN_QUICK === '1' ? ['test/infra/train/**', 'test/workers/*-cli.test.ts'] : [];

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
          exclude: ['test/**/*.services.test.ts', ...notQuick],
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
