/**
 * Runs one group of benchmark cases in a process of their own (a peak RSS that is theirs), in
 * interleaved rounds, and prints their results as one JSON line. Started by bench/run.ts:
 *
 *   node --expose-gc <bundle of this file> <group> <images.json> [native binary]
 *   node --expose-gc --import tsx bench/child.ts <group> <images.json> [native binary]
 *
 * A case whose peak RSS is measured alone (rssAlone) is run once more by this file in a process of
 * its own, started with BENCH_PEAK_RSS_OF=<case> and no flags, that prints that process's peak RSS.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import {
  BlockChains,
  NDIS_STATUS_VALUES,
  SegmentImage,
  StatusWriter,
  TreeWalker,
  X64,
  chunkedSink,
  decodeBlocks,
  decodeTree,
  encodeTree,
  viewsFor,
  writeDocument,
  writeNdjson,
} from '../src/index.js';
import { runHexdump } from '../src/cli/commands/hexdump.js';
import { bufferLayoutWalk, restructureEncode, restructureStatusWrite, restructureWalk } from './baselines.js';
import { CASES, type CaseResult, type CaseSpec, GROUPS, type Images, isNative } from './cases.js';
import { handStatusWrite, handWalk, handWalkBigInt } from './hand.js';
import { SIZES, syntheticDocument } from './synthetic.js';

const [groupName, imagesFile, nativeBinary] = process.argv.slice(2);
const group = GROUPS.find((g) => g.name === groupName);
if (!group || !imagesFile) throw new Error(`usage: child.ts <group> <images.json> [native binary] (unknown group '${groupName}')`);
// BENCH_CASES=name,name: only those cases of the group (for profiling one case alone).
// BENCH_PEAK_RSS_OF=name: run that case once and print the peak RSS of this process (rssAlone).
const peakRssOf = process.env.BENCH_PEAK_RSS_OF;
const only = peakRssOf !== undefined ? [peakRssOf] : process.env.BENCH_CASES?.split(',');
const cases = CASES.filter((c) => c.group === group.name && (!only || only.includes(c.name)));
const info = (JSON.parse(readFileSync(imagesFile, 'utf8')) as Images)[group.size];
const base = BigInt(info.base);
const root = BigInt(info.root);
const rootOffset = Number(root - base);
const baseLo = Number(base & 0xffffffffn);
const baseHi = Number(base >> 32n);
const STATUS = NDIS_STATUS_VALUES.NDIS_STATUS_SUCCESS;
// (not in a process that measures hexdump alone: the command reads its own copy, as the CLI does)
const loaded = peakRssOf !== undefined && cases.every((c) => c.kind === 'hexdump-stream') ? Buffer.alloc(0) : readFileSync(info.file);
const bytes = new Uint8Array(loaded.buffer, loaded.byteOffset, loaded.byteLength);
const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const image = SegmentImage.region(bytes, base);

/** The function to time, after one checked run. */
function prepare(spec: CaseSpec): () => unknown {
  const check = (what: string, got: unknown, want: unknown): void => {
    if (got !== want) throw new Error(`${spec.name}: ${what} is ${String(got)}, expected ${String(want)}`);
  };
  switch (spec.kind) {
    case 'walk-zero-copy': {
      // The hot-path API for a tree in one region: nested loops over the chains, the walk in locals.
      const V = viewsFor(X64);
      const tcp = new V.TCP_OFFLOAD_STATE_CONST();
      const STATE = V.TCP_OFFLOAD_STATE.size;
      const c = new BlockChains(image, { abi: X64 });
      const run = (): number => {
        let sum = 0;
        for (let n = c.root(root); n >= 0; n = c.next(n)) {
          for (let p = c.dependents(n); p >= 0; p = c.next(p)) {
            for (let t = c.dependents(p); t >= 0; t = c.next(t)) {
              const at = c.stateAt(t, STATE);
              if (at < 0) continue;
              tcp.at(c.view, at);
              sum += tcp.LocalPort + tcp.RemotePort;
            }
          }
        }
        return sum;
      };
      check('the port sum', run(), info.portSum);
      return run;
    }
    case 'walk-tree-walker': {
      const V = viewsFor(X64);
      const tcp = new V.TCP_OFFLOAD_STATE_CONST();
      const STATE = V.TCP_OFFLOAD_STATE.size;
      const w = new TreeWalker({ abi: X64 });
      const run = (): number => {
        let sum = 0;
        w.reset(image, root);
        while (w.next()) {
          if (w.layer !== 2) continue;
          const at = w.stateAt(STATE);
          if (at < 0) continue;
          tcp.at(w.stateView, at);
          sum += tcp.LocalPort + tcp.RemotePort;
        }
        return sum;
      };
      check('the port sum', run(), info.portSum);
      return run;
    }
    case 'walk-hand': {
      check('the port sum', handWalk(dv, baseLo, baseHi, rootOffset), info.portSum);
      return () => handWalk(dv, baseLo, baseHi, rootOffset);
    }
    case 'walk-bigint': {
      check('the port sum', handWalkBigInt(dv, base, rootOffset), info.portSum);
      return () => handWalkBigInt(dv, base, rootOffset);
    }
    case 'walk-restructure': {
      check('the port sum', restructureWalk(bytes, base, rootOffset), info.portSum);
      return () => restructureWalk(bytes, base, rootOffset);
    }
    case 'walk-buffer-layout': {
      check('the port sum', bufferLayoutWalk(bytes, base, rootOffset), info.portSum);
      return () => bufferLayoutWalk(bytes, base, rootOffset);
    }
    case 'status-zero-copy': {
      const writer = new StatusWriter();
      const run = (): number => writer.complete(image, root, { operation: 'initiate', status: STATUS }).blocks;
      check('the blocks completed', run(), info.blocks);
      return run;
    }
    case 'status-hand': {
      check('the blocks completed', handStatusWrite(dv, baseLo, baseHi, rootOffset, STATUS), info.blocks);
      return () => handStatusWrite(dv, baseLo, baseHi, rootOffset, STATUS);
    }
    case 'status-restructure': {
      check('the blocks completed', restructureStatusWrite(bytes, base, rootOffset, STATUS), info.blocks);
      return () => restructureStatusWrite(bytes, base, rootOffset, STATUS);
    }
    case 'encode-zero-copy':
    case 'encode-restructure': {
      const { doc } = syntheticDocument(SIZES[spec.size]);
      const encode = spec.kind === 'encode-zero-copy' ? () => encodeTree(doc).bytes : () => restructureEncode(doc, base);
      check('the image', Buffer.from(encode()).equals(loaded), true);
      return encode;
    }
    case 'alloc-floor': {
      const size = info.bytes;
      return () => {
        const b = new Uint8Array(size);
        for (let i = 0; i < size; i += 4096) b[i] = 1;
        return b.length;
      };
    }
    case 'decode-json': {
      return () => decodeTree(image, root, { operation: 'initiate' });
    }
    case 'stringify': {
      const doc = decodeTree(image, root, { operation: 'initiate' });
      check('diagnostics', doc.diagnostics.length, 0);
      return () => JSON.stringify(doc).length;
    }
    case 'decode-whole': {
      // decode --json before: the whole document, then its indented text.
      return () => `${JSON.stringify(decodeTree(image, root, { operation: 'initiate', maxBlocks: info.blocks }), null, 2)}\n`.length;
    }
    case 'decode-stream':
    case 'decode-ndjson': {
      const write = spec.kind === 'decode-stream' ? writeDocument : writeNdjson;
      // What the CLI does, to a sink that counts the characters (a pipe to /dev/null, less the system calls).
      const run = (): number => {
        let chars = 0;
        const out = chunkedSink((text) => (chars += text.length));
        const stream = decodeBlocks(image, root, { operation: 'initiate', maxBlocks: info.blocks });
        write(stream, out.write);
        out.flush();
        check('the blocks', stream.blockCount, info.blocks);
        check('diagnostics', stream.diagnostics.length, 0);
        return chars;
      };
      run();
      return run;
    }
    case 'hexdump-stream': {
      // What `ndis-offload hexdump` does (the command itself: the file read, the tree read once, its
      // ranges written in address order, in chunks) to an output that counts the characters.
      const argv = [info.file, '--base', info.base, '--root', info.root, '--operation', 'initiate', '--max-blocks', String(info.blocks)];
      const run = (): number => {
        let chars = 0;
        let err = '';
        const code = runHexdump(argv, { out: (text) => (chars += text.length), err: (text) => (err += text), stdoutIsTty: false, env: {} });
        check(`the exit code (${err.trim()})`, code, 0);
        return chars;
      };
      run();
      return run;
    }
    default:
      throw new Error(`${spec.kind} does not run in node`);
  }
}

