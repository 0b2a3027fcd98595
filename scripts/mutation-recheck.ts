/**
 * Re-runs every mutant a Stryker report calls Survived or NoCoverage, outside Stryker: the mutant is
 * written into a copy of the sources and the mutation suite (vitest.stryker.config.ts) runs on it,
 * stopping at the first failure. A mutant counts as killed only if that run fails.
 *
 * Why: Stryker 9.6's vitest runner with Vitest 4.1 misattributes per-test coverage
 * (stryker-mutator/stryker-js#5928, #6073): it reports mutants as Survived or NoCoverage that the
 * suite kills when the mutant is applied by hand, so its score understates the suite. Killed and
 * timed-out verdicts are sound (a test did fail, or the run did hang); only those two are checked.
 *
 *   npx tsx scripts/mutation-recheck.ts [--sample N] [reports/mutation/mutation.json ...]
 *
 * --sample N rechecks every k-th suspect of each file, N in all (an even sample, for an estimate
 * when the whole list would take too long: each survivor costs a full run of the suite).
 *
 * Prints a table per file (Stryker's counts, the rechecked ones, the corrected score) and writes
 * reports/mutation/recheck.json with every rechecked mutant's verdict.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface Mutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}

const args = process.argv.slice(2);
const sampleAt = args.indexOf('--sample');
const sample = sampleAt >= 0 ? Number(args.splice(sampleAt, 2)[1]) : undefined;
const reports = args.length ? args : ['reports/mutation/mutation.json'];
/** Longest a run may take before the mutant counts as a hang (a timeout, detected, as Stryker counts it). */
const RUN_TIMEOUT_MS = 120_000;

/** The source with the mutant's replacement in place of its location (1-based lines and columns, end exclusive). */
function applyMutant(source: string, m: Mutant): string {
  const lines = source.split('\n');
  const offset = (p: { line: number; column: number }): number => {
    let o = 0;
    for (let i = 0; i < p.line - 1; i++) o += lines[i]!.length + 1;
    return o + p.column - 1;
  };
  return source.slice(0, offset(m.location.start)) + (m.replacement ?? '') + source.slice(offset(m.location.end));
}

// The sandbox: every tracked file (tests read docs, fixtures and scripts too), node_modules linked.
const sandbox = mkdtempSync(path.join(os.tmpdir(), 'ndis-mutation-recheck-'));
for (const entry of execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' }).split('\0').filter(Boolean)) {
  cpSync(entry, path.join(sandbox, entry), { recursive: true });
}
symlinkSync(path.resolve('node_modules'), path.join(sandbox, 'node_modules'));
mkdirSync('reports/mutation', { recursive: true });

const runSuite = (): { status: number | null; error?: Error; stdout: string } =>
  spawnSync(process.execPath, [path.resolve('node_modules/vitest/vitest.mjs'), 'run', '--config', 'vitest.stryker.config.ts', '--bail', '1', '--reporter', 'dot'], {
    cwd: sandbox,
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    maxBuffer: 64 << 20,
  });

// The control: without a mutant the suite must pass in the sandbox, or every verdict below is void.
{
  const r = runSuite();
  if (r.error || r.status !== 0) {
    rmSync(sandbox, { recursive: true, force: true });
    throw new Error(`the mutation suite fails without a mutant in the sandbox (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout.slice(-3000)}`);
  }
}

const verdicts: { file: string; id: string; mutator: string; line: number; was: string; now: 'killed' | 'timeout' | 'survived'; ms: number }[] = [];
const rows: string[] = ['| file | mutants | Stryker: detected | Stryker: survived + no coverage | rechecked: killed | still survived | score (Stryker) | score (rechecked) |', '|---|---:|---:|---:|---:|---:|---:|---:|'];
let total = 0;
let detectedAll = 0;
try {
  for (const file of reports) {
    const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
    for (const [name, { source, mutants }] of Object.entries(report.files)) {
      const target = path.join(sandbox, name);
      const detected = mutants.filter((m) => m.status === 'Killed' || m.status === 'Timeout').length;
      const all = mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage');
      const step = sample && all.length > sample ? all.length / sample : 1;
      const suspects = step === 1 ? all : Array.from({ length: sample! }, (_, k) => all[Math.floor(k * step)]!);
      const valid = mutants.filter((m) => m.status !== 'CompileError' && m.status !== 'RuntimeError' && m.status !== 'Ignored').length;
      let killed = 0;
      for (const [i, m] of suspects.entries()) {
        writeFileSync(target, applyMutant(source, m));
        const t = performance.now();
        const r = runSuite();
        const ms = Math.round(performance.now() - t);
        const now = r.error ? 'timeout' : r.status === 0 ? 'survived' : 'killed';
        if (now !== 'survived') killed++;
        verdicts.push({ file: name, id: m.id, mutator: m.mutatorName, line: m.location.start.line, was: m.status, now, ms });
        process.stderr.write(`${name} ${i + 1}/${suspects.length}: line ${m.location.start.line} ${m.mutatorName} -> ${now} (${(ms / 1000).toFixed(1)} s)\n`);
        writeFileSync('reports/mutation/recheck.json', `${JSON.stringify(verdicts, null, 2)}\n`);
      }
      writeFileSync(target, source);
      const pct = (n: number): string => `${((100 * n) / valid).toFixed(2)} %`;
      // A sample's kill rate stands for all the suspects of the file.
      const killedAll = Math.round((killed * all.length) / Math.max(1, suspects.length));
      const sampled = suspects.length < all.length ? ` (sample of ${suspects.length}: ${killed} killed)` : '';
      rows.push(`| ${name} | ${valid} | ${detected} | ${all.length}${sampled} | ${killedAll} | ${all.length - killedAll} | ${pct(detected)} | ${pct(detected + killedAll)} |`);
      total += valid;
      detectedAll += detected + killedAll;
    }
  }
} finally {
  rmSync(sandbox, { recursive: true, force: true });
}
writeFileSync('reports/mutation/recheck.json', `${JSON.stringify(verdicts, null, 2)}\n`);
console.log(`${rows.join('\n')}\n\nall: ${detectedAll} of ${total} detected, ${((100 * detectedAll) / total).toFixed(2)} %`);
