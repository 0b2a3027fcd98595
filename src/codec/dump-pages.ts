/**
 * Where a crash dump stores each physical page: runs (full dumps) or a bitmap (bitmap dumps).
 *
 * The page bitmap of a bitmap crash dump, with a rank index: stored page number = number of set
 * bits before the PFN. One cumulative count per 512-bit block (8 bytes per 2 MiB of physical
 * memory) on top of the bitmap itself (1 bit per page): a 64 GiB machine costs 2 MiB + 256 KiB,
 * and a lookup sums at most 16 popcounts.
 */
import { type ByteSource, FramedMemory, PAGE_SIZE } from './physical.js';

/** A physical memory run: `pageCount` frames from PFN `basePage`. */
export interface PhysicalRun {
  readonly basePage: number;
  readonly pageCount: number;
}

const BLOCK_WORDS = 16;
/** Bitmap bytes read per call: large enough to be fast, small enough to never spike memory twice. */
const CHUNK = 1 << 24;

export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/**
 * Fills `ranks` with the set bits before each block of `words` and returns the total. It runs once
 * per dump opened, over the whole bitmap (a 4 GiB machine's is 32,768 words): a loop over blocks,
 * then over their words, because a % and a / per word cost more than the counting (1 ms of each
 * 4 GiB dump opened in the benchmark's decode/dump runs).
 */
function fillRanks(words: Uint32Array, ranks: Float64Array): number {
  const n = words.length;
  // A block's count fits 32 bits (at most 512); the running total is a double.
  let total = 0;
  let w = 0;
  for (let b = 0; w < n; b++) {
    ranks[b] = total;
    const end = Math.min(n, w + BLOCK_WORDS);
    let c = 0;
    for (; w < end; w++) c += popcount32(words[w]!);
    total += c;
  }
  return total;
}

export class BitmapIndex {
  /** Set bits before each block; Float64 so counts past 2^32 stay exact. */
  private readonly ranks: Float64Array;
  readonly total: number;

  /** `words`: ceil(bits / 32) of them, as read() makes them; the spare bits of the last are cleared here. */
  constructor(
    private readonly words: Uint32Array,
    readonly bits: number,
  ) {
    const tail = bits % 32;
    const last = words.length - 1;
    if (tail !== 0 && last >= 0) words[last] = words[last]! & ((1 << tail) - 1);
    this.ranks = new Float64Array(Math.ceil(words.length / BLOCK_WORDS));
    this.total = fillRanks(words, this.ranks);
  }

  /** Reads `bits` bits at `offset` in chunks (the caller has checked they are inside the file). */
  static read(source: ByteSource, offset: number, bits: number): BitmapIndex {
    const words = new Uint32Array(Math.ceil(bits / 32));
    const bytes = new Uint8Array(words.buffer, 0, Math.ceil(bits / 8));
    for (let at = 0; at < bytes.length; at += CHUNK) {
      source.read(bytes.subarray(at, Math.min(bytes.length, at + CHUNK)), offset + at);
    }
    return new BitmapIndex(words, bits);
  }

  /** Memory held, in bytes. */
  get byteLength(): number {
    return this.words.byteLength + this.ranks.byteLength;
  }

  has(pfn: number): boolean {
    return pfn >= 0 && pfn < this.bits && ((this.words[Math.floor(pfn / 32)]! >>> (pfn & 31)) & 1) === 1;
  }

  /** Number of set bits below `pfn`. */
  rank(pfn: number): number {
    if (!(pfn > 0)) return 0;
    if (pfn >= this.bits) return this.total; // (the last block's count may not exist: no bits after it)
    const w = Math.floor(pfn / 32);
    const b = Math.floor(w / BLOCK_WORDS);
    let n = this.ranks[b]!;
    for (let i = b * BLOCK_WORDS; i < w; i++) n += popcount32(this.words[i]!);
    const bit = pfn & 31;
    if (bit !== 0) n += popcount32(this.words[w]! & ((1 << bit) - 1));
    return n;
  }

  /** The PFN of the set bit of rank `k` (0-based); `bits` when there are not that many. */
  select(k: number): number {
    if (k >= this.total) return this.bits;
    let lo = 0;
    let hi = this.ranks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.ranks[mid]! <= k) lo = mid;
      else hi = mid - 1;
    }
    let n = this.ranks[lo]!;
    for (let w = lo * BLOCK_WORDS; w < this.words.length; w++) {
      const word = this.words[w]!;
      const c = popcount32(word);
      if (n + c > k) {
        for (let bit = 0; bit < 32; bit++) if ((word >>> bit) & 1 && n++ === k) return w * 32 + bit;
      }
      n += c;
    }
    return this.bits;
  }

  /**
   * How many PFNs from `pfn` on (at most `count`) have their bit equal to `stored`, word at a time.
   * PFNs below 0 and from `bits` on have no bit: they count as clear.
   */
  extent(pfn: number, count: number, stored: boolean): number {
    if (pfn < 0) {
      if (stored) return 0;
      const below = Math.min(count, -pfn);
      return below === count ? count : below + this.extent(0, count - below, false);
    }
    const full = stored ? 0xffffffff : 0;
    let n = 0;
    while (n < count) {
      const i = pfn + n;
      if (i >= this.bits) return stored ? n : count;
      const word = this.words[Math.floor(i / 32)]!;
      if ((i & 31) === 0 && count - n >= 32 && i + 32 <= this.bits && word === full) {
        n += 32;
        continue;
      }
      if ((((word >>> (i & 31)) & 1) === 1) !== stored) return n;
      n++;
    }
    return n;
  }
}

