/**
 * 32-bit x86 virtual address spaces over physical memory (a 32-bit crash dump, a raw image, any
 * `PhysicalMemory` that `new PagedImage(source, dtb)` reads): PAE 3-level paging (a PDPT of four
 * 8-byte entries at a 32-byte aligned CR3, which need not be page aligned; 2 MiB large pages;
 * NX in bit 63) and non-PAE 2-level paging (4-byte entries; 4 MiB large pages when CR4.PSE, with
 * the PSE-36 physical address bits 39..32 in bits 20..13). Windows transition PTEs (Present 0,
 * Transition 1, Prototype 0) name their frame, as on x64. An entry with reserved bits set is not
 * walked: the address reads as absent and `explain` names the entry and the bits.
 *
 * The hot path works on 20-bit virtual page numbers and a direct-mapped TLB of typed arrays: no
 * BigInt, no allocation for a range inside one page; a range straddling pages is gathered into a
 * rotating scratch buffer, as PagedImage does.
 */
import { UsageError } from '../../errors.js';
import type { Location, MappedRange, MemoryImage } from '../../codec/image.js';
import { type Frame, PAGE_SIZE, type PhysicalMemory } from '../../codec/physical.js';
import type { PagingMode } from '../source.js';

/** The 32-bit paging modes: 'pae' (CR4.PAE set, 3 levels of 8-byte entries) and 'non-pae' (2 levels of 4-byte entries). */
export type X86Paging = Extract<PagingMode, 'pae' | 'non-pae'>;

export interface X86ImageOptions {
  readonly paging: X86Paging;
  /** Non-PAE only: CR4.PSE, whether a PDE with bit 7 set maps a 4 MiB page (default true, as Windows sets it). */
  readonly pse?: boolean;
  /** TLB entries (a power of two from 1 to 2^20, default 1024). */
  readonly tlbEntries?: number;
  /** ranges(): most table entries and frame extents examined before giving up (default 2^26). */
  readonly maxWalk?: number;
  /** ranges(): include the user half (below 0x80000000) as well as the kernel half. */
  readonly userHalf?: boolean;
}

const TWO20 = 1048576;
/** Virtual pages in 4 GiB. */
const VPN_LIMIT = TWO20;
const KERNEL_VPN = 0x80000;
const POOL = 16;

/** Reserved bits of present PAE entries, as [low word, high word] masks (MAXPHYADDR taken as 52: bits 62..52). */
const PAE_HIGH_RESERVED = 0x7ff00000;
/** PDPTE: bits 2..1 and 8..5, and 63..52 (a PDPTE has no NX bit). */
const PDPTE_RESERVED_LO = 0x1e6;
const PDPTE_RESERVED_HI = 0xfff00000;
/** A 2 MiB PDE: bits 20..13 (bit 12 is PAT). */
const PDE2M_RESERVED_LO = 0x1fe000;
/** A non-PAE 4 MiB PDE: bit 21 (bits 20..13 are physical address bits 39..32, bit 12 is PAT). */
const PDE4M_RESERVED_LO = 0x200000;

/** Where the top table is: PAE, CR3 bits 31..5 (the PDPT); non-PAE, bits 31..12 (the page directory). */
export function tableAddressOf(cr3: bigint, paging: X86Paging): number {
  const a = Number(cr3 & 0xffffffffn);
  return paging === 'pae' ? a - (a & 0x1f) : a - (a & 0xfff);
}

const enum Fail {
  None,
  Table,
  Entry,
  Reserved,
  Frame,
}

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;
/** PAE: frame number in bits 51..12 of an entry given as halves. */
const pfnOf = (lo: number, hi: number): number => (hi & 0xfffff) * TWO20 + (lo >>> 12);
const entryText = (lo: number, hi: number, pae: boolean): string =>
  pae ? hex((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)) : hex(lo >>> 0);

