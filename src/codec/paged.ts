/**
 * An x64 virtual address space over physical memory (a crash dump or a raw physical image):
 * 4-level translation from a DirectoryTableBase, with 4 KiB, 2 MiB and 1 GiB pages and Windows
 * transition PTEs. The hot path works on 36-bit virtual page numbers held in plain numbers and a
 * direct-mapped TLB of typed arrays: no BigInt, no allocation for ranges inside one page.
 */
import { UsageError } from '../errors.js';
import type { Location, MappedRange, MemoryImage } from './image.js';
import { type Frame, PAGE_SIZE, type PhysicalMemory } from './physical.js';

export interface PagedImageOptions {
  /** TLB entries (a power of two from 1 to 2^24, default 1024): translations kept, with a hint to the cached frame. */
  tlbEntries?: number;
  /** ranges(): most table entries and frame extents examined before giving up (default 2^26). */
  maxWalk?: number;
  /** ranges(): include the user half (PML4 entries 0..255) as well as the kernel half. */
  userHalf?: boolean;
}

const TWO20 = 1048576;
const TWO27 = 134217728;
const HALF_VPN = 2 ** 35; // first kernel-half page number (bit 47 set)
const VPN_LIMIT = 2 ** 36;
const POOL = 16;
const ENTRY = ['PML4E', 'PDPTE', 'PDE', 'PTE'] as const;
const TABLE = ['PML4', 'PDPT', 'page directory', 'page table'] as const;
/** Virtual pages mapped by one entry at each level. */
const SPAN = [TWO27, 262144, 512, 1] as const;

const enum Fail {
  None,
  Table,
  Entry,
  Frame,
  /** A present entry with a bit set that must be 0 at its level (PS in a PML4E). */
  Reserved,
}

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;
/** Frame number in bits 12..51 of an entry given as halves. */
const pfnOf = (lo: number, hi: number): number => (hi & 0xfffff) * TWO20 + (lo >>> 12);
const vaOf = (vpn: number): bigint => {
  const a = BigInt(vpn * PAGE_SIZE);
  return vpn >= HALF_VPN ? a | 0xffff000000000000n : a;
};

/**
 * Why a DirectoryTableBase (a CR3) is not the address of an x64 page: undefined when it is. Bits
 * 52..63 are not part of any physical address, so a value with one set names no page (masking
 * them would read another page than the one given); bits 0..11 are the PCID or the PWT and PCD
 * flags, and name the same page, so they are ignored.
 */
export function notPhysical(directoryTableBase: bigint): string | undefined {
  if (directoryTableBase < 0n || directoryTableBase > 0xffffffffffffffffn) return 'is not a 64-bit value';
  const high = directoryTableBase >> 52n;
  if (high !== 0n) return `is not an x64 physical address: bits 52..63 are set (${hex(high << 52n)}); a physical address has at most 52 bits`;
  return undefined;
}

export class PagedImage implements MemoryImage {
  readonly kind = 'paged' as const;
  readonly writable = false;
  readonly pointerSize = 8 as const;
  readonly directoryTableBase: bigint;
  /** Set by ranges() when the work cap stopped the walk early. */
  walkTruncated = false;
  private readonly pml4: number;
  private readonly tlbTag: Float64Array;
  private readonly tlbPfn: Float64Array;
  private readonly tlbFrame: (Frame | undefined)[];
  private readonly tlbMask: number;
  private lastFrame: Frame | undefined;
  private readonly pool: DataView[] = [];
  private readonly poolBytes: Uint8Array[] = [];
  private poolNext = 0;
  // Why the last walk() failed, kept as numbers so that failing costs no strings.
  private fail = Fail.None;
  private failLevel = 0;
  private failPfn = 0;
  private failEntryAt = 0;
  private failLo = 0;
  private failHi = 0;

