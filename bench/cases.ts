/**
 * The benchmark cases: stable names, the tree size each runs on, and how they are grouped. The
 * cases of a group run in one process, in interleaved rounds (A B C, A B C, ...), so that the
 * ratios a target compares are measured over the same stretch of time on a shared machine.
 */
import type { SizeName } from './synthetic.js';

export type Kind =
  | 'walk-zero-copy'
  | 'walk-tree-walker'
  | 'walk-hand'
  | 'walk-bigint'
  | 'walk-native'
  | 'walk-restructure'
  | 'walk-buffer-layout'
  | 'status-zero-copy'
  | 'status-hand'
  | 'status-restructure'
  | 'status-native'
  | 'encode-zero-copy'
  | 'encode-restructure'
  | 'alloc-floor'
  | 'decode-json'
  | 'stringify'
  | 'decode-stream'
  | 'decode-ndjson'
  | 'decode-whole'
  | 'hexdump-stream';

/** The cases run by the C program (bench/native/walk.c), which times itself. */
export const isNative = (kind: Kind): boolean => kind === 'walk-native' || kind === 'status-native';

export interface CaseSpec {
  name: string;
  kind: Kind;
  size: SizeName;
  /** Cases of one group share a process and are interleaved round by round. */
  group: string;
  /** Warm-up runs before the first round. */
  warmup: number;
  /** Timed runs in all, spread over the group's rounds. */
  iterations: number;
  /** Measure heap growth over one more run after the timed ones. */
  heap?: boolean;
  /** The same measurement is also reported under these names. */
  aliases?: string[];
  /**
   * Its peak RSS is measured in a process of its own that runs the case once, as the CLI would
   * (Node, the image, one run), not in the group's process, whose earlier runs leave tables that
   * the collector frees when it next runs (see child.ts, BENCH_PEAK_RSS_OF).
   */
  rssAlone?: boolean;
}

export interface GroupSpec {
  name: string;
  size: SizeName;
  rounds: number;
  /** V8 old-space limit for the process, MB (the JSON documents of 100,000 connections are large). */
  heapMb?: number;
}

export const GROUPS: readonly GroupSpec[] = [
  // The fast groups alternate their cases run by run: A B C A B C … (one or two timed runs a round).
  { name: 'walk@100k', size: '100k', rounds: 60 },
  { name: 'status@100k', size: '100k', rounds: 60 },
  { name: 'walk@10k', size: '10k', rounds: 150 },
  { name: 'walk@1m', size: '1m', rounds: 20 },
  { name: 'walk-restructure', size: '100k', rounds: 1 },
  { name: 'walk-buffer-layout', size: '100k', rounds: 1 },
  { name: 'status-restructure', size: '100k', rounds: 1 },
  { name: 'encode', size: '100k', rounds: 3, heapMb: 4096 },
  { name: 'decode-json', size: '100k', rounds: 3, heapMb: 6144 },
  // decode --json now and before, in a process whose heap holds no document between runs.
  { name: 'decode-stream@100k', size: '100k', rounds: 3, heapMb: 6144 },
  // The streamed JSON forms of the million-block tree (no heap limit raised); their peak RSS is each measured alone (rssAlone).
  { name: 'decode-stream@1m', size: '1m', rounds: 2 },
  // hexdump as the CLI runs it: the tree read once, its ranges written in address order.
  { name: 'hexdump-stream@100k', size: '100k', rounds: 1 },
];

const c = (name: string, kind: Kind, group: string, size: SizeName, warmup: number, iterations: number, extra: Partial<CaseSpec> = {}): CaseSpec => ({
  name,
  kind,
  group,
  size,
  warmup,
  iterations,
  ...extra,
});

