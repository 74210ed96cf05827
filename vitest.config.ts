import { defineConfig } from 'vitest/config';
import SlowestFirst from './test/support/sequencer.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // provision.ts first: it installs (or names) the system packages the rest needs, openssl included.
    globalSetup: ['test/support/provision.ts', 'test/support/global-setup.ts'],
    pool: 'forks',
    // Two test files at a time (the default on a 2-core machine is one): most of a file's time is
    // spent waiting on slapd, PostgreSQL start-up and loopback peers, not on the CPU.
    maxWorkers: 2,
    // The slowest files start first, with or without vitest's results cache (test/support/sequencer.ts).
    sequence: { sequencer: SlowestFirst },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