  constructor(
    readonly physical: PhysicalMemory,
    directoryTableBase: bigint,
    private readonly options: PagedImageOptions = {},
  ) {
    this.directoryTableBase = directoryTableBase;
    const why = notPhysical(directoryTableBase);
    if (why) throw new UsageError(`DirectoryTableBase ${hex(directoryTableBase)} ${why}`);
    this.pml4 = Number(directoryTableBase >> 12n); // bits 12..51: below 2^40
    if (!physical.hasFrame(this.pml4)) {
      throw new UsageError(`DirectoryTableBase ${hex(directoryTableBase)} is not in ${physical.describe()}: ${physical.missingReason(this.pml4)}`);
    }
    const n = options.tlbEntries ?? 1024;
    if (!(Number.isInteger(n) && n >= 1 && n <= 2 ** 24 && (n & (n - 1)) === 0)) throw new UsageError(`tlbEntries must be a power of two from 1 to 2^24, not ${n}`);
    this.tlbTag = new Float64Array(n).fill(-1);
    this.tlbPfn = new Float64Array(n);
    this.tlbFrame = new Array<Frame | undefined>(n).fill(undefined);
    this.tlbMask = n - 1;
    for (let i = 0; i < POOL; i++) {
      const b = new ArrayBuffer(PAGE_SIZE);
      this.pool.push(new DataView(b));
      this.poolBytes.push(new Uint8Array(b));
    }
  }

  locate(address: bigint, size: number, out: Location): boolean {
    if (address < 0n || address > 0xffffffffffffffffn) return false;
    return this.locateHalves(Number(address & 0xffffffffn), Number(address >> 32n), size, out);
  }

  /**
   * In one page: a view of the cached frame (zero-copy), valid until the frame cache has used as
   * many other frames as it holds (256 by default: dozens of locates). Straddling pages: gathered
   * into one of 16 rotating scratch buffers, valid until 16 more gathers have happened.
   */
  locateHalves(lo: number, hi: number, size: number, out: Location): boolean {
    const top = hi >>> 15;
    if (top !== 0 && top !== 0x1ffff) return false;
    const off = lo & 0xfff;
    const vpn = (hi & 0xffff) * TWO20 + (lo >>> 12);
    if (off + size <= PAGE_SIZE && size >= 0) {
      const f = this.frameOf(vpn);
      if (f === undefined) return false;
      out.view = f.view;
      out.offset = off;
      out.segment = -1;
      out.imageOffset = f.fileOffset < 0 ? -1 : f.fileOffset + off;
      out.gathered = false;
      return true;
    }
    if (!(size > 0 && size <= 0x7fffffff)) return false;
    return this.gather(vpn, off, size, out);
  }

  private gather(vpn: number, off: number, size: number, out: Location): boolean {
    const pages = Math.ceil((off + size) / PAGE_SIZE);
    const last = vpn + pages - 1;
    if (last >= VPN_LIMIT || last >= HALF_VPN !== vpn >= HALF_VPN) return false;
    let view: DataView;
    let dst: Uint8Array;
    if (size <= PAGE_SIZE) {
      view = this.pool[this.poolNext]!;
      dst = this.poolBytes[this.poolNext]!;
      this.poolNext = (this.poolNext + 1) % POOL;
    } else {
      dst = new Uint8Array(size);
      view = new DataView(dst.buffer);
    }
    let copied = 0;
    for (let p = 0; p < pages; p++) {
      const f = this.frameOf(vpn + p);
      if (f === undefined) return false;
      const start = p === 0 ? off : 0;
      const n = Math.min(PAGE_SIZE - start, size - copied);
      const src = f.bytes;
      // Small pieces (the usual straddling field) copy faster byte by byte than through subarray().
      if (n <= 64) for (let i = 0; i < n; i++) dst[copied + i] = src[start + i]!;
      else dst.set(src.subarray(start, start + n), copied);
      copied += n;
    }
    out.view = view;
    out.offset = 0;
    out.segment = -1;
    out.imageOffset = -1;
    out.gathered = true;
    return true;
  }

  /**
   * The frame holding virtual page `vpn` (address bits 47..12), through the TLB. The cache recycles
   * frames, so a TLB hit checks that its frame still holds the PFN it translated to.
   */
  private frameOf(vpn: number): Frame | undefined {
    const slot = vpn & this.tlbMask;
    if (this.tlbTag[slot] === vpn) {
      const f = this.tlbFrame[slot]!;
      const pfn = this.tlbPfn[slot]!;
      if (f.pfn === pfn) {
        // Consecutive hits on one frame need one LRU stamp, not one each.
        if (f !== this.lastFrame) {
          this.physical.touch(f);
          this.lastFrame = f;
        }
        return f;
      }
      const again = this.physical.frame(pfn);
      if (again !== undefined) this.tlbFrame[slot] = again;
      this.lastFrame = again;
      return again;
    }
    const f = this.walk(vpn);
    if (f !== undefined) {
      this.tlbTag[slot] = vpn;
      this.tlbPfn[slot] = f.pfn;
      this.tlbFrame[slot] = f;
    }
    this.lastFrame = f;
    return f;
  }

