/**
 * The tests Stryker (`npm run mutation`, stryker.config.json) runs against each mutant: every test
 * file but the slow ones. The full suite takes well over a minute; run once per mutant (thousands)
 * it would take days on two cores. Left out, and why:
 *
 * - the C-program tests (test/tree/c-trees, fixtures-c, status-writer.c, test/layout/c-crosscheck
 *   stays in: one gcc run, and it is the oracle for the layout engine): a gcc build and x86 runs
 *   under qemu per test run;
 * - test/fuzz/scale.test.ts and the million-block tests of test/tree/status-writer and walk
 *   (skipped when MUTATION_RUN is set: Stryker's runner replaces testNamePattern): seconds each,
 *   and they check the walk's shape, which the small trees check too;
 * - test/cli, test/export and test/docs: src/cli and src/export are not mutated, and the docs'
 *   examples run in child processes, which see no mutant.
 *
 * Property tests run with a pinned seed (so a mutant is killed or not, the same on every run) and
 * a tenth of their runs: FC_RUNS for the ones written with fcParams (test/support/arbitraries.ts),
 * fc.configureGlobal for the rest (test/support/mutation-setup.ts).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [
      '**/node_modules/**',
      'test/tree/c-trees.test.ts',
      'test/tree/fixtures-c.test.ts',
      'test/tree/status-writer.c.test.ts',
      'test/fuzz/scale.test.ts',
      'test/cli/**',
      'test/export/**',
      'test/docs/**',
    ],
    testTimeout: 60_000,
    env: { FC_SEED: '20251125', FC_RUNS: '0.1', MUTATION_RUN: '1' },
    setupFiles: ['test/support/mutation-setup.ts'],
    // Test files share their workers' module cache: each mutant run re-imports far less.
    isolate: false,
  },
});
