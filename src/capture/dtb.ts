/**
 * Finding the kernel DirectoryTableBase of a raw physical image, which records no CPU state:
 *
 * 1. The low stub (x64 only). On real hardware a 64-bit Windows leaves a PROCESSOR_START_BLOCK
 *    (the real-mode trampoline the other processors start from) in a page below 1 MiB; it holds
 *    the kernel's CR3. Its signature is a near jump with CompletionFlag 1, a kernel-mode LmTarget
 *    and a page-aligned CR3 (MemProcFS `vmm/vmmwininit.c`). Often absent in virtual machines.
 *    The sources (../shared/reference/capture-formats.md, MemProcFS) give its layout for x64 only:
 *    a 32-bit kernel is found by its self-map alone, and a stub-like page in a 32-bit machine's
 *    memory is only ever read as an x64 one (and rejected when x64 paging does not confirm it).
 * 2. Self-map scans (Volatility 3 `automagic/windows.py`): a top-level table that maps itself
 *    at one index. Each paging mode's documented low windows first (x64: 0x150000..0x2A0000 and
 *    0x650000..0x6F0000; PAE and non-PAE: 0x30000..0x1030000), then the rest of memory in
 *    chunks, with a progress callback; the scan stops after the first window or chunk that
 *    yields a confirmed candidate.
 *
 * Every process has such a table, and pages of junk can look alike, so each candidate is
 * confirmed by building its address space and translating KUSER_SHARED_DATA and, when a root is
 * given, by reading a plausible block there. Confirmed candidates are ranked by their evidence:
 * the root block, then KUSER_SHARED_DATA, then how many kernel-half entries the table has (a user
 * process's shadow table has next to none, a process whose kernel half is synced lazily fewer),
 * then the fewest user-half entries (the System process maps next to no user space: on 32-bit
 * Windows every process's table maps the whole kernel, so this is what tells them apart). A tie
 * that evidence decides, or cannot, is said in the summary.
 *
 * Paging modes plug in as strategies: `X64_STRATEGY` is the 4-level one, `PAE_STRATEGY` and
 * `NON_PAE_STRATEGY` the 32-bit ones. A strategy gives its low-stub reader (if any), its low
 * windows, its page test and the address space that confirms it (see DtbStrategy).
 */
import type { Location as LocationType, MemoryImage } from '../codec/image.js';
import { Location } from '../codec/image.js';
import { PagedImage } from '../codec/paged.js';
import { X86PagedImage } from './address-spaces/x86-paging.js';
import { PAGE_SIZE, type PhysicalMemory } from '../codec/physical.js';
import { CaptureError } from '../errors.js';
import { type Abi, X64, X86 } from '../layout/abi.js';
import { layoutOf } from '../layout/registry.js';
import type { DtbDiscoveryMethod, PagingMode } from './source.js';

/** The paging modes discovery can find (every one but 'none'). */
type TablePaging = Exclude<PagingMode, 'none'>;

/** What speaks for (or against) a candidate. */
export interface DtbEvidence {
  /** Present entries of the kernel half of the top-level table (the self-map entries not counted; PAE: of PD2 and PD3). */
  readonly kernelEntries: number;
  /** Present entries of the user half (PAE: of PD0 and PD1). */
  readonly userEntries: number;
  /** Index of the self-map entry, when the candidate was found by one (PAE: 3, PD3's entry that maps PD3). */
  readonly selfMapIndex: number | undefined;
  /** KUSER_SHARED_DATA translates to a stored frame. */
  readonly kuserSharedData: boolean;
  /** When a root was given: a block reads there (Header.Size is the block size); undefined without a root. */
  readonly rootBlock: boolean | undefined;
  /** Why the candidate was rejected, when it was. */
  readonly rejected: string | undefined;
}