  /** Walks the tables for `vpn`; on failure records why in the fail* fields. */
  private walk(vpn: number): Frame | undefined {
    const ph = this.physical;
    let pfn = this.pml4;
    for (let level = 0; level < 4; level++) {
      const t = ph.frame(pfn);
      if (t === undefined) return this.failed(Fail.Table, level, pfn, 0, 0, 0);
      const i = (level === 0 ? Math.floor(vpn / TWO27) : level === 1 ? vpn >>> 18 : level === 2 ? vpn >>> 9 : vpn) & 0x1ff;
      const lo = t.view.getUint32(i * 8, true);
      const hi = t.view.getUint32(i * 8 + 4, true);
      const at = pfn * PAGE_SIZE + i * 8;
      if ((lo & 1) === 0) {
        // Transition PTE (Present 0, Transition 1, Prototype 0): the data is still in its frame.
        if (level === 3 && (lo & 0xc00) === 0x800) return this.leaf(pfnOf(lo, hi));
        return this.failed(Fail.Entry, level, pfn, at, lo, hi);
      }
      if (level === 3) return this.leaf(pfnOf(lo, hi));
      if ((lo & 0x80) !== 0) {
        // PS: a 1 GiB (PDPTE) or 2 MiB (PDE) page; its low frame bits are part of the offset.
        if (level === 1) return this.leaf((hi & 0xfffff) * TWO20 + ((lo >>> 30) << 18) + (vpn & 0x3ffff));
        if (level === 2) return this.leaf((hi & 0xfffff) * TWO20 + ((lo >>> 21) << 9) + (vpn & 0x1ff));
        // In a PML4E, PS is reserved (no 512 GiB pages): the processor faults, so no address maps.
        return this.failed(Fail.Reserved, level, pfn, at, lo, hi);
      }
      pfn = pfnOf(lo, hi);
    }
    return undefined;
  }

  private leaf(pfn: number): Frame | undefined {
    const f = this.physical.frame(pfn);
    return f ?? this.failed(Fail.Frame, 4, pfn, 0, 0, 0);
  }

  private failed(kind: Fail, level: number, pfn: number, at: number, lo: number, hi: number): undefined {
    this.fail = kind;
    this.failLevel = level;
    this.failPfn = pfn;
    this.failEntryAt = at;
    this.failLo = lo;
    this.failHi = hi;
    return undefined;
  }

  /** Physical address of a virtual address, or undefined when it does not translate to a stored frame. */
  physicalAddress(address: bigint): bigint | undefined {
    if (!this.canonical(address)) return undefined;
    const f = this.frameOf(Number((address >> 12n) & 0xfffffffffn));
    return f === undefined ? undefined : (BigInt(f.pfn) << 12n) | (address & 0xfffn);
  }

  private canonical(address: bigint): boolean {
    const top = address >> 47n;
    return top === 0n || top === 0x1ffffn;
  }

  explain(address: bigint, size: number): string {
    if (address < 0n || address > 0xffffffffffffffffn) return 'is not a 64-bit address';
    if (!this.canonical(address)) return 'is non-canonical (bits 63..47 must all equal bit 47)';
    const vpn = Number((address >> 12n) & 0xfffffffffn);
    const off = Number(address & 0xfffn);
    const pages = Math.min(Math.ceil((off + Math.max(1, size || 0)) / PAGE_SIZE), 1 << 24);
    for (let p = 0; p < pages; p++) {
      const v = vpn + p;
      const va = p === 0 ? address : (address & ~0xfffn) + BigInt(p * PAGE_SIZE);
      // The first page is the address itself; a later one is named.
      const where = p === 0 ? 'is' : `reaches ${hex(va)} (byte ${va - address} of ${size}), which is`;
      if (v >= VPN_LIMIT || v >= HALF_VPN !== vpn >= HALF_VPN) {
        return `${where} non-canonical: the range runs off its half of the address space`;
      }
      if (this.walk(v) === undefined) return `${where} not readable: ${this.failText()}`;
    }
    return 'is readable';
  }