export class X86PagedImage implements MemoryImage {
  readonly kind = 'paged' as const;
  readonly writable = false;
  readonly pointerSize = 4 as const;
  readonly paging: X86Paging;
  /** As given; the table's address is `tableAddress`. */
  readonly directoryTableBase: bigint;
  /** Physical address of the PDPT (PAE: CR3 bits 31..5) or of the page directory (non-PAE: bits 31..12). */
  readonly tableAddress: number;
  /** Set by ranges() when the work cap stopped the walk early. */
  walkTruncated = false;
  private readonly pae: boolean;
  private readonly pse: boolean;
  private readonly pdPfn: number;
  // PAE: the four PDPTEs, read once as the processor loads them when CR3 is written.
  private readonly pdptLo = new Uint32Array(4);
  private readonly pdptHi = new Uint32Array(4);
  private readonly tlbTag: Int32Array;
  private readonly tlbPfn: Float64Array;
  private readonly tlbFrame: (Frame | undefined)[];
  private readonly tlbMask: number;
  private lastFrame: Frame | undefined;
  private readonly pool: DataView[] = [];
  private readonly poolBytes: Uint8Array[] = [];
  private poolNext = 0;
  // Why the last walk failed, as numbers: failing costs no strings.
  private fail = Fail.None;
  private failLevel = 0;
  private failPfn = 0;
  private failEntryAt = 0;
  private failLo = 0;
  private failHi = 0;
  private failBitsLo = 0;
  private failBitsHi = 0;

  constructor(
    readonly physical: PhysicalMemory,
    directoryTableBase: bigint,
    private readonly options: X86ImageOptions,
  ) {
    const paging = options.paging;
    if (paging !== 'pae' && paging !== 'non-pae') throw new UsageError(`x86 paging is 'pae' or 'non-pae', not ${JSON.stringify(paging)}`);
    this.paging = paging;
    this.pae = paging === 'pae';
    this.pse = options.pse ?? true;
    this.directoryTableBase = directoryTableBase;
    if (directoryTableBase < 0n || directoryTableBase > 0xffffffffn) {
      throw new UsageError(`DirectoryTableBase ${hex(directoryTableBase)} does not fit the 32-bit CR3 of x86 paging`);
    }
    this.tableAddress = tableAddressOf(directoryTableBase, paging);
    this.pdPfn = Math.floor(this.tableAddress / PAGE_SIZE);
    const table = this.pae ? 'PDPT' : 'page directory';
    const f = physical.frame(this.pdPfn);
    if (f === undefined) {
      throw new UsageError(`DirectoryTableBase ${hex(directoryTableBase)}: the ${table} is not in ${physical.describe()}: ${physical.missingReason(this.pdPfn)}`);
    }
    if (this.pae) {
      const at = this.tableAddress & 0xfff;
      for (let i = 0; i < 4; i++) {
        this.pdptLo[i] = f.view.getUint32(at + i * 8, true);
        this.pdptHi[i] = f.view.getUint32(at + i * 8 + 4, true);
      }
    }
    const n = options.tlbEntries ?? 1024;
    if (!(Number.isInteger(n) && n >= 1 && n <= TWO20 && (n & (n - 1)) === 0)) throw new UsageError(`tlbEntries must be a power of two from 1 to 2^20, not ${n}`);
    this.tlbTag = new Int32Array(n).fill(-1);
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
    if (address < 0n || address > 0xffffffffn) return false;
    return this.locateHalves(Number(address), 0, size, out);
  }