export interface DtbCandidate {
  readonly dtb: bigint;
  readonly paging: TablePaging;
  /** The ABI the paging mode gives (x64 for 4-level paging; x86 for PAE and non-PAE). */
  readonly abi: Abi;
  readonly method: DtbDiscoveryMethod;
  /** Physical address of the page the candidate was found in (the stub's page, or the table's). */
  readonly foundAt: bigint;
  readonly evidence: DtbEvidence;
}

export interface DtbFound extends DtbCandidate {
  /** The candidates examined, the chosen one first, then by rank (rejected ones last; at most 64 of those are kept). */
  readonly candidates: readonly DtbCandidate[];
  /** Frames the scans read (the low stub's included; frames read to check a PAE candidate's directories not counted). */
  readonly framesScanned: number;
  /** Confirmed candidates as good as the chosen one by every piece of evidence (the lowest address was taken). */
  readonly ties: number;
  /**
   * One line for a user: "DTB 0x1ab000 (x64, self-map scan at 0x1ab000: self-map index 0x1ed, 12 kernel entries,
   * KUSER_SHARED_DATA mapped, root block read)", and what decided among equals, when it had to.
   */
  readonly summary: string;
}

/** A paging mode's part of the search. */
export interface DtbStrategy {
  readonly paging: TablePaging;
  /** The ABI of a kernel with this paging: the block size the root check reads. */
  readonly abi: Abi;
  /** KUSER_SHARED_DATA's fixed kernel address in this mode. */
  readonly kuserSharedData: bigint;
  /** Physical ranges [start, end) where this mode's kernel table usually is, scanned (in order) before the rest of memory (none: the full scan only). */
  readonly windows?: readonly { readonly start: number; readonly end: number }[];
  /** The DTB a low-stub page holds (`words`: the page as little-endian 32-bit words), or undefined. */
  lowStub?(words: Uint32Array, at: number): bigint | undefined;
  /**
   * The candidate DTBs in a page (`words` from index `at`, the page's physical address `address`),
   * with their self-map index and entry counts, or undefined. Must be cheap: it runs on every page.
   * `frame` reads another stored frame (cached), for tests that need more than the page.
   */
  selfMap(words: Uint32Array, at: number, address: number, frameLimit: number, frame: FrameLookup): readonly SelfMapHit[] | undefined;
  /** The address space a DTB gives (throws when the DTB is not usable). */
  open(physical: PhysicalMemory, dtb: bigint): MemoryImage;
}

/** Reads a stored frame's bytes, or undefined. */
export type FrameLookup = (pfn: number) => DataView | undefined;

export interface SelfMapHit {
  readonly dtb: bigint;
  /** The entry that maps the table itself. */
  readonly selfMapIndex: number | undefined;
  readonly kernelEntries: number;
  readonly userEntries: number;
}

export interface FindDtbOptions {
  /** A tree root the DTB must map: a candidate is confirmed only if a block reads there. */
  root?: bigint;
  /** Paging modes to look for, in order (default: x64). */
  strategies?: readonly DtbStrategy[];
  /** Called with physical bytes scanned so far and the total, about every 64 MiB of the full scan. */
  progress?: (done: number, total: number) => void;
  /** Skip the low stub (for tests, and for images whose stub is known to be stale). */
  noLowStub?: boolean;
}

// PROCESSOR_START_BLOCK, x64 (MemProcFS vmm/vmmwininit.c): the jump and CompletionFlag at 0x00,
// LmTarget at 0x70, the CR3 (ProcessorState.SpecialRegisters.Cr3) at 0xA0. Qword offsets in words.
const STUB = { Jmp: 0x00, LmTarget: 0x70, Cr3: 0xa0 } as const;
/** Where the stub may be: the pages from 0x1000 below 1 MiB. */
const STUB_WINDOW = { start: 0x1000, end: 0x100000 } as const;
/** Volatility's low windows for x64, looked at (in this order) before the rest of memory. */
export const SELF_MAP_WINDOWS: readonly { start: number; end: number }[] = [
  { start: 0x150000, end: 0x2a0000 },
  { start: 0x650000, end: 0x6f0000 },
];
/** Volatility's low window for PAE and non-PAE ("older windows fixed location"): 0x30000 and the 16 MiB after it. */
export const X86_SELF_MAP_WINDOWS: readonly { start: number; end: number }[] = [{ start: 0x30000, end: 0x1030000 }];
/** The full scan reads this many bytes at a time, confirming candidates after each chunk. */
const CHUNK = 64 << 20;
const READ = 256 << 10;
const TWO20 = 1048576;
/** Most candidates kept per chunk: junk self-maps are rare, but a hostile image could be full of them. */
const MAX_CANDIDATES = 64;

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

