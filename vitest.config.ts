import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/support/longest-first-sequencer.ts';

export default defineConfig({
  test: {
    // The Temporal native bridge crashes under worker threads; each test file gets its own process.
    pool: 'forks',
    // The suite mostly waits (on servers, batches, polls): vitest's default on 2 cores is one file at a
    // time (availableParallelism - 1); three at once took 1,125 s against 1,867 s serial.
    maxWorkers: 3,
    include: ['test/**/*.test.ts'],
    sequence: { sequencer: LongestFirstSequencer },
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/quiet-runtime.ts'],
    // Real servers on 2 shared cores: bundling a workflow takes seconds, so allow minutes.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
