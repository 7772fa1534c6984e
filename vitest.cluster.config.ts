import { defineConfig } from 'vitest/config';

/**
 * `npm run test:cluster`: the production topology (scripts/lib/cluster.ts) and the embedded
 * PostgreSQL, each file starting what it needs; long, so kept out of `npm test`.
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    setupFiles: ['test/helpers/quiet-runtime.ts'],
    pool: 'forks',
    // One at a time: each file starts whole servers, and the machine has two cores.
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 900_000,
    env: { NODE_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
  },
});