/**
 * x64 4-level paging. Self-map: exactly one present entry with index 0x100..0x1FE (0x1ED before
 * Windows 10 randomised it) points to the page itself, and no present entry has the reserved PS
 * bit (bit 7 of a PML4E) or points past the end of physical memory.
 */
export const X64_STRATEGY: DtbStrategy = {
  paging: 'x64',
  abi: X64,
  kuserSharedData: 0xfffff78000000000n,
  windows: SELF_MAP_WINDOWS,
  lowStub(w: Uint32Array, at: number): bigint | undefined {
    const j = at + STUB.Jmp / 4;
    if ((w[j]! & 0xffff00ff) !== 0x000600e9 || w[j + 1] !== 1) return undefined;
    const t = at + STUB.LmTarget / 4;
    if ((w[t]! & 3) !== 0 || (w[t + 1]! & 0xfffff800) >>> 0 !== 0xfffff800) return undefined;
    const c = at + STUB.Cr3 / 4;
    if ((w[c]! & 0xfff) !== 0 || (w[c + 1]! & 0xffffff00) !== 0) return undefined;
    const cr3 = (BigInt(w[c + 1]!) << 32n) | BigInt(w[c]!);
    return cr3 === 0n ? undefined : cr3;
  },
  selfMap(w: Uint32Array, at: number, address: number, frameLimit: number): readonly SelfMapHit[] | undefined {
    const pfn = address / PAGE_SIZE;
    const plo = (pfn % TWO20) * PAGE_SIZE; // the entry's low word holds PFN bits 0..19 at bits 12..31
    const phi = Math.floor(pfn / TWO20);
    // The cheap test first: a self-reference somewhere in the kernel half.
    let self = -1;
    for (let i = 0x100; i < 0x1ff; i++) {
      const lo = w[at + 2 * i]!;
      if ((lo & 1) !== 0 && (lo & 0xfffff000) >>> 0 === plo && (w[at + 2 * i + 1]! & 0xfffff) === phi) {
        if (self >= 0) return undefined; // two self-references: not a Windows PML4
        self = i;
      }
    }
    if (self < 0) return undefined;
    let kernelEntries = 0;
    let userEntries = 0;
    for (let i = 0; i < 512; i++) {
      const lo = w[at + 2 * i]!;
      if ((lo & 1) === 0) continue;
      if ((lo & 0x80) !== 0) return undefined; // PS is reserved in a PML4E
      const next = (w[at + 2 * i + 1]! & 0xfffff) * TWO20 + (lo >>> 12);
      if (next >= frameLimit) return undefined;
      if (i === self) continue;
      if (i >= 256) kernelEntries++;
      else userEntries++;
    }
    return [{ dtb: BigInt(address), selfMapIndex: self, kernelEntries, userEntries }];
  },
  open: (physical, dtb) => new PagedImage(physical, dtb, { tlbEntries: 16 }),
};

/** x86 KUSER_SHARED_DATA, PAE or not. */
const KUSER_X86 = 0xffdf0000n;
/** Non-PAE: the page directory maps itself at PD[0x300] (page tables at 0xC0000000, the directory at 0xC0300000). */
const NON_PAE_SELF_MAP = 0x300;
/** PAE: PD3[i] maps PD i (the directories at 0xC0600000), so PD3[3] maps PD3 itself. */
const PAE_SELF_MAP = 3;

