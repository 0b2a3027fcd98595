/**
 * Benchmark cases on crash dumps, run in pairs: each pair in a child process of its own, its two
 * cases interleaved run by run so that their ratio is taken over the same stretch of time:
 *
 *   scan/dump@1g         scanImage over a bitmap dump whose kernel mappings cover 1 GiB (2 MiB
 *                        pages, noise, three fixture trees buried in it)
 *   scan/read-pages@1g   the same pages of the same dump read through the same PagedImage, page by
 *                        page, doing nothing with them: the floor scan/dump@1g is compared with
 *   decode/dump@256m     open + decodeTree + close of large-x64 (1,000 TCP blocks) in a sparse
 *                        bitmap dump of a 256 MiB machine
 *   decode/dump@4g       the same tree in a sparse dump of a 4 GiB machine
 *   dtb/raw@4g           open + findDtb (with the root) + close of a sparse raw image of a 4 GiB
 *                        machine whose kernel PML4 is in the low self-map window, no low stub
 *   open/<format>@4g     open + a first translated read of the root + close of a sparse capture
 *                        of a 4 GiB machine, for each format of bench/open-captures.ts (dump,
 *                        rdmp, dump32, lime, elf, vmware): the six interleaved in one process,
 *                        compared with open/dump@4g
 *
 * The dumps are written sparse (every RAM page "stored", only pages with content written) to a
 * temporary folder, removed afterwards. `dumpCases()` is for bench/run.ts; run alone:
 *
 *   npx tsx bench/dump-cases.ts            prints the results as JSON
 *   node --import tsx bench/dump-cases.ts child '[<spec json>, ...]'   (what the parent runs: a pair of cases)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findDtb } from '../src/capture/dtb.js';
import { openCapture } from '../src/codec/dump.js';
import { buildAddressSpace, writeBitmapDump, writeRawPhysical, type WriterRegion } from '../src/codec/dump-writer.js';
import { openPhysicalImage } from '../src/codec/physical.js';
import { Location, SegmentImage } from '../src/codec/image.js';
import { decodeTree } from '../src/tree/decode.js';
import { scanImage } from '../src/tree/scan.js';
import { buildFixture, decodeOptionsOf, readDescription } from '../scripts/fixtures.js';
import { OPEN_FORMATS, type OpenFile, openAndRead, writeOpenCaptures } from './open-captures.js';

export interface DumpCaseResult {
  name: string;
  /** TCP blocks: of the decoded tree, or of the trees buried in the scanned memory (0: no tree, the open cases). */
  blocks: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Peak resident set of the child process that ran the case. */
  rssBytes?: number;
  samples: number;
  warmup: number;
  /** Size of the dump file (sparse on disk). */
  imageBytes?: number;
}

type Kind = 'scan' | 'read-pages' | 'decode' | 'dtb' | 'open';

interface ChildSpec {
  name: string;
  kind: Kind;
  file: string;
  root: string;
  fixture: string;
  warmup: number;
  runs: number;
  /** Roots the scan must find (checked once before timing). */
  expectRoots?: string[];
  /** The DTB the search must find (checked once before timing). */
  expectDtb?: string;
  /** The capture an 'open' case opens. */
  open?: OpenFile;
}

interface ChildResult {
  /** Per case of the pair, in order. */
  times: number[][];
  rssBytes: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const MIB = 2 ** 20;
const K = 0xffffc70b00000000n; // 1 GiB aligned: one page directory maps it all
const PAGE_2M = 0x200000n;

/** mulberry32: deterministic noise. */
function noise(n: number, seed: number): Uint8Array {
  let a = seed >>> 0;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (t ^ (t >>> 14)) >>> 24;
  }
  return out;
}

/** TCP blocks of a fixture (decoded from its own region). */
function tcpBlocksOf(name: string): number {
  const d = readDescription(name);
  const { bytes, base } = buildFixture(d);
  const doc = decodeTree(SegmentImage.region(bytes, base), base, decodeOptionsOf(d));
  let n = 0;
  const walk = (bs: typeof doc.blocks): void => {
    for (const b of bs) {
      if (b.layer === 'tcp') n++;
      walk(b.dependents);
    }
  };
  walk(doc.blocks);
  return n;
}

