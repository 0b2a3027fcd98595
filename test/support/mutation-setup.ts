/**
 * Setup for the mutation runs only (vitest.stryker.config.ts): every fast-check property that does
 * not set its own numRuns runs 10 times instead of 100, with a pinned seed, so that a mutant is
 * killed or not the same way on every run and thousands of mutants finish in hours, not days.
 * (Properties that go through fcParams, test/support/arbitraries.ts, follow FC_SEED and FC_RUNS.)
 */
import fc from 'fast-check';

fc.configureGlobal({ numRuns: 10, seed: Number(process.env.FC_SEED ?? 20251125) });