/**
 * 32-bit 2-level paging. Self-map: PD[0x300] is present, not a 4 MiB page, and is the one entry
 * that points to the page itself; no present entry points past the end of physical memory or has
 * the reserved bit 21 of a 4 MiB PDE set.
 */
export const NON_PAE_STRATEGY: DtbStrategy = {
  paging: 'non-pae',
  abi: X86,
  kuserSharedData: KUSER_X86,
  windows: X86_SELF_MAP_WINDOWS,
  selfMap(w: Uint32Array, at: number, address: number, frameLimit: number): readonly SelfMapHit[] | undefined {
    const pfn = address / PAGE_SIZE;
    if (pfn >= TWO20) return undefined; // a page directory is below 4 GiB (CR3 has 32 bits)
    const e = w[at + NON_PAE_SELF_MAP]!;
    if ((e & 1) === 0 || (e & 0x80) !== 0 || e >>> 12 !== pfn) return undefined;
    let kernelEntries = 0;
    let userEntries = 0;
    for (let i = 0; i < 1024; i++) {
      const x = w[at + i]!;
      if ((x & 1) === 0) continue;
      if ((x & 0x80) !== 0) {
        if ((x & 0x200000) !== 0) return undefined;
      } else if (x >>> 12 >= frameLimit) return undefined;
      else if (x >>> 12 === pfn && i !== NON_PAE_SELF_MAP) return undefined; // a second self-reference
      if (i === NON_PAE_SELF_MAP) continue;
      if (i >= 0x200) kernelEntries++;
      else userEntries++;
    }
    return [{ dtb: BigInt(address), selfMapIndex: NON_PAE_SELF_MAP, kernelEntries, userEntries }];
  },
  open: (physical, dtb) => new X86PagedImage(physical, dtb, { paging: 'non-pae', tlbEntries: 16 }),
};

/** A PAE entry's frame when it is present with no reserved bit (PDPTE: bits 2..1, 8..5; PDE pointing to a table: PS clear), else -1. */
function paeFrame(lo: number, hi: number, pdpte: boolean): number {
  if ((lo & 1) === 0 || (hi & 0x7ff00000) !== 0) return -1;
  if (pdpte ? (lo & 0x1e6) !== 0 || (hi & 0x80000000) !== 0 : (lo & 0x80) !== 0) return -1;
  return (hi & 0xfffff) * TWO20 + (lo >>> 12);
}

/** Present entries of a PAE page directory, not counting `skip` (PD3's four self-map entries). */
function presentPdes(pd: DataView, skip: number): number {
  let n = 0;
  for (let i = skip; i < 512; i++) if ((pd.getUint32(i * 8, true) & 1) !== 0) n++;
  return n;
}

/**
 * PAE 3-level paging. The DTB is a 32-byte PDPT, anywhere in a page (Windows keeps several
 * processes' in one page; the boot PDPT is page aligned with its directories in the next four
 * frames), so the page test looks at every slot: four present PDPTEs with no reserved bit, to
 * four distinct frames inside memory, and behind PDPTE 3 the Windows self-map (PD3[i] points to
 * PD i, so PD3[3] is the one entry of PD3 that points to PD3 itself). That self-map is what a
 * slot of junk lacks. Each process has one, so the counts rank them: kernel entries (PD2 and PD3,
 * the self-map not counted), then the fewest user entries (PD0 and PD1).
 */
