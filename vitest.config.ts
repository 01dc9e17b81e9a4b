import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Browser and integration tests start real servers and browsers: on 2 cores they run one file at a time.
    fileParallelism: false,
    // A browser test is many steps (launch, join, reload), each with its own bound; on a loaded 2-core
    // machine their sum needs more than the default.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
