/**
 * `npm run bench`: builds the synthetic trees with the library's encoder, runs every case in a
 * process of its own, writes bench/results.json, prints the table and the targets, redraws
 * docs/performance-scale.svg and refreshes the tables in docs/performance.md.
 *
 *   npm run bench                       every case
 *   npm run bench -- --only walk-read,@10k   the cases whose name contains one of the strings
 *                                            (results.json is then merged: the others keep their last values)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { encodeTree } from '../src/index.js';
import { CASES, CASE_NAMES, type CaseResult, DUMP_CASE_NAMES, DUMP_GROUP, GROUPS, type GroupSpec, type ImageInfo, type Images, isNative } from './cases.js';
import { dumpCases } from './dump-cases.js';
import { scaleChart } from './chart.js';
import { type Results, casesTable, machineLine, targetsTable } from './report.js';
import { SIZES, type SizeName, syntheticDocument, tcpBlocks } from './synthetic.js';
import { WEB_CASE_NAMES, WEB_GROUP, type WebBundle } from './web-results.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const RESULTS = path.join(here, 'results.json');
const DOC = path.join(repo, 'docs', 'performance.md');
const CHART = path.join(repo, 'docs', 'performance-scale.svg');

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]?.split(',') : undefined;
const selected = GROUPS.filter(
  (g) => !only || only.some((o) => g.name.includes(o) || CASES.some((c) => c.group === g.name && c.name.includes(o))),
);
const runDumps = !only || only.some((o) => DUMP_GROUP.includes(o) || DUMP_CASE_NAMES.some((n) => n.includes(o)));
const runWeb = !only || only.some((o) => WEB_GROUP === o || WEB_CASE_NAMES.some((n) => n.includes(o)));
const started = Date.now();

function ccVersion(): string | undefined {
  try {
    return execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return undefined;
  }
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.versions.node,
    v8: process.versions.v8,
    cc: ccVersion(),
    date: new Date().toISOString(),
    loadAverageStart: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

function buildImages(dir: string, sizes: Set<SizeName>): Images {
  const images = {} as Images;
  for (const size of sizes) {
    const t = performance.now();
    const { doc, portSum } = syntheticDocument(SIZES[size]);
    const enc = encodeTree(doc);
    const file = path.join(dir, `tree-${size}.bin`);
    writeFileSync(file, enc.bytes);
    const shape = SIZES[size];
    const info: ImageInfo = {
      file,
      base: `0x${enc.base.toString(16)}`,
      root: `0x${enc.root.toString(16)}`,
      portSum,
      tcpBlocks: tcpBlocks(shape),
      blocks: tcpBlocks(shape) + shape.neighbors * shape.paths + shape.neighbors,
      bytes: enc.bytes.length,
    };
    images[size] = info;
    console.error(`built ${size}: ${info.blocks.toLocaleString('en-US')} blocks, ${(info.bytes / 2 ** 20).toFixed(1)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  return images;
}

/**
 * bench/child.ts as one plain JavaScript file, so that the case processes start fast and carry no
 * TypeScript loader (about 40 MB of resident memory that would count in every peak RSS). It goes
 * under node_modules/.cache so that its package imports resolve from the project.
 */
async function bundleChild(entry = 'child.ts'): Promise<string> {
  const dir = path.join(repo, 'node_modules', '.cache', 'ndis-offload-bench');
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, entry.replace(/\.ts$/, '.mjs'));
  await build({ entryPoints: [path.join(here, entry)], outfile: out, bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'warning' });
  return out;
}