export const PAE_STRATEGY: DtbStrategy = {
  paging: 'pae',
  abi: X86,
  kuserSharedData: KUSER_X86,
  windows: X86_SELF_MAP_WINDOWS,
  selfMap(w: Uint32Array, at: number, address: number, frameLimit: number, frame: FrameLookup): readonly SelfMapHit[] | undefined {
    if (address >= 2 ** 32) return undefined; // CR3 has 32 bits
    let hits: SelfMapHit[] | undefined;
    slots: for (let slot = 0; slot < PAGE_SIZE / 32; slot++) {
      const b = at + slot * 8;
      // The cheap test first: PDPTE 3 present with no reserved low bit.
      if ((w[b + 6]! & 0x1e7) !== 1) continue;
      const pfns: number[] = [];
      for (let i = 0; i < 4; i++) {
        const pfn = paeFrame(w[b + 2 * i]!, w[b + 2 * i + 1]!, true);
        if (pfn <= 0 || pfn >= frameLimit || pfns.includes(pfn)) continue slots;
        pfns.push(pfn);
      }
      // PD3 maps PD0..PD3 at its entries 0..3, and points to itself nowhere else.
      const pd3 = frame(pfns[3]!);
      if (!pd3) continue;
      for (let i = 0; i < 4; i++) if (paeFrame(pd3.getUint32(i * 8, true), pd3.getUint32(i * 8 + 4, true), false) !== pfns[i]) continue slots;
      for (let i = 4; i < 512; i++) if (paeFrame(pd3.getUint32(i * 8, true), pd3.getUint32(i * 8 + 4, true), false) === pfns[3]) continue slots;
      const kernel = presentPdes(pd3, 4);
      const pd2 = frame(pfns[2]!);
      const pd0 = frame(pfns[0]!);
      const pd1 = frame(pfns[1]!);
      (hits ??= []).push({
        dtb: BigInt(address + slot * 32),
        selfMapIndex: PAE_SELF_MAP,
        kernelEntries: kernel + (pd2 ? presentPdes(pd2, 0) : 0),
        userEntries: (pd0 ? presentPdes(pd0, 0) : 0) + (pd1 ? presentPdes(pd1, 0) : 0),
      });
    }
    return hits;
  },
  open: (physical, dtb) => new X86PagedImage(physical, dtb, { paging: 'pae', tlbEntries: 16 }),
};

/** The default search: x64 only (findDtb's callers add the x86 strategies when the machine may be 32-bit). */
export const DTB_STRATEGIES: readonly DtbStrategy[] = [X64_STRATEGY];
/** Every paging mode, x64 first: for an image that says nothing of its machine. */
export const ALL_DTB_STRATEGIES: readonly DtbStrategy[] = [X64_STRATEGY, PAE_STRATEGY, NON_PAE_STRATEGY];

interface Pending {
  dtb: bigint;
  strategy: DtbStrategy;
  method: DtbDiscoveryMethod;
  foundAt: bigint;
  hit: SelfMapHit | undefined;
}

type Range = { start: number; end: number };

/** The strategies' windows in order, clipped to `limit`, each without what an earlier one covered: disjoint, in scan order. */
function lowWindows(strategies: readonly DtbStrategy[], limit: number): Range[] {
  const out: Range[] = [];
  for (const s of strategies) {
    for (const w of s.windows ?? []) {
      let parts: Range[] = [{ start: Math.min(w.start, limit), end: Math.min(w.end, limit) }];
      for (const o of out) {
        parts = parts.flatMap((p) => {
          if (o.end <= p.start || o.start >= p.end) return [p];
          return [
            { start: p.start, end: o.start },
            { start: o.end, end: p.end },
          ].filter((q) => q.end > q.start);
        });
      }
      out.push(...parts.filter((p) => p.end > p.start));
    }
  }
  return out;
}

/**
 * The kernel DTB of a raw physical image, with the evidence for it. Throws CaptureError when no
 * candidate is confirmed, naming the best rejected ones.
 */