export const CASES: readonly CaseSpec[] = [
  c('walk-read/zero-copy', 'walk-zero-copy', 'walk@100k', '100k', 50, 60, { heap: true, aliases: ['walk-read/zero-copy@100k'] }),
  c('walk-read/hand-dataview', 'walk-hand', 'walk@100k', '100k', 50, 60, { heap: true, aliases: ['walk-read/hand-dataview@100k'] }),
  // For context: the same walk with the general cursor (any image, one next() per block).
  c('walk-read/tree-walker', 'walk-tree-walker', 'walk@100k', '100k', 50, 60, { heap: true, aliases: ['walk-read/tree-walker@100k'] }),
  c('walk-read/hand-bigint', 'walk-bigint', 'walk@100k', '100k', 50, 60),
  c('walk-read/native-c', 'walk-native', 'walk@100k', '100k', 20, 60, { aliases: ['walk-read/native-c@100k'] }),
  // The slow baselines: the checked first run is their warm-up (each run is 100,000 blocks long).
  c('walk-read/restructure', 'walk-restructure', 'walk-restructure', '100k', 0, 3),
  c('walk-read/buffer-layout', 'walk-buffer-layout', 'walk-buffer-layout', '100k', 0, 3),
  c('status-write/zero-copy', 'status-zero-copy', 'status@100k', '100k', 50, 60, { heap: true, aliases: ['status-write/zero-copy@100k'] }),
  c('status-write/hand-dataview', 'status-hand', 'status@100k', '100k', 50, 60, { heap: true }),
  // For context: the hand loop in C, what the machine allows a writer of this tree at all.
  c('status-write/native-c', 'status-native', 'status@100k', '100k', 20, 60),
  c('status-write/restructure', 'status-restructure', 'status-restructure', '100k', 0, 3),
  c('encode/zero-copy', 'encode-zero-copy', 'encode', '100k', 2, 6),
  c('encode/restructure', 'encode-restructure', 'encode', '100k', 0, 3),
  // For context: allocating an image of that size and touching each of its pages (the floor of any encoder).
  c('encode/alloc-floor', 'alloc-floor', 'encode', '100k', 2, 6),
  c('decode-json/zero-copy', 'decode-json', 'decode-json', '100k', 1, 4),
  c('decode-json/stringify', 'stringify', 'decode-json', '100k', 1, 4),
  // decode --json as it runs now (decodeBlocks and writeDocument to a sink that counts: no document is built), and as it ran before.
  c('decode-json/stream', 'decode-stream', 'decode-stream@100k', '100k', 1, 4),
  c('decode-json/whole', 'decode-whole', 'decode-stream@100k', '100k', 1, 4),
  c('decode-json/stream@1m', 'decode-stream', 'decode-stream@1m', '1m', 0, 2, { rssAlone: true }),
  c('decode-json/ndjson@1m', 'decode-ndjson', 'decode-stream@1m', '1m', 0, 2, { rssAlone: true }),
  c('hexdump/stream@100k', 'hexdump-stream', 'hexdump-stream@100k', '100k', 0, 2, { rssAlone: true }),
  c('walk-read/zero-copy@10k', 'walk-zero-copy', 'walk@10k', '10k', 500, 300, { heap: true }),
  c('walk-read/hand-dataview@10k', 'walk-hand', 'walk@10k', '10k', 500, 300),
  c('walk-read/tree-walker@10k', 'walk-tree-walker', 'walk@10k', '10k', 500, 300),
  c('walk-read/native-c@10k', 'walk-native', 'walk@10k', '10k', 100, 300),
  c('status-write/zero-copy@10k', 'status-zero-copy', 'walk@10k', '10k', 500, 300, { heap: true }),
  c('walk-read/zero-copy@1m', 'walk-zero-copy', 'walk@1m', '1m', 10, 20, { heap: true }),
  c('walk-read/hand-dataview@1m', 'walk-hand', 'walk@1m', '1m', 10, 20),
  c('walk-read/tree-walker@1m', 'walk-tree-walker', 'walk@1m', '1m', 10, 20),
  c('walk-read/native-c@1m', 'walk-native', 'walk@1m', '1m', 5, 20),
  c('status-write/zero-copy@1m', 'status-zero-copy', 'walk@1m', '1m', 10, 20, { heap: true }),
];

/** The crash-dump cases (bench/dump-cases.ts), run as one more group named `dumps`. */
export const DUMP_GROUP = 'dumps';
export const DUMP_CASE_NAMES: readonly string[] = [
  'scan/dump@1g',
  'scan/read-pages@1g',
  'decode/dump@256m',
  'decode/dump@4g',
  'dtb/raw@4g',
  // bench/open-captures.ts: OPEN_FORMATS, in that order.
  ...['dump', 'rdmp', 'dump32', 'lime', 'elf', 'vmware'].map((f) => `open/${f}@4g`),
];

/** Every name a results.json may hold, in table order. */
export const CASE_NAMES: readonly string[] = [
  ...CASES.filter((x) => !x.name.includes('@')).flatMap((x) => [x.name]),
  ...(['10k', '100k', '1m'] as const).flatMap((s) =>
    ['walk-read/zero-copy', 'walk-read/hand-dataview', 'walk-read/tree-walker', 'walk-read/native-c', 'status-write/zero-copy'].map((n) => `${n}@${s}`),
  ),
  'decode-json/stream@1m',
  'decode-json/ndjson@1m',
  'hexdump/stream@100k',
  ...DUMP_CASE_NAMES,
];

/** A synthetic tree encoded to a file for the cases to load. */
export interface ImageInfo {
  file: string;
  base: string;
  root: string;
  /** Sum of LocalPort + RemotePort over the TCP blocks: what every walk must compute. */
  portSum: number;
  tcpBlocks: number;
  /** All blocks: neighbors, paths and TCP. */
  blocks: number;
  bytes: number;
}
export type Images = Record<SizeName, ImageInfo>;

/** One measured case in results.json. */
export interface CaseResult {
  name: string;
  /** TCP blocks in the tree (the unit of "per block"). */
  blocks: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /**
   * Peak resident set of the process that ran the case's group (image loaded included), or for a
   * case measured alone (rssAlone) of the process that ran it once.
   */
  rssBytes?: number;
  /** For a case measured alone: the peak resident set of its group's process, for comparison. */
  groupRssBytes?: number;
  /** Growth of the JS heap and array buffers over one run after the timed ones (the least of five such runs). */
  heapDeltaBytes?: number;
  /** Timed runs, and warm-up runs before them. */
  samples: number;
  warmup: number;
  /** Size of the image the case ran on. */
  imageBytes?: number;
  /** Garbage collections during the heap-delta run (0: the delta is every byte allocated). */
  gcDuringHeapRun?: number;
}