function runGroup(group: GroupSpec, child: string, imagesFile: string, native: string | undefined): CaseResult[] {
  const r = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      ...(group.heapMb ? [`--max-old-space-size=${group.heapMb}`] : []),
      child,
      group.name,
      imagesFile,
      ...(native ? [native] : []),
    ],
    { cwd: repo, encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(`${group.name} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  const results = JSON.parse(r.stdout.trim().split('\n').pop()!) as CaseResult[];
  // The same measurement under its other names (the 100k member of each scale series).
  return results.flatMap((x) => [x, ...(CASES.find((c) => c.name === x.name)?.aliases ?? []).map((name) => ({ ...x, name }))]);
}

function updateDoc(results: Results): void {
  if (!existsSync(DOC)) return;
  const text = readFileSync(DOC, 'utf8');
  const block = (tag: string, body: string, s: string): string => {
    const start = `<!-- bench:${tag}:start -->`;
    const end = `<!-- bench:${tag}:end -->`;
    const a = s.indexOf(start);
    const b = s.indexOf(end);
    return a < 0 || b < a ? s : `${s.slice(0, a + start.length)}\n${body}\n${s.slice(b)}`;
  };
  let out = block('machine', machineLine(results), text);
  out = block('targets', targetsTable(results), out);
  out = block('cases', casesTable(results), out);
  writeFileSync(DOC, out);
}

/** bench/web.ts in a process of its own (Chromium, the page served from 127.0.0.1): its cases and the bundle's sizes, or undefined when it could not run. */
function runWebCases(): { cases: CaseResult[]; bundle: WebBundle } | undefined {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'web.ts'), ...(only ? ['--only', only.join(',')] : [])], { cwd: repo, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    console.error(`the web cases did not run (${r.status ?? r.signal}): ${r.stderr.trim().split('\n')[0]}`);
    return undefined;
  }
  return JSON.parse(r.stdout) as { cases: CaseResult[]; bundle: WebBundle };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ndis-offload-bench-'));
  try {
    const images = buildImages(dir, new Set(selected.map((g) => g.size)));
    const imagesFile = path.join(dir, 'images.json');
    writeFileSync(imagesFile, JSON.stringify(images));
    let native: string | undefined;
    if (selected.some((g) => CASES.some((c) => c.group === g.name && isNative(c.kind)))) {
      if (ccVersion()) {
        native = path.join(dir, 'walk');
        execFileSync('gcc', ['-O2', '-o', native, path.join(here, 'native', 'walk.c')]);
      } else console.error('no C compiler: the native-c cases are skipped');
    }
    const child = await bundleChild();
    const results: CaseResult[] = [];
    for (const group of selected) {
      const t = performance.now();
      const rs = runGroup(group, child, imagesFile, native);
      results.push(...rs);
      for (const r of rs) console.error(`${r.name.padEnd(34)} ${r.medianMs.toFixed(3).padStart(10)} ms  ${((r.medianMs * 1e6) / r.blocks).toFixed(1).padStart(9)} ns/block`);
      console.error(`  (${group.name}: ${((performance.now() - t) / 1000).toFixed(1)} s)`);
    }
    if (runDumps) {
      const t = performance.now();
      const rs = await dumpCases({ childScript: await bundleChild('dump-cases.ts'), ...(only ? { only } : {}) });
      results.push(...rs);
      for (const r of rs) console.error(`${r.name.padEnd(34)} ${r.medianMs.toFixed(3).padStart(10)} ms  peak RSS ${((r.rssBytes ?? 0) / 2 ** 20).toFixed(0)} MiB`);
      console.error(`  (${DUMP_GROUP}: ${((performance.now() - t) / 1000).toFixed(1)} s)`);
    }
    let web: { bundle: WebBundle } | undefined;
    if (runWeb) {
      const t = performance.now();
      const w = runWebCases();
      if (w) {
        results.push(...w.cases);
        web = { bundle: w.bundle };
        for (const r of w.cases) console.error(`${r.name.padEnd(34)} ${r.medianMs.toFixed(3).padStart(10)} ms`);
        console.error(`  (${WEB_GROUP}: ${((performance.now() - t) / 1000).toFixed(1)} s; inspector.js ${(w.bundle['inspector.js']!.gzip / 1024).toFixed(1)} KB gzipped)`);
      }
    }
    const previous: Results | undefined = only && existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as Results) : undefined;
    const names = [...CASE_NAMES, ...WEB_CASE_NAMES];
    const merged = previous
      ? names.flatMap((n) => results.find((r) => r.name === n) ?? previous.cases.find((r) => r.name === n) ?? [])
      : names.flatMap((n) => results.find((r) => r.name === n) ?? []);
    const m = { ...machine(), loadAverageEnd: os.loadavg().map((l) => l.toFixed(2)).join(' '), wallSeconds: Math.round((Date.now() - started) / 1000) };
    const out: Results = { machine: m, cases: merged, ...(web ?? previous?.web ? { web: web ?? previous!.web! } : {}) };
    writeFileSync(RESULTS, `${JSON.stringify(out, null, 2)}\n`);
    writeFileSync(CHART, scaleChart(out));
    updateDoc(out);
    console.log(`\n${machineLine(out)}\n\n${casesTable(out)}\n\n${targetsTable(out)}\n`);
    console.log(`wrote ${path.relative(repo, RESULTS)}, ${path.relative(repo, CHART)}${existsSync(DOC) ? `, ${path.relative(repo, DOC)}` : ''} (${m.wallSeconds} s)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
