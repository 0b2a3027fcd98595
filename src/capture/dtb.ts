/**
 * Finding the kernel DirectoryTableBase of a raw physical image, which records no CPU state:
 *
 * 1. The low stub. On real hardware Windows leaves a PROCESSOR_START_BLOCK (the real-mode
 *    trampoline the other processors start from) in a page below 1 MiB; it holds the kernel's
 *    CR3. Its signature is a near jump with CompletionFlag 1, a kernel-mode LmTarget and a
 *    page-aligned CR3 (MemProcFS `vmm/vmmwininit.c`). Often absent in virtual machines.
 * 2. Self-map scans (Volatility 3 `automagic/windows.py`): a top-level table that maps itself
 *    at one index. The documented low windows first, then the rest of memory in chunks, with a
 *    progress callback; the scan stops after the first chunk that yields a confirmed candidate.
 *
 * Every process has such a table, and pages of junk can look alike, so each candidate is
 * confirmed by building its address space and translating KUSER_SHARED_DATA and, when a root is
 * given, by reading a plausible block there. Confirmed candidates are ranked by their evidence:
 * the root block, then KUSER_SHARED_DATA, then how many kernel-half entries the table has (a user
 * process's shadow table has next to none).
 *
 * Paging modes plug in as strategies: `X64_STRATEGY` is the 4-level one. A PAE or non-PAE
 * strategy gives its own low-stub reader (if any), its page test and the address space that
 * confirms it (see DtbStrategy).
 */
import type { Location as LocationType, MemoryImage } from '../codec/image.js';
import { Location } from '../codec/image.js';
import { PagedImage } from '../codec/paged.js';
import { X86PagedImage } from './address-spaces/x86-paging.js';
import { PAGE_SIZE, type PhysicalMemory } from '../codec/physical.js';
import { CaptureError } from '../errors.js';
import { type Abi, X64, X86 } from '../layout/abi.js';
import { layoutOf } from '../layout/registry.js';

export type PagingMode = 'x64' | 'pae' | 'non-pae';
export type DtbSource = 'low-stub' | 'self-map';

/** What speaks for (or against) a candidate. */
export interface DtbEvidence {
  /** Present entries of the kernel half of the top-level table (the self-map entry not counted). */
  readonly kernelEntries: number;
  /** Present entries of the user half. */
  readonly userEntries: number;
  /** Index of the self-map entry, when the candidate was found by one. */
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
  readonly paging: PagingMode;
  /** The ABI the paging mode gives (x64 for 4-level paging; x86 for PAE and non-PAE). */
  readonly abi: Abi;
  readonly source: DtbSource;
  /** Physical address of the page the candidate was found in (the stub's page, or the table itself). */
  readonly foundAt: bigint;
  readonly evidence: DtbEvidence;
}

export interface DtbFound extends DtbCandidate {
  /** The candidates examined, the chosen one first, then by rank (rejected ones last; at most 64 of those are kept). */
  readonly candidates: readonly DtbCandidate[];
  /** Frames the scans read (the low stub's included). */
  readonly framesScanned: number;
  /** One line for a user: "DTB 0x1ab000 (x64, self-map scan at 0x1ab000: self-map index 0x1ed, 12 kernel entries, KUSER_SHARED_DATA mapped, root block read)". */
  readonly summary: string;
}

/** A paging mode's part of the search. */
export interface DtbStrategy {
  readonly paging: PagingMode;
  /** The ABI of a kernel with this paging: the block size the root check reads. */
  readonly abi: Abi;
  /** KUSER_SHARED_DATA's fixed kernel address in this mode. */
  readonly kuserSharedData: bigint;
  /** The DTB a low-stub page holds (`words`: the page as little-endian 32-bit words), or undefined. */
  lowStub?(words: Uint32Array, at: number): bigint | undefined;
  /**
   * The candidate DTB in a page (`words` from index `at`, the page's physical address `address`),
   * with its self-map index and entry counts, or undefined. Must be cheap: it runs on every page.
   */
  selfMap(words: Uint32Array, at: number, address: number, frameLimit: number): SelfMapHit | undefined;
  /** The address space a DTB gives (throws when the DTB is not usable). */
  open(physical: PhysicalMemory, dtb: bigint): MemoryImage;
}