let sink: unknown;

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

/**
 * Growth of the heap and array buffers over one more run, and the collections during it: the
 * least of five runs (a run that happens to finish an optimizing compile allocates code once).
 */
async function heapDelta(fn: () => unknown): Promise<{ delta: number; gcs: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  let best = { delta: Number.POSITIVE_INFINITY, gcs: 0 };
  for (let k = 0; k < 5; k++) {
    let gcs = 0;
    const obs = new PerformanceObserver((list) => {
      gcs += list.getEntries().length;
    });
    obs.observe({ entryTypes: ['gc'] });
    gc();
    await tick();
    gcs = 0;
    const before = process.memoryUsage();
    sink = fn();
    const after = process.memoryUsage();
    await tick();
    obs.disconnect();
    const delta = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
    if (delta < best.delta) best = { delta, gcs };
  }
  return best;
}

/**
 * Peak resident set of this process: VmHWM, the high-water mark of its own address space. (The
 * rusage maximum would do elsewhere, but on Linux it survives exec: a child started by a parent
 * that was once large reports the parent's peak.)
 */
function peakRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

let completedStatusSum: number | undefined;

/** The sum of the Status words over all blocks once the hand loop has completed the tree. */
function statusSumAfterCompletion(): number {
  if (completedStatusSum === undefined) {
    handStatusWrite(dv, baseLo, baseHi, rootOffset, STATUS);
    const blk = new (viewsFor(X64).NDIS_MINIPORT_OFFLOAD_BLOCK_LIST)();
    const c = new BlockChains(image, { abi: X64 });
    let sum = 0;
    for (let n = c.root(root); n >= 0; n = c.next(n)) {
      sum += blk.at(c.view, n).Status >>> 0;
      for (let p = c.dependents(n); p >= 0; p = c.next(p)) {
        sum += blk.at(c.view, p).Status >>> 0;
        for (let t = c.dependents(p); t >= 0; t = c.next(t)) sum += blk.at(c.view, t).Status >>> 0;
      }
    }
    completedStatusSum = sum;
  }
  return completedStatusSum;
}