/** 512 x 2 MiB kernel pages (1 GiB), 4 KiB of noise at the start of each, three trees buried. */
function build1g(file: string): { roots: bigint[]; fixtures: string[] } {
  const regions: WriterRegion[] = [];
  for (let i = 0; i < 512; i++) regions.push({ address: K + BigInt(i) * PAGE_2M, bytes: noise(4096, i + 1), pageSize: 0x200000 });
  const trees: [string, bigint][] = [
    ['large-x64', K + 100n * PAGE_2M + 0x10f80n],
    ['sample-x64', K + 300n * PAGE_2M + 0x1ff80n],
    ['query-x64', K + 511n * PAGE_2M + 0x1fdf80n],
  ];
  for (const [name, root] of trees) {
    const { bytes } = buildFixture({ ...readDescription(name), base: `0x${root.toString(16)}` });
    regions.push({ address: root, bytes, pageSize: 0x200000 });
  }
  // 2 MiB pages from PFN 0x200 on, then the tables: RAM just above.
  const space = buildAddressSpace(regions, { physicalPages: 0x200 + 512 * 512 + 0x1000 });
  writeBitmapDump(space, { storeAll: true, signature: 'FDMP' }).toFile(file);
  return { roots: trees.map(([, r]) => r), fixtures: trees.map(([n]) => n) };
}

/** large-x64 at its base + 0xf80 (straddling pages), frames scattered, in a machine of `pages` RAM pages. */
function buildDecodeDump(file: string, pages: number): bigint {
  const d = readDescription('large-x64');
  const root = BigInt(d.base!) + 0xf80n;
  const { bytes } = buildFixture({ ...d, base: `0x${root.toString(16)}` });
  const space = buildAddressSpace([{ address: root, bytes }], { scatter: 11, physicalPages: pages });
  writeBitmapDump(space, { storeAll: true }).toFile(file);
  return root;
}

/** PFN of the kernel PML4 in the raw image: inside Volatility's first low window (0x150000..0x2A0000). */
const DTB_PFN = 0x1e0;