export interface SelfMapHit {
  readonly dtb: bigint;
  /** The entry that maps the table itself; undefined for PAE, whose PDPT is found, not a self-map. */
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
/** Volatility's low windows, looked at (in this order) before the rest of memory. */
export const SELF_MAP_WINDOWS: readonly { start: number; end: number }[] = [
  { start: 0x150000, end: 0x2a0000 },
  { start: 0x650000, end: 0x6f0000 },
];
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
  selfMap(w: Uint32Array, at: number, address: number, frameLimit: number): SelfMapHit | undefined {
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
    return { dtb: BigInt(address), selfMapIndex: self, kernelEntries, userEntries };
  },
  open: (physical, dtb) => new PagedImage(physical, dtb, { tlbEntries: 16 }),
};

/** x86 KUSER_SHARED_DATA, PAE or not. */
const KUSER_X86 = 0xffdf0000n;
/** Non-PAE: the page directory maps itself at PD[0x300] (page tables at 0xC0000000, the directory at 0xC0300000). */
const NON_PAE_SELF_MAP = 0x300;

/**
 * 32-bit 2-level paging. Self-map: PD[0x300] is present, not a 4 MiB page, and points to the page
 * itself; no present entry points past the end of physical memory or has the reserved bit 21 of
 * a 4 MiB PDE set.
 */
export const NON_PAE_STRATEGY: DtbStrategy = {
  paging: 'non-pae',
  abi: X86,
  kuserSharedData: KUSER_X86,
  selfMap(w: Uint32Array, at: number, address: number, frameLimit: number): SelfMapHit | undefined {
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
      if (i === NON_PAE_SELF_MAP) continue;
      if (i >= 0x200) kernelEntries++;
      else userEntries++;
    }
    return { dtb: BigInt(address), selfMapIndex: NON_PAE_SELF_MAP, kernelEntries, userEntries };
  },
  open: (physical, dtb) => new X86PagedImage(physical, dtb, { paging: 'non-pae', tlbEntries: 16 }),
};

/**
 * PAE 3-level paging. The DTB is a 32-byte PDPT, anywhere in a page (Windows keeps several
 * processes' in one page), so the scan looks for one: four present entries with no reserved bit
 * (bits 2..1, 8..5 and 63..52) pointing to four distinct frames inside memory. Any process's PDPT
 * maps the kernel half on 32-bit Windows; KUSER_SHARED_DATA and the root confirm it. The first
 * such slot of a page is the candidate.
 */