export function findDtb(physical: PhysicalMemory, options: FindDtbOptions = {}): DtbFound {
  const strategies = options.strategies ?? DTB_STRATEGIES;
  const limit = physical.frameLimit * PAGE_SIZE;
  const all: DtbCandidate[] = [];
  const stubDtbs = new Set<string>();
  const buffer = new Uint8Array(READ);
  const words = new Uint32Array(buffer.buffer);
  const loc = new Location();
  let framesScanned = 0;
  let rejectedKept = 0;
  let rejectedSeen = 0;
  const frameView: FrameLookup = (pfn) => physical.frame(pfn)?.view;

  /** Reads [start, end) of physical memory in pieces; calls `page` on each stored page. */
  const scanRange = (start: number, end: number, page: (at: number, address: number) => boolean): boolean => {
    for (let a = start; a < end; a += READ) {
      const n = Math.min(READ, end - a);
      // A piece whose pages are contiguous in the file is one read; otherwise page by page.
      const first = physical.fileOffsetOf(a / PAGE_SIZE);
      const lastPfn = (a + n) / PAGE_SIZE - 1;
      const contiguous = first !== undefined && physical.fileOffsetOf(lastPfn) === first + n - PAGE_SIZE && physical.hasFrame(lastPfn);
      if (contiguous && physical.extent(a / PAGE_SIZE, n / PAGE_SIZE, true) === n / PAGE_SIZE) {
        if (physical.source.read(buffer.subarray(0, n), first) !== n) continue;
        for (let p = 0; p < n; p += PAGE_SIZE) {
          framesScanned++;
          if (page(p / 4, a + p)) return true;
        }
      } else {
        for (let p = 0; p < n; p += PAGE_SIZE) {
          const pfn = (a + p) / PAGE_SIZE;
          const off = physical.fileOffsetOf(pfn);
          if (off === undefined || !physical.hasFrame(pfn)) continue;
          if (physical.source.read(buffer.subarray(0, PAGE_SIZE), off) !== PAGE_SIZE) continue;
          framesScanned++;
          if (page(0, a + p)) return true;
        }
      }
    }
    return false;
  };

  const confirm = (c: Pending): DtbCandidate => {
    const s = c.strategy;
    let rejected: string | undefined;
    let kuser = false;
    let rootBlock: boolean | undefined;
    try {
      const image = s.open(physical, c.dtb);
      kuser = image.locate(s.kuserSharedData, 1, loc);
      if (!kuser) rejected = `KUSER_SHARED_DATA (${hex(s.kuserSharedData)}) ${image.explain(s.kuserSharedData, 1)}`;
      if (options.root !== undefined) {
        rootBlock = readsBlock(image, options.root, s.abi, loc);
        if (!rootBlock && !rejected) rejected = `no block at the root ${hex(options.root)}: ${rootWhy(image, options.root, s.abi)}`;
      }
    } catch (e) {
      rejected = e instanceof Error ? e.message : String(e);
    }
    return {
      dtb: c.dtb,
      paging: s.paging,
      abi: s.abi,
      method: c.method,
      foundAt: c.foundAt,
      evidence: {
        kernelEntries: c.hit?.kernelEntries ?? 0,
        userEntries: c.hit?.userEntries ?? 0,
        selfMapIndex: c.hit?.selfMapIndex,
        kuserSharedData: kuser,
        rootBlock,
        rejected,
      },
    };
  };

  /** Confirms the pending candidates; the confirmed ones, best first. */
  const settle = (pending: Pending[]): DtbCandidate[] => {
    const confirmed: DtbCandidate[] = [];
    for (const p of pending) {
      const c = confirm(p);
      if (c.evidence.rejected) rejectedSeen++;
      // Rejected ones are kept for the report up to a bound: an image full of junk costs time, not memory.
      if (!c.evidence.rejected || rejectedKept++ < MAX_CANDIDATES) all.push(c);
      if (!c.evidence.rejected) confirmed.push(c);
    }
    pending.length = 0;
    return confirmed.sort(byEvidence);
  };

  const done = (confirmed: readonly DtbCandidate[]): DtbFound => {
    const chosen = confirmed[0]!;
    const rest = all.filter((c) => c !== chosen).sort(byEvidence);
    const ties = confirmed.slice(1).filter((c) => rankOf(c).every((v, i) => v === rankOf(chosen)[i])).length;
    return { ...chosen, candidates: [chosen, ...rest], framesScanned, ties, summary: summarise(chosen, confirmed[1], ties) };
  };

  /** The stub's table read like a scanned one, for its entry counts (undefined when it does not self-map). */
  const tableFacts = (s: DtbStrategy, dtb: bigint): SelfMapHit | undefined => {
    const page = Number(dtb) - (Number(dtb) % PAGE_SIZE);
    const f = physical.frame(page / PAGE_SIZE);
    if (!f) return undefined;
    const copy = new Uint32Array(PAGE_SIZE / 4);
    new Uint8Array(copy.buffer).set(f.bytes);
    return s.selfMap(copy, 0, page, physical.frameLimit, frameView)?.find((h) => h.dtb === dtb);
  };
  const pending: Pending[] = [];
  const add = (p: Pending): boolean => {
    // Each page is scanned once; only a table the stub named can come up twice.
    const key = `${p.strategy.paging}:${p.dtb}`;
    if (stubDtbs.has(key)) return false;
    if (p.method === 'low-stub') stubDtbs.add(key);
    pending.push(p);
    return pending.length >= MAX_CANDIDATES;
  };

  // 1. The low stub.
  if (!options.noLowStub && strategies.some((s) => s.lowStub)) {
    scanRange(STUB_WINDOW.start, Math.min(STUB_WINDOW.end, limit), (at, address) => {
      for (const s of strategies) {
        const dtb = s.lowStub?.(words, at);
        if (dtb !== undefined) add({ dtb, strategy: s, method: 'low-stub', foundAt: BigInt(address), hit: tableFacts(s, dtb) });
      }
      return false;
    });
    const stub = settle(pending);
    if (stub.length) return done(stub);
  }

  // 2. Self-map scans: the low windows, then everything else in chunks.
  const pageTest = (at: number, address: number): boolean => {
    // A page's candidates are all taken, even past the cap (a PAE page holds at most 128).
    let full = false;
    for (const s of strategies) {
      for (const hit of s.selfMap(words, at, address, physical.frameLimit, frameView) ?? []) {
        if (add({ dtb: hit.dtb, strategy: s, method: 'self-map', foundAt: BigInt(address), hit })) full = true;
      }
    }
    return full;
  };
  const scanWithCap = (start: number, end: number): DtbCandidate[] | undefined => {
    // A chunk full of junk candidates is settled as it fills, and the scan goes on.
    let from = start;
    while (from < end) {
      let stoppedAt = end;
      scanRange(from, end, (at, address) => {
        if (pageTest(at, address)) {
          stoppedAt = address + PAGE_SIZE;
          return true;
        }
        return false;
      });
      const best = settle(pending);
      if (best.length) return best;
      from = stoppedAt;
    }
    return undefined;
  };
  const windows = lowWindows(strategies, limit);
  for (const w of windows) {
    const best = scanWithCap(w.start, w.end);
    if (best) return done(best);
  }
  const total = limit;
  const covered = [...windows].sort((x, y) => x.start - y.start);
  for (let a = 0; a < limit; a += CHUNK) {
    const end = Math.min(limit, a + CHUNK);
    // The windows already looked at are skipped.
    let from = a;
    for (const w of covered) {
      if (w.end <= from || w.start >= end) continue;
      if (w.start > from) {
        const best = scanWithCap(from, w.start);
        if (best) return done(best);
      }
      from = Math.max(from, w.end);
    }
    if (from < end) {
      const best = scanWithCap(from, end);
      if (best) return done(best);
    }
    options.progress?.(end, total);
  }

  const best = all.sort(byEvidence).slice(0, 3);
  const why = best.length === 0 ? 'no page of it is a top-level page table that maps itself' : `${rejectedSeen} candidate(s), none confirmed: ${best.map((c) => `${hex(c.dtb)} (${c.evidence.rejected})`).join('; ')}`;
  throw new CaptureError('DTB discovery', 0, `no kernel DirectoryTableBase found in ${physical.describe()} (${framesScanned} frames scanned): ${why}; give it with --dtb`);
}