/** A C loop, run by this process between the JavaScript cases of a round: its own timings. */
function runNative(spec: CaseSpec, warmup: number, iterations: number): number[] {
  if (!nativeBinary) return [];
  const status = spec.kind === 'status-native';
  const args = [status ? 'status' : 'read', info.file, info.base, info.root, String(warmup), String(iterations)];
  if (status) args.push((STATUS >>> 0).toString(16));
  const out = execFileSync(nativeBinary, args, { encoding: 'utf8' });
  const { sum, ms } = JSON.parse(out) as { sum: number; ms: number[] };
  const want = status ? statusSumAfterCompletion() : info.portSum;
  if (sum !== want) throw new Error(`${spec.name}: the ${status ? 'Status' : 'port'} sum is ${sum}, expected ${want}`);
  return ms;
}

function timeRound(spec: CaseSpec, fn: () => unknown, warmup: number, iterations: number): number[] {
  const bench = new Bench({ iterations, warmupIterations: warmup, warmup: warmup > 0, time: 0, warmupTime: 0, throws: true, retainSamples: true });
  bench.add(spec.name, () => {
    sink = fn();
  });
  bench.runSync();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`${spec.name}: ${r.state}`);
  return [...(r.latency.samples ?? [])];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * The peak RSS of a process that runs `spec` once: this file again, with BENCH_PEAK_RSS_OF and no
 * flags (no --expose-gc, no heap limit), as the CLI runs.
 */
function peakRssAlone(spec: CaseSpec): number {
  const r = spawnSync(process.execPath, [process.argv[1]!, groupName!, imagesFile!], {
    env: { ...process.env, BENCH_PEAK_RSS_OF: spec.name, BENCH_CASES: '' },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`${spec.name}, run alone, failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { rssBytes: number }).rssBytes;
}

async function main(): Promise<void> {
  if (peakRssOf !== undefined) {
    // One run (prepare runs each case once, checked), then this process's peak.
    if (cases.length !== 1) throw new Error(`BENCH_PEAK_RSS_OF: no case '${peakRssOf}' in ${group!.name}`);
    sink = prepare(cases[0]!);
    process.stdout.write(`${JSON.stringify({ rssBytes: peakRss() })}\n`);
    return;
  }
  const fns = new Map<CaseSpec, () => unknown>();
  for (const spec of cases) if (!isNative(spec.kind)) fns.set(spec, prepare(spec));
  const samples = new Map<CaseSpec, number[]>(cases.map((c) => [c, []]));
  const rounds = group!.rounds;
  // The C loops run in another process: started five times, not every round.
  const nativeEvery = Math.max(1, Math.ceil(rounds / 5));
  for (let round = 0; round < rounds; round++) {
    for (const spec of cases) {
      const fn = fns.get(spec);
      if (fn) {
        const per = Math.max(1, Math.round(spec.iterations / rounds));
        samples.get(spec)!.push(...timeRound(spec, fn, round === 0 ? spec.warmup : 0, per));
      } else if (round % nativeEvery === 0) {
        samples.get(spec)!.push(...runNative(spec, spec.warmup, Math.max(1, Math.round(spec.iterations / Math.ceil(rounds / nativeEvery)))));
      }
    }
  }
  const results: CaseResult[] = [];
  for (const spec of cases) {
    const xs = samples.get(spec)!;
    if (!xs.length) continue;
    const r: CaseResult = {
      name: spec.name,
      blocks: info.tcpBlocks,
      medianMs: median(xs),
      minMs: Math.min(...xs),
      maxMs: Math.max(...xs),
      samples: xs.length,
      warmup: spec.warmup,
      imageBytes: info.bytes,
    };
    const fn = fns.get(spec);
    if (spec.heap && fn) {
      const { delta, gcs } = await heapDelta(fn);
      r.heapDeltaBytes = delta;
      r.gcDuringHeapRun = gcs;
    }
    results.push(r);
  }
  const rss = peakRss();
  for (const r of results) if (!r.name.includes('native')) r.rssBytes = rss;
  for (const r of results) {
    const spec = cases.find((c) => c.name === r.name)!;
    if (!spec.rssAlone) continue;
    r.groupRssBytes = rss;
    r.rssBytes = peakRssAlone(spec);
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
  if (sink === Symbol.for('never')) console.log(sink);
}

await main();