export const PAE_STRATEGY: DtbStrategy = {
  paging: 'pae',
  abi: X86,
  kuserSharedData: KUSER_X86,
  selfMap(w: Uint32Array, at: number, address: number, frameLimit: number): SelfMapHit | undefined {
    if (address >= 2 ** 32) return undefined; // CR3 has 32 bits
    slots: for (let slot = 0; slot < PAGE_SIZE / 32; slot++) {
      const b = at + slot * 8;
      // The cheap test first: PDPTE 0 present with no reserved low bit.
      if ((w[b]! & 0x1e7) !== 1) continue;
      const pfns: number[] = [];
      for (let i = 0; i < 4; i++) {
        const lo = w[b + 2 * i]!;
        const hi = w[b + 2 * i + 1]!;
        if ((lo & 0x1e7) !== 1 || (hi & 0xfff00000) !== 0) continue slots;
        const pfn = (hi & 0xfffff) * TWO20 + (lo >>> 12);
        if (pfn === 0 || pfn >= frameLimit || pfns.includes(pfn)) continue slots;
        pfns.push(pfn);
      }
      return { dtb: BigInt(address + slot * 32), selfMapIndex: undefined, kernelEntries: 2, userEntries: 2 };
    }
    return undefined;
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
  source: DtbSource;
  foundAt: bigint;
  hit: SelfMapHit | undefined;
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
      source: c.source,
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

  /** Confirms the pending candidates; the best confirmed one, if any. */
  const settle = (pending: Pending[]): DtbCandidate | undefined => {
    const confirmed: DtbCandidate[] = [];
    for (const p of pending) {
      const c = confirm(p);
      if (c.evidence.rejected) rejectedSeen++;
      // Rejected ones are kept for the report up to a bound: an image full of junk costs time, not memory.
      if (!c.evidence.rejected || rejectedKept++ < MAX_CANDIDATES) all.push(c);
      if (!c.evidence.rejected) confirmed.push(c);
    }
    pending.length = 0;
    confirmed.sort(byEvidence);
    return confirmed[0];
  };

  const done = (chosen: DtbCandidate): DtbFound => {
    const rest = all.filter((c) => c !== chosen).sort(byEvidence);
    return { ...chosen, candidates: [chosen, ...rest], framesScanned, summary: summarise(chosen) };
  };

  /** The stub's table read like a scanned one, for its entry counts (undefined when it does not self-map). */
  const tableFacts = (s: DtbStrategy, dtb: bigint): SelfMapHit | undefined => {
    const page = Number(dtb) - (Number(dtb) % PAGE_SIZE);
    const f = physical.frame(page / PAGE_SIZE);
    if (!f) return undefined;
    const copy = new Uint32Array(PAGE_SIZE / 4);
    new Uint8Array(copy.buffer).set(f.bytes);
    return s.selfMap(copy, 0, page, physical.frameLimit);
  };
  const pending: Pending[] = [];
  const add = (p: Pending): boolean => {
    // Each page is scanned once; only a table the stub named can come up twice.
    const key = `${p.strategy.paging}:${p.dtb}`;
    if (stubDtbs.has(key)) return false;
    if (p.source === 'low-stub') stubDtbs.add(key);
    pending.push(p);
    return pending.length >= MAX_CANDIDATES;
  };

  // 1. The low stub.
  if (!options.noLowStub && strategies.some((s) => s.lowStub)) {
    scanRange(STUB_WINDOW.start, Math.min(STUB_WINDOW.end, limit), (at, address) => {
      for (const s of strategies) {
        const dtb = s.lowStub?.(words, at);
        if (dtb !== undefined) add({ dtb, strategy: s, source: 'low-stub', foundAt: BigInt(address), hit: tableFacts(s, dtb) });
      }
      return false;
    });
    const stub = settle(pending);
    if (stub) return done(stub);
  }

  // 2. Self-map scans: the low windows, then everything else in chunks.
  const pageTest = (at: number, address: number): boolean => {
    for (const s of strategies) {
      const hit = s.selfMap(words, at, address, physical.frameLimit);
      if (hit && add({ dtb: hit.dtb, strategy: s, source: 'self-map', foundAt: BigInt(address), hit })) return true;
    }
    return false;
  };
  const scanWithCap = (start: number, end: number): DtbCandidate | undefined => {
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
      if (best) return best;
      from = stoppedAt;
    }
    return undefined;
  };
  const windows = SELF_MAP_WINDOWS.map((w) => ({ start: Math.min(w.start, limit), end: Math.min(w.end, limit) })).filter((w) => w.end > w.start);
  for (const w of windows) {
    const best = scanWithCap(w.start, w.end);
    if (best) return done(best);
  }
  const total = limit;
  let scanned = 0;
  for (let a = 0; a < limit; a += CHUNK) {
    const end = Math.min(limit, a + CHUNK);
    // The windows already looked at are skipped.
    let from = a;
    for (const w of [...windows].sort((x, y) => x.start - y.start)) {
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
    scanned = end;
    options.progress?.(scanned, total);
  }

  const best = all.sort(byEvidence).slice(0, 3);
  const why = best.length === 0 ? 'no page of it is a top-level page table that maps itself' : `${rejectedSeen} candidate(s), none confirmed: ${best.map((c) => `${hex(c.dtb)} (${c.evidence.rejected})`).join('; ')}`;
  throw new CaptureError('DTB discovery', 0, `no kernel DirectoryTableBase found in ${physical.describe()} (${framesScanned} frames scanned): ${why}; give it with --dtb`);
}

/** Confirmed first; then the root block, KUSER_SHARED_DATA, kernel entries; the stub before scans; lower addresses first. */
function byEvidence(a: DtbCandidate, b: DtbCandidate): number {
  const r = (c: DtbCandidate): number => (c.evidence.rejected ? 0 : 1);
  const e = (c: DtbCandidate): number[] => [r(c), c.evidence.rootBlock ? 1 : 0, c.evidence.kuserSharedData ? 1 : 0, c.evidence.kernelEntries, c.source === 'low-stub' ? 1 : 0];
  const x = e(a);
  const y = e(b);
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

function summarise(c: DtbCandidate): string {
  const e = c.evidence;
  const how = c.source === 'low-stub' ? `low stub (PROCESSOR_START_BLOCK) at ${hex(c.foundAt)}` : c.paging === 'pae' ? `PDPT scan in the page at ${hex(c.foundAt)}` : `self-map scan at ${hex(c.foundAt)}`;
  const facts = [
    ...(e.selfMapIndex !== undefined ? [`self-map index ${hex(e.selfMapIndex)}`, `${e.kernelEntries} kernel entries`] : []),
    e.kuserSharedData ? 'KUSER_SHARED_DATA mapped' : 'KUSER_SHARED_DATA not mapped',
    ...(e.rootBlock === undefined ? [] : [e.rootBlock ? 'root block read' : 'no root block']),
  ];
  return `DTB ${hex(c.dtb)} (${c.paging}, ${how}: ${facts.join(', ')})`;
}