/** Full dump: run after run from `dataStart` (0x2000), in PhysicalMemoryBlock order; RDMP dumps: range after range from FirstPageOffset. */
export class RunMemory extends FramedMemory {
  private readonly base: Float64Array;
  private readonly count: Float64Array;
  private readonly filePage: Float64Array;
  private readonly dataStart: number;
  /** File offset just past the last stored page. */
  private readonly end: number;

  constructor(
    source: ByteSource,
    dataStart: number,
    private readonly runs: readonly PhysicalRun[],
    cacheFrames?: number,
    /** What describe() calls the dump and its runs (RDMP dumps store pages by ranges the same way). */
    private readonly kind = 'full memory dump',
    private readonly runsName = 'runs',
  ) {
    super(source, runs.reduce((m, r) => Math.max(m, r.basePage + r.pageCount), 0), cacheFrames);
    let at = 0;
    const withFile = runs.map((r) => ((at += r.pageCount), { ...r, file: at - r.pageCount }));
    withFile.sort((a, b) => a.basePage - b.basePage);
    this.base = Float64Array.from(withFile, (r) => r.basePage);
    this.count = Float64Array.from(withFile, (r) => r.pageCount);
    this.filePage = Float64Array.from(withFile, (r) => r.file);
    this.dataStart = dataStart;
    this.end = dataStart + at * PAGE_SIZE;
  }

  /** Index of the last run starting at or below pfn (binary search: 42 runs at most in a full dump, more ranges in an RDMP dump). */
  private runOf(pfn: number): number {
    let lo = 0;
    let hi = this.base.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.base[mid]! <= pfn) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  protected offsetOf(pfn: number): number {
    if (this.base.length === 0) return -1;
    const k = this.runOf(pfn);
    const d = pfn - this.base[k]!;
    return d >= 0 && d < this.count[k]! ? this.dataStart + (this.filePage[k]! + d) * PAGE_SIZE : -1;
  }

  protected notStoredReason(): string {
    return 'outside every physical memory run';
  }

  override extent(pfn: number, count: number, stored: boolean): number {
    // Run by run (or gap by gap): adjacent runs, and a truncated run next to a gap, go on alike.
    return this.extentByRuns(pfn, count, stored, (p, c, s) => this.stretch(p, c, s));
  }

  /** extent() within the run or the gap that holds `pfn`. */
  private stretch(pfn: number, count: number, stored: boolean): number {
    if (this.base.length === 0) return stored ? 0 : count;
    const k = this.runOf(pfn);
    const base = this.base[k]!;
    const runEnd = base + this.count[k]!;
    if (pfn >= base && pfn < runEnd) {
      // Inside a run: stored up to the run's end or, in a truncated file, up to the file's end.
      const inFile = Math.floor((this.source.size - this.offsetOf(pfn)) / PAGE_SIZE);
      const have = Math.max(0, Math.min(runEnd - pfn, inFile));
      if (stored) return Math.min(count, have);
      return have > 0 ? 0 : Math.min(count, runEnd - pfn);
    }
    if (stored) return 0;
    const next = pfn < base ? base : (this.base[k + 1] ?? Infinity);
    return Math.min(count, next - pfn);
  }

  describe(): string {
    return `${this.kind} ${this.source.name} (${this.runs.length} ${this.runsName})`;
  }
}

/** Bitmap dump: stored pages follow each other from FirstPage in increasing PFN order. */
export class BitmapMemory extends FramedMemory {
  constructor(
    source: ByteSource,
    private readonly index: BitmapIndex,
    private readonly firstPage: number,
    cacheFrames?: number,
  ) {
    super(source, index.bits, cacheFrames);
    const inFile = Math.max(0, Math.floor((source.size - firstPage) / PAGE_SIZE));
    this.cutoff = inFile >= index.total ? index.bits : index.select(inFile);
  }

  /** First PFN whose page lies past the end of the file (`bits` when the file is complete). */
  private readonly cutoff: number;

  protected offsetOf(pfn: number): number {
    return this.index.has(pfn) ? this.firstPage + this.index.rank(pfn) * PAGE_SIZE : -1;
  }

  protected notStoredReason(): string {
    return 'its bit in the dump bitmap is clear';
  }

  override extent(pfn: number, count: number, stored: boolean): number {
    // In a truncated file only the pages below `cutoff` are there, whatever the bitmap says.
    const cutoff = this.cutoff;
    if (pfn >= cutoff) return stored ? 0 : count;
    const n = this.index.extent(pfn, Math.min(count, cutoff - pfn), stored);
    return !stored && pfn + n === cutoff ? count : n;
  }

  describe(): string {
    return `bitmap dump ${this.source.name} (${this.index.total} pages stored of ${this.index.bits})`;
  }
}