/** What ranks a candidate, most telling first (higher is better): confirmed, root block, KUSER_SHARED_DATA, kernel entries, fewest user entries, the stub. */
function rankOf(c: DtbCandidate): number[] {
  const e = c.evidence;
  return [e.rejected ? 0 : 1, e.rootBlock ? 1 : 0, e.kuserSharedData ? 1 : 0, e.kernelEntries, -e.userEntries, c.method === 'low-stub' ? 1 : 0];
}

/** By rank; lower addresses first among equals. */
function byEvidence(a: DtbCandidate, b: DtbCandidate): number {
  const x = rankOf(a);
  const y = rankOf(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return y[i]! - x[i]!;
  return a.dtb < b.dtb ? -1 : a.dtb > b.dtb ? 1 : 0;
}

const blockSizes = new Map<Abi, { size: number; sizeAt: number }>();
function blockOf(abi: Abi): { size: number; sizeAt: number } {
  let b = blockSizes.get(abi);
  if (!b) {
    const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi);
    const header = layoutOf('NDIS_OBJECT_HEADER', abi);
    const at = (l: typeof block, name: string): number => l.fields.find((f) => f.name === name)!.offset;
    b = { size: block.size, sizeAt: at(block, 'Header') + at(header, 'Size') };
    blockSizes.set(abi, b);
  }
  return b;
}