  /**
   * In one page: a view of the cached frame (zero-copy), valid until the frame cache has used as
   * many other frames as it holds. Straddling pages: gathered into one of 16 rotating scratch
   * buffers (a new buffer past 4 KiB), valid until 16 more gathers have happened.
   */
  locateHalves(lo: number, hi: number, size: number, out: Location): boolean {
    if (hi !== 0) return false;
    const off = lo & 0xfff;
    const vpn = lo >>> 12;
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
    if (vpn + pages > VPN_LIMIT) return false;
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

  /** The frame holding virtual page `vpn` (address bits 31..12), through the TLB. */
  private frameOf(vpn: number): Frame | undefined {
    const slot = vpn & this.tlbMask;
    if (this.tlbTag[slot] === vpn) {
      const f = this.tlbFrame[slot]!;
      const pfn = this.tlbPfn[slot]!;
      if (f.pfn === pfn) {
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
    const f = this.pae ? this.walkPae(vpn) : this.walkNonPae(vpn);
    if (f !== undefined) {
      this.tlbTag[slot] = vpn;
      this.tlbPfn[slot] = f.pfn;
      this.tlbFrame[slot] = f;
    }
    this.lastFrame = f;
    return f;
  }

  /** PAE: PDPTE (bits 31..30), PDE (29..21), PTE (20..12). Levels 0, 1, 2. */
  private walkPae(vpn: number): Frame | undefined {
    const i0 = vpn >>> 18;
    let lo = this.pdptLo[i0]!;
    let hi = this.pdptHi[i0]!;
    let at = this.tableAddress + i0 * 8;
    if ((lo & 1) === 0) return this.failed(Fail.Entry, 0, 0, at, lo, hi);
    if ((lo & PDPTE_RESERVED_LO) !== 0 || (hi & PDPTE_RESERVED_HI) !== 0) return this.reserved(0, at, lo, hi, lo & PDPTE_RESERVED_LO, hi & PDPTE_RESERVED_HI);
    const ph = this.physical;
    let pfn = pfnOf(lo, hi);
    let t = ph.frame(pfn);
    if (t === undefined) return this.failed(Fail.Table, 1, pfn, 0, 0, 0);
    const i1 = (vpn >>> 9) & 0x1ff;
    lo = t.view.getUint32(i1 * 8, true);
    hi = t.view.getUint32(i1 * 8 + 4, true);
    at = pfn * PAGE_SIZE + i1 * 8;
    if ((lo & 1) === 0) return this.failed(Fail.Entry, 1, pfn, at, lo, hi);
    if ((lo & 0x80) !== 0) {
      if ((lo & PDE2M_RESERVED_LO) !== 0 || (hi & PAE_HIGH_RESERVED) !== 0) return this.reserved(1, at, lo, hi, lo & PDE2M_RESERVED_LO, hi & PAE_HIGH_RESERVED);
      // A 2 MiB page: bits 20..12 of the frame number come from the address (bit 12 of the entry is PAT).
      return this.leaf((hi & 0xfffff) * TWO20 + ((lo >>> 21) << 9) + (vpn & 0x1ff));
    }
    if ((hi & PAE_HIGH_RESERVED) !== 0) return this.reserved(1, at, lo, hi, 0, hi & PAE_HIGH_RESERVED);
    pfn = pfnOf(lo, hi);
    t = ph.frame(pfn);
    if (t === undefined) return this.failed(Fail.Table, 2, pfn, 0, 0, 0);
    const i2 = vpn & 0x1ff;
    lo = t.view.getUint32(i2 * 8, true);
    hi = t.view.getUint32(i2 * 8 + 4, true);
    at = pfn * PAGE_SIZE + i2 * 8;
    if ((lo & 1) === 0) {
      // Transition PTE (Present 0, Transition 1, Prototype 0): the data is still in its frame.
      if ((lo & 0xc00) === 0x800) return this.leaf(pfnOf(lo, hi));
      return this.failed(Fail.Entry, 2, pfn, at, lo, hi);
    }
    if ((hi & PAE_HIGH_RESERVED) !== 0) return this.reserved(2, at, lo, hi, 0, hi & PAE_HIGH_RESERVED);
    return this.leaf(pfnOf(lo, hi));
  }

  /** Non-PAE: PDE (bits 31..22), PTE (21..12). Levels 0, 1. */
  private walkNonPae(vpn: number): Frame | undefined {
    const ph = this.physical;
    let pfn = this.pdPfn;
    let t = ph.frame(pfn);
    if (t === undefined) return this.failed(Fail.Table, 0, pfn, 0, 0, 0);
    const i0 = vpn >>> 10;
    let e = t.view.getUint32(i0 * 4, true);
    let at = pfn * PAGE_SIZE + i0 * 4;
    if ((e & 1) === 0) return this.failed(Fail.Entry, 0, pfn, at, e, 0);
    if ((e & 0x80) !== 0 && this.pse) {
      if ((e & PDE4M_RESERVED_LO) !== 0) return this.reserved(0, at, e, 0, e & PDE4M_RESERVED_LO, 0);
      // A 4 MiB page: physical address bits 31..22 from bits 31..22, bits 39..32 from bits 20..13 (PSE-36).
      return this.leaf(((e >>> 13) & 0xff) * TWO20 + ((e >>> 22) << 10) + (vpn & 0x3ff));
    }
    pfn = e >>> 12;
    t = ph.frame(pfn);
    if (t === undefined) return this.failed(Fail.Table, 1, pfn, 0, 0, 0);
    const i1 = vpn & 0x3ff;
    e = t.view.getUint32(i1 * 4, true);
    at = pfn * PAGE_SIZE + i1 * 4;
    if ((e & 1) === 0) {
      if ((e & 0xc00) === 0x800) return this.leaf(e >>> 12);
      return this.failed(Fail.Entry, 1, pfn, at, e, 0);
    }
    return this.leaf(e >>> 12);
  }

  private leaf(pfn: number): Frame | undefined {
    const f = this.physical.frame(pfn);
    return f ?? this.failed(Fail.Frame, 3, pfn, 0, 0, 0);
  }

  private reserved(level: number, at: number, lo: number, hi: number, bitsLo: number, bitsHi: number): undefined {
    this.failBitsLo = bitsLo;
    this.failBitsHi = bitsHi;
    return this.failed(Fail.Reserved, level, 0, at, lo, hi);
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
    if (address < 0n || address > 0xffffffffn) return undefined;
    const a = Number(address);
    const f = this.frameOf(a >>> 12);
    return f === undefined ? undefined : BigInt(f.pfn * PAGE_SIZE + (a & 0xfff));
  }

  explain(address: bigint, size: number): string {
    if (address < 0n || address > 0xffffffffn) return 'is outside the 32-bit address space of an x86 capture';
    const a = Number(address);
    const vpn = a >>> 12;
    const pages = Math.min(Math.ceil(((a & 0xfff) + Math.max(1, size || 0)) / PAGE_SIZE), VPN_LIMIT + 1);
    for (let p = 0; p < pages; p++) {
      const v = vpn + p;
      const va = p === 0 ? a : (vpn + p) * PAGE_SIZE;
      const where = p === 0 ? 'is' : `reaches ${hex(va)} (byte ${va - a} of ${size}), which is`;
      if (v >= VPN_LIMIT) return `${where} past the end of the 32-bit address space`;
      if ((this.pae ? this.walkPae(v) : this.walkNonPae(v)) === undefined) return `${where} not readable: ${this.failText()}`;
    }
    return 'is readable';
  }

  private failText(): string {
    const ph = this.physical;
    const entryNames = this.pae ? ['PDPTE', 'PDE', 'PTE'] : ['PDE', 'PTE'];
    const tableNames = this.pae ? ['PDPT', 'page directory', 'page table'] : ['page directory', 'page table'];
    const last = entryNames.length - 1;
    const entry = entryText(this.failLo, this.failHi, this.pae);
    const at = hex(this.failEntryAt);
    switch (this.fail) {
      case Fail.Table:
        return `the ${tableNames[this.failLevel]} at PFN ${hex(this.failPfn)} is not in the capture (${ph.missingReason(this.failPfn)})`;
      case Fail.Frame:
        return `page not in the capture (${ph.missingReason(this.failPfn)})`;
      case Fail.Reserved: {
        const bits = this.pae ? (BigInt(this.failBitsHi >>> 0) << 32n) | BigInt(this.failBitsLo >>> 0) : BigInt(this.failBitsLo >>> 0);
        return `${entryNames[this.failLevel]} ${entry} at physical ${at} has reserved bits set (${hex(bits)}): not walked`;
      }
      case Fail.Entry:
        if (this.failLevel < last) return `${entryNames[this.failLevel]} not present at physical ${at} (entry ${entry})`;
        if (this.failLo === 0 && this.failHi === 0) return `PTE not present at physical ${at} (entry 0: never mapped)`;
        if ((this.failLo & 0x400) !== 0) return `prototype PTE ${entry} at physical ${at} (a shared page: not resolved)`;
        return `paged out (software PTE ${entry} at physical ${at})`;
      default:
        return 'not readable';
    }
  }

  /**
   * Mapped, stored virtual ranges (from 0x80000000 unless options.userHalf), coalesced. Two or three
   * levels make at most 2^20 leaf entries whatever the entries say, so tables that point at
   * themselves (the Windows self-map, or hostile ones) cannot loop; a table named by several entries
   * is read for each (aliases are real mappings), and the total work is capped.
   */
  *ranges(): Iterable<MappedRange> {
    const ph = this.physical;
    const pae = this.pae;
    const pse = this.pse;
    const levels = pae ? 3 : 2;
    const pending: MappedRange[] = [];
    let budget = this.options.maxWalk ?? 2 ** 26;
    let start = 0;
    let end = 0;
    this.walkTruncated = false;
    const fromVpn = this.options.userHalf ? 0 : KERNEL_VPN;
    const leaf = (vpn: number, pfn: number, count: number): void => {
      let done = 0;
      while (done < count && budget-- > 0) {
        const k = ph.extent(pfn + done, count - done, true);
        if (k > 0) {
          if (end !== vpn + done) {
            if (end > start) pending.push({ address: BigInt(start * PAGE_SIZE), length: (end - start) * PAGE_SIZE });
            start = vpn + done;
          }
          end = vpn + done + k;
          done += k;
        }
        if (done < count) done += Math.max(1, ph.extent(pfn + done, count - done, false));
      }
    };
    // Pages mapped by one entry at each level.
    const span = pae ? [262144, 512, 1] : [1024, 1];
    const width = pae ? 8 : 4;
    const copies = [0, 1, 2].map(() => new Uint8Array(PAGE_SIZE));
    const views = copies.map((c) => new DataView(c.buffer));
    const self = this;
    // Level 0 of PAE is the PDPT: four entries, already read.
    function* entries(level: number, view: DataView | undefined, count: number, base: number): Generator<MappedRange> {
      for (let i = 0; i < count; i++) {
        if (budget-- <= 0) return;
        const vpn = base + i * span[level]!;
        if (vpn + span[level]! <= fromVpn) continue;
        let lo: number;
        let hi = 0;
        if (view === undefined) {
          lo = self.pdptLo[i]!;
          hi = self.pdptHi[i]!;
        } else {
          lo = view.getUint32(i * width, true);
          if (pae) hi = view.getUint32(i * width + 4, true);
        }
        const last = level === levels - 1;
        const present = (lo & 1) !== 0;
        if (last) {
          if (pae && present && (hi & PAE_HIGH_RESERVED) !== 0) continue;
          if (present || (lo & 0xc00) === 0x800) leaf(vpn, pae ? pfnOf(lo, hi) : lo >>> 12, 1);
        } else if (!present) continue;
        else if (pae && level === 0 && ((lo & PDPTE_RESERVED_LO) !== 0 || (hi & PDPTE_RESERVED_HI) !== 0)) continue;
        else if (pae && (hi & PAE_HIGH_RESERVED) !== 0) continue;
        else if (pae && level === 1 && (lo & 0x80) !== 0) {
          if ((lo & PDE2M_RESERVED_LO) === 0) leaf(vpn, (hi & 0xfffff) * TWO20 + ((lo >>> 21) << 9), 512);
        } else if (!pae && pse && (lo & 0x80) !== 0) {
          if ((lo & PDE4M_RESERVED_LO) === 0) leaf(vpn, ((lo >>> 13) & 0xff) * TWO20 + ((lo >>> 22) << 10), 1024);
        } else {
          const f = ph.frame(pae ? pfnOf(lo, hi) : lo >>> 12);
          if (f !== undefined) {
            // One copy of the table per level: the cache recycles frames while we recurse.
            const copy = copies[level + 1]!;
            copy.set(f.bytes);
            yield* entries(level + 1, views[level + 1]!, PAGE_SIZE / width, vpn);
          }
        }
        if (pending.length > 0) {
          yield* pending;
          pending.length = 0;
        }
      }
    }
    if (pae) yield* entries(0, undefined, 4, 0);
    else {
      const f = ph.frame(this.pdPfn);
      if (f !== undefined) {
        copies[0]!.set(f.bytes);
        yield* entries(0, views[0]!, 1024, 0);
      }
    }
    yield* pending;
    if (budget <= 0) this.walkTruncated = true;
    if (end > start) yield { address: BigInt(start * PAGE_SIZE), length: (end - start) * PAGE_SIZE };
  }
}