  private failText(): string {
    const ph = this.physical;
    const entry = hex((BigInt(this.failHi >>> 0) << 32n) | BigInt(this.failLo >>> 0));
    const at = hex(this.failEntryAt);
    switch (this.fail) {
      case Fail.Table:
        return `the ${TABLE[this.failLevel]} at PFN ${hex(this.failPfn)} is not in the dump (${ph.missingReason(this.failPfn)})`;
      case Fail.Frame:
        return `page not in the dump (${ph.missingReason(this.failPfn)})`;
      case Fail.Entry:
        if (this.failLevel < 3) return `${ENTRY[this.failLevel]} not present at physical ${at} (entry ${entry})`;
        if (this.failLo === 0 && this.failHi === 0) return `PTE not present at physical ${at} (entry 0: never mapped)`;
        if ((this.failLo & 0x400) !== 0) return `prototype PTE ${entry} at physical ${at} (a shared page: not resolved)`;
        return `paged out (software PTE ${entry} at physical ${at})`;
      case Fail.Reserved:
        return `${ENTRY[this.failLevel]} ${entry} at physical ${at} has the reserved PS bit (bit 7) set: a processor faults on it, so it maps nothing (a corrupt table, or not a page table)`;
      default:
        return 'not readable';
    }
  }

  /**
   * Mapped, stored virtual ranges (the kernel half unless options.userHalf), coalesced. Each
   * table frame is visited at most once per level and the total work is capped, so that tables
   * pointing at themselves (the Windows self-map, or hostile ones) cannot loop.
   */
  *ranges(): Iterable<MappedRange> {
    const ph = this.physical;
    const seen = [new Set<number>(), new Set<number>(), new Set<number>(), new Set<number>()];
    const pending: MappedRange[] = [];
    let budget = this.options.maxWalk ?? 2 ** 26;
    let start = 0;
    let end = 0;
    this.walkTruncated = false;
    // Adds the stored frames among `count` pages mapped from `pfn` at `vpn`.
    const leaf = (vpn: number, pfn: number, count: number): void => {
      let done = 0;
      while (done < count && budget-- > 0) {
        const k = ph.extent(pfn + done, count - done, true);
        if (k > 0) {
          // A new range where the last one does not reach, and at the canonical hole (the last
          // user page and the first kernel page are neighbours as page numbers only).
          if (end !== vpn + done || end === HALF_VPN) {
            if (end > start) pending.push({ address: vaOf(start), length: (end - start) * PAGE_SIZE });
            start = vpn + done;
          }
          end = vpn + done + k;
          done += k;
        }
        if (done < count) done += Math.max(1, ph.extent(pfn + done, count - done, false));
      }
    };
    const self = this;
    // One copy of the table being read per level: the cache recycles frames while we recurse.
    const copies = [0, 1, 2, 3].map(() => new Uint8Array(PAGE_SIZE));
    function* table(pfn: number, level: number, base: number): Generator<MappedRange> {
      const f = ph.frame(pfn);
      if (f === undefined) return;
      const copy = copies[level]!;
      copy.set(f.bytes);
      const view = new DataView(copy.buffer);
      const from = level === 0 ? (self.options.userHalf ? 0 : 256) : 0;
      for (let i = from; i < 512; i++) {
        if (budget-- <= 0) return;
        const lo = view.getUint32(i * 8, true);
        const hi = view.getUint32(i * 8 + 4, true);
        // Kernel-half PML4 entries map sign-extended addresses: VPNs from 2^35 up.
        const vpn = base + i * SPAN[level]!;
        if (level === 3) {
          if ((lo & 1) !== 0 || (lo & 0xc00) === 0x800) leaf(vpn, pfnOf(lo, hi), 1);
        } else if ((lo & 1) === 0) continue;
        else if ((lo & 0x80) !== 0 && level === 0) continue; // reserved: maps nothing (see walk)
        else if ((lo & 0x80) !== 0 && level === 1) leaf(vpn, (hi & 0xfffff) * TWO20 + ((lo >>> 30) << 18), 262144);
        else if ((lo & 0x80) !== 0 && level === 2) leaf(vpn, (hi & 0xfffff) * TWO20 + ((lo >>> 21) << 9), 512);
        else {
          const next = pfnOf(lo, hi);
          const visited = seen[level + 1]!;
          if (visited.has(next)) continue;
          visited.add(next);
          yield* table(next, level + 1, vpn);
        }
        if (pending.length > 0) {
          yield* pending;
          pending.length = 0;
        }
      }
    }
    yield* table(this.pml4, 0, 0);
    yield* pending;
    if (budget <= 0) this.walkTruncated = true;
    if (end > start) yield { address: vaOf(start), length: (end - start) * PAGE_SIZE };
  }
}