/** large-x64 and KUSER_SHARED_DATA behind a self-mapping PML4 at DTB_PFN, as a sparse raw image of `pages` RAM pages. */
function buildDtbRaw(file: string, pages: number): { root: bigint; dtb: bigint } {
  const d = readDescription('large-x64');
  const root = BigInt(d.base!) + 0xf80n;
  const { bytes } = buildFixture({ ...d, base: `0x${root.toString(16)}` });
  const kuser = { address: 0xfffff78000000000n, bytes: new Uint8Array(8) };
  const space = buildAddressSpace([{ address: root, bytes }, kuser], { scatter: 11, physicalPages: pages, selfMap: 0x1a3, rootPfn: DTB_PFN });
  writeRawPhysical(space).toFile(file);
  return { root, dtb: space.dtb };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Runs a pair of cases in a process of their own, interleaved run by run (A B A B ...), so that
 * the ratio between them is measured over the same stretch of time on a shared machine; the peak
 * RSS is the process's, an upper bound of each case's. `script` is this module: as TypeScript it needs the tsx
 * loader, whose ~40 MB of resident memory would count in the peak RSS; bench/run.ts passes a
 * plain JavaScript bundle of it instead.
 */
function runChild(pair: ChildSpec[], script: string): ChildResult {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const r = spawnSync(process.execPath, [...loader, '--expose-gc', script, 'child', JSON.stringify(pair)], {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 16 * MIB,
  });
  if (r.status !== 0) throw new Error(`${pair.map((s) => s.name).join(', ')}: child exited ${r.status}: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as ChildResult;
}

export async function dumpCases(
  /** only: run the cases whose name contains one of these strings (and build only their files). */
  options: { dir?: string; keep?: boolean; log?: (s: string) => void; childScript?: string; only?: readonly string[] } = {},
): Promise<DumpCaseResult[]> {
  const script = options.childScript ?? fileURLToPath(import.meta.url);
  const log = options.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'ndis-bench-dumps-'));
  const results: DumpCaseResult[] = [];
  try {
    const f1g = path.join(dir, 'kernel-1g.dmp');
    const f256 = path.join(dir, 'machine-256m.dmp');
    const f4g = path.join(dir, 'machine-4g.dmp');
    const fraw = path.join(dir, 'machine-4g.raw');
    const wanted = (name: string): boolean => !options.only || options.only.some((o) => name.includes(o));
    let t = performance.now();
    const hex = (v: bigint): string => `0x${v.toString(16)}`;
    const largeTcp = tcpBlocksOf('large-x64');
    const pairs: (ChildSpec & { blocks: number })[][] = [];
    if (wanted('scan/dump@1g') || wanted('scan/read-pages@1g')) {
      const { roots, fixtures } = build1g(f1g);
      const buriedTcp = fixtures.map(tcpBlocksOf).reduce((a, b) => a + b, 0);
      pairs.push([
        { name: 'scan/dump@1g', kind: 'scan', file: f1g, root: '0x0', fixture: '', warmup: 1, runs: 5, expectRoots: roots.map(hex), blocks: buriedTcp },
        { name: 'scan/read-pages@1g', kind: 'read-pages', file: f1g, root: '0x0', fixture: '', warmup: 1, runs: 5, blocks: buriedTcp },
      ]);
    }
    if (wanted('decode/dump@256m') || wanted('decode/dump@4g')) {
      const root256 = buildDecodeDump(f256, 65536);
      const root4g = buildDecodeDump(f4g, 1 << 20);
      pairs.push([
        { name: 'decode/dump@256m', kind: 'decode', file: f256, root: hex(root256), fixture: 'large-x64', warmup: 50, runs: 300, blocks: largeTcp },
        { name: 'decode/dump@4g', kind: 'decode', file: f4g, root: hex(root4g), fixture: 'large-x64', warmup: 50, runs: 300, blocks: largeTcp },
      ]);
    }
    if (wanted('dtb/raw@4g')) {
      const { root, dtb } = buildDtbRaw(fraw, 1 << 20);
      pairs.push([{ name: 'dtb/raw@4g', kind: 'dtb', file: fraw, root: hex(root), fixture: '', warmup: 20, runs: 100, expectDtb: hex(dtb), blocks: largeTcp }]);
    }
    const openWanted = OPEN_FORMATS.filter((f) => wanted(`open/${f}@4g`));
    if (openWanted.length) {
      // open/dump@4g is what the others are compared with: it runs whenever one of them does.
      const formats = OPEN_FORMATS.filter((f) => f === 'dump' || openWanted.includes(f));
      pairs.push(
        writeOpenCaptures(dir, formats).map((f) => ({
          name: `open/${f.format}@4g`,
          kind: 'open' as const,
          file: f.file,
          root: f.root,
          fixture: '',
          warmup: 100,
          runs: 500,
          open: f,
          blocks: 0, // no tree: a first read of 64 bytes
        })),
      );
    }
    log(`dump-cases: dumps written in ${((performance.now() - t) / 1000).toFixed(1)} s to ${dir}`);
    for (const pair of pairs) {
      t = performance.now();
      const r = runChild(pair.map(({ blocks: _, ...spec }) => spec), script);
      pair.forEach((spec, i) => {
        const times = r.times[i]!;
        results.push({
          name: spec.name,
          blocks: spec.blocks,
          medianMs: median(times),
          minMs: Math.min(...times),
          maxMs: Math.max(...times),
          rssBytes: r.rssBytes,
          samples: times.length,
          warmup: spec.warmup,
          imageBytes: statSync(spec.file).size,
        });
        log(`dump-cases: ${spec.name} median ${median(times).toFixed(1)} ms, peak RSS ${(r.rssBytes / MIB).toFixed(0)} MiB`);
      });
      log(`dump-cases: ${pair.map((s) => s.name).join(' + ')} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  } finally {
    if (!options.keep && !options.dir) rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/** In the child: the measured function, checked once. */
function prepare(spec: ChildSpec): () => unknown {
  const file = spec.file;
  switch (spec.kind) {
    case 'scan': {
      const run = (): number => {
        const c = openCapture(file);
        try {
          return scanImage(c.image).length;
        } finally {
          c.close();
        }
      };
      const c = openCapture(file);
      try {
        const found = scanImage(c.image).map((x) => `0x${x.address.toString(16)}`);
        for (const r of spec.expectRoots ?? []) {
          if (!found.slice(0, spec.expectRoots!.length).includes(r)) throw new Error(`${spec.name}: root ${r} not among the best candidates`);
        }
      } finally {
        c.close();
      }
      return run;
    }
    case 'read-pages': {
      return (): number => {
        const c = openCapture(file);
        const loc = new Location();
        let sum = 0;
        try {
          for (const r of c.image.ranges()) {
            if (r.address < 0xffff800000000000n) continue;
            for (let at = 0; at < r.length; at += 4096) {
              if (c.image.locate(r.address + BigInt(at), Math.min(4096, r.length - at), loc)) sum += loc.view.getUint8(loc.offset);
            }
          }
        } finally {
          c.close();
        }
        return sum;
      };
    }
    case 'dtb': {
      const root = BigInt(spec.root);
      const run = (): bigint => {
        const memory = openPhysicalImage(file);
        try {
          return findDtb(memory, { root }).dtb;
        } finally {
          memory.close();
        }
      };
      const got = `0x${run().toString(16)}`;
      if (got !== spec.expectDtb) throw new Error(`${spec.name}: found DTB ${got}, not ${spec.expectDtb}`);
      return run;
    }
    case 'open': {
      const f = spec.open!;
      const run = (): number => openAndRead(f);
      run(); // checked: readRoot throws unless the root's bytes are the pattern
      return run;
    }
    case 'decode': {
      const options = decodeOptionsOf(readDescription(spec.fixture));
      const root = BigInt(spec.root);
      const run = (): number => {
        const c = openCapture(file);
        try {
          const doc = decodeTree(c.image, root, options);
          if (doc.diagnostics.some((d) => d.severity !== 'info') || doc.blocks.length === 0) {
            throw new Error(`${spec.name}: the tree does not decode cleanly: ${doc.diagnostics[0]?.message}`);
          }
          return doc.blocks.length;
        } finally {
          c.close();
        }
      };
      run();
      return run;
    }
  }
}

function child(pair: ChildSpec[]): void {
  const fns = pair.map(prepare);
  pair.forEach((spec, k) => {
    for (let i = 0; i < spec.warmup; i++) fns[k]!();
  });
  const times: number[][] = pair.map(() => []);
  // A collection before each run, so that the garbage of the last run is not timed in this one
  // (a decode is a one-shot job: its latency is what is measured).
  const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});
  const runs = Math.max(...pair.map((s) => s.runs));
  for (let i = 0; i < runs; i++) {
    pair.forEach((spec, k) => {
      if (i >= spec.runs) return;
      gc();
      const t = performance.now();
      fns[k]!();
      times[k]!.push(performance.now() - t);
    });
  }
  const result: ChildResult = { times, rssBytes: process.resourceUsage().maxRSS * 1024 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// Real paths on both sides: Node runs a module by its real path, and the bundle lives under
// node_modules, which a git worktree may link to another checkout's.
if (process.argv[1] && realpathSync(path.resolve(process.argv[1])) === realpathSync(fileURLToPath(import.meta.url))) {
  if (process.argv[2] === 'child') child(JSON.parse(process.argv[3]!) as ChildSpec[]);
  else dumpCases({ keep: process.argv.includes('--keep') }).then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`));
}