/** A block reads at `root`: its Header.Size is the block size of the ABI. */
function readsBlock(image: MemoryImage, root: bigint, abi: Abi, loc: LocationType): boolean {
  const b = blockOf(abi);
  return image.locate(root, b.size, loc) && loc.view.getUint16(loc.offset + b.sizeAt, true) === b.size;
}

function rootWhy(image: MemoryImage, root: bigint, abi: Abi): string {
  const b = blockOf(abi);
  const how = image.explain(root, b.size);
  return how === 'is readable' ? `its Header.Size is not ${b.size}` : `it ${how}`;
}

/** The summary line; `next` is the runner-up among the confirmed, `ties` how many equal the chosen one. */
function summarise(c: DtbCandidate, next: DtbCandidate | undefined, ties: number): string {
  const e = c.evidence;
  const how = c.method === 'low-stub' ? `low stub (PROCESSOR_START_BLOCK) at ${hex(c.foundAt)}` : c.paging === 'pae' ? `PDPT scan in the page at ${hex(c.foundAt)}` : `self-map scan at ${hex(c.foundAt)}`;
  const facts = [
    ...(e.selfMapIndex !== undefined ? [`${c.paging === 'pae' ? 'PD3 ' : ''}self-map index ${hex(e.selfMapIndex)}`, `${e.kernelEntries} kernel entries`] : []),
    e.kuserSharedData ? 'KUSER_SHARED_DATA mapped' : 'KUSER_SHARED_DATA not mapped',
    ...(e.rootBlock === undefined ? [] : [e.rootBlock ? 'root block read' : 'no root block']),
  ];
  let decided = '';
  if (ties > 0) decided = `; ${ties} other confirmed candidate${ties === 1 ? '' : 's'} with the same evidence: the lowest address taken`;
  else if (next && rankOf(next).slice(0, 4).every((v, i) => v === rankOf(c)[i]) && next.evidence.userEntries !== e.userEntries) {
    // Equal up to the user half: the table that maps the least user space (the System process's).
    decided = `; chosen over ${hex(next.dtb)}, which maps the kernel alike, for its fewer user entries (${e.userEntries} against ${next.evidence.userEntries})`;
  }
  return `DTB ${hex(c.dtb)} (${c.paging}, ${how}: ${facts.join(', ')})${decided}`;
}
