/**
 * Writes synthetic address spaces (dump-builder.ts) as crash dumps (full, bitmap, RDMP) or raw physical
 * images: for tests, fixtures, and users who want a dump of known content.
 */
import { nodeFs } from './node-fs.js';
import { UsageError } from '../errors.js';
import type { AddressSpace } from './dump-builder.js';
import type { PhysicalRun } from './dump-pages.js';
import { BMP, HDR, RDMP, RDMP_MARKER, dateToFiletime } from './dump.js';
import { PAGE_SIZE } from './physical.js';

export { buildAddressSpace, type AddressSpace, type AddressSpaceOptions, type PageSize, type WriterRegion } from './dump-builder.js';

export interface DumpHeaderOptions {
  majorVersion?: number;
  minorVersion?: number;
  processors?: number;
  bugCheckCode?: number;
  bugCheckParameters?: readonly [bigint, bigint, bigint, bigint];
  systemTime?: Date;
  /** 100 ns units. */
  systemUpTime?: bigint;
  comment?: string;
  kdDebuggerDataBlock?: bigint;
  psLoadedModuleList?: bigint;
  psActiveProcessHead?: bigint;
  pfnDataBase?: bigint;
}

export interface BitmapDumpOptions extends DumpHeaderOptions {
  /** Store every RAM page (zero pages too), as a complete bitmap dump does: the file gets big but sparse. */
  storeAll?: boolean;
  /** 'SDMP' (kernel, default) or 'FDMP' (full). */
  signature?: 'SDMP' | 'FDMP';
  /** DumpType: 5 (default) or 6 (live kernel bitmap dump). */
  dumpType?: 5 | 6;
}

export interface RdmpDumpOptions extends DumpHeaderOptions {
  /** 8 kernel (`.dump /k`, default), 9 kernel and user (`.dump /ka`), 10 complete (`.dump /f`). */
  dumpType?: 8 | 9 | 10;
  /**
   * Which pages are stored: 'frames' (those with content, in ranges of adjacent PFNs; default for
   * 8 and 9) or 'ram' (every page of every RAM run, one range per run; default for 10).
   */
  store?: 'frames' | 'ram';
  /** Write the ranges from the highest PFN down (readers must not assume ascending order). */
  descending?: boolean;
  /**
   * Pad the metadata with zero ranges so that the first page is page aligned (default true); false
   * puts the pages right after the Pfn-0 terminator.
   */
  alignPages?: boolean;
}

/** A serialised image: pieces at file offsets, zeros in between (sparse on disk). */
export class SerialisedImage {
  constructor(
    readonly size: number,
    readonly chunks: readonly { readonly offset: number; readonly bytes: Uint8Array }[],
  ) {}

  toBytes(): Uint8Array {
    if (this.size > 2 ** 31) throw new UsageError(`${this.size} bytes is too large for one buffer: use toFile()`);
    const out = new Uint8Array(this.size);
    for (const c of this.chunks) out.set(c.bytes, c.offset);
    return out;
  }

  /** Writes only the chunks: the holes stay sparse on file systems that support it. */
  toFile(path: string): void {
    const { closeSync, ftruncateSync, openSync, writeSync } = nodeFs();
    const fd = openSync(path, 'w');
    try {
      ftruncateSync(fd, this.size);
      for (const c of this.chunks) writeSync(fd, c.bytes, 0, c.bytes.length, c.offset);
    } finally {
      closeSync(fd);
    }
  }
}

const runPages = (space: AddressSpace): number => space.runs.reduce((n, r) => n + r.pageCount, 0);
const inRuns = (space: AddressSpace, pfn: number): boolean => space.runs.some((r) => pfn >= r.basePage && pfn < r.basePage + r.pageCount);

/** The 0x2000-byte DUMP_HEADER64, unused bytes filled with "PAGE" as Windows does. */
function header(space: AddressSpace, dumpType: number, size: number, o: DumpHeaderOptions): Uint8Array {
  const b = new Uint8Array(HDR.Size);
  for (let i = 0; i < b.length; i += 4) b.set([0x50, 0x41, 0x47, 0x45], i);
  const v = new DataView(b.buffer);
  const u32 = (at: number, x: number): void => v.setUint32(at, x, true);
  const u64 = (at: number, x: bigint): void => v.setBigUint64(at, x, true);
  b.set([0x44, 0x55, 0x36, 0x34], HDR.ValidDump); // DU64
  u32(HDR.MajorVersion, o.majorVersion ?? 0xf);
  u32(HDR.MinorVersion, o.minorVersion ?? 19041);
  u64(HDR.DirectoryTableBase, space.dtb);
  u64(HDR.PfnDataBase, o.pfnDataBase ?? 0xffffe80000000000n);
  u64(HDR.PsLoadedModuleList, o.psLoadedModuleList ?? 0xfffff8034a22a2d0n);
  u64(HDR.PsActiveProcessHead, o.psActiveProcessHead ?? 0xfffff8034a21e080n);
  u32(HDR.MachineImageType, 0x8664);
  u32(HDR.NumberProcessors, o.processors ?? 4);
  u32(HDR.BugCheckCode, o.bugCheckCode ?? 0xe2); // MANUALLY_INITIATED_CRASH
  (o.bugCheckParameters ?? [0n, 0n, 0n, 0n]).forEach((p, i) => u64(HDR.BugCheckParameters + 8 * i, p));
  u64(HDR.KdDebuggerDataBlock, o.kdDebuggerDataBlock ?? 0xfffff8034a000b20n);
  u32(HDR.NumberOfRuns, space.runs.length);
  u32(HDR.NumberOfRuns + 4, 0);
  u64(HDR.NumberOfPages, BigInt(runPages(space)));
  space.runs.forEach((r, k) => {
    u64(HDR.Runs + 16 * k, BigInt(r.basePage));
    u64(HDR.Runs + 16 * k + 8, BigInt(r.pageCount));
  });
  u32(HDR.DumpType, dumpType);
  u64(HDR.RequiredDumpSpace, BigInt(size));
  u64(HDR.SystemTime, dateToFiletime(o.systemTime ?? new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))));
  if (o.comment !== undefined) {
    const c = Buffer.from(o.comment.slice(0, 127), 'latin1');
    b.fill(0, HDR.Comment, HDR.Comment + 128);
    b.set(c, HDR.Comment);
  }
  u64(HDR.SystemUpTime, o.systemUpTime ?? 36_000_000_000n);
  return b;
}

/** A full memory dump (type 1): every page of every run, run after run. */
export function writeFullDump(space: AddressSpace, options: DumpHeaderOptions = {}): SerialisedImage {
  const size = HDR.Size + runPages(space) * PAGE_SIZE;
  const chunks = [{ offset: 0, bytes: header(space, 1, size, options) }];
  let filePage = 0;
  for (const r of space.runs) {
    for (const [pfn, bytes] of space.frames) {
      if (pfn >= r.basePage && pfn < r.basePage + r.pageCount) chunks.push({ offset: HDR.Size + (filePage + pfn - r.basePage) * PAGE_SIZE, bytes });
    }
    filePage += r.pageCount;
  }
  return new SerialisedImage(size, chunks);
}

/** A bitmap dump (type 5, SDMP): only the frames with content, or every RAM page with storeAll. */
export function writeBitmapDump(space: AddressSpace, options: BitmapDumpOptions = {}): SerialisedImage {
  const bits = space.physicalPages;
  const bitmap = new Uint8Array(Math.ceil(bits / 8));
  const stored = options.storeAll ? [] : [...space.frames.keys()].filter((p) => p < bits && inRuns(space, p)).sort((a, b) => a - b);
  if (options.storeAll) for (const r of space.runs) for (let p = r.basePage; p < r.basePage + r.pageCount; p++) bitmap[p >>> 3]! |= 1 << (p & 7);
  else for (const p of stored) bitmap[p >>> 3]! |= 1 << (p & 7);
  const total = options.storeAll ? runPages(space) : stored.length;
  const firstPage = Math.ceil((BMP.Bitmap + bitmap.length) / PAGE_SIZE) * PAGE_SIZE;
  const size = firstPage + total * PAGE_SIZE;
  const bh = new Uint8Array(BMP.Bitmap - BMP.Signature);
  const v = new DataView(bh.buffer);
  bh.set(Buffer.from(`${options.signature ?? 'SDMP'}DUMP`, 'latin1'), 0);
  v.setBigUint64(BMP.FirstPage - BMP.Signature, BigInt(firstPage), true);
  v.setBigUint64(BMP.TotalPresentPages - BMP.Signature, BigInt(total), true);
  v.setBigUint64(BMP.Pages - BMP.Signature, BigInt(bits), true);
  const chunks = [
    { offset: 0, bytes: header(space, options.dumpType ?? 5, size, options) },
    { offset: BMP.Signature, bytes: bh },
    { offset: BMP.Bitmap, bytes: bitmap },
  ];
  // Rank of a stored PFN: with storeAll, the RAM pages below it; otherwise its index in `stored`.
  const rank = (pfn: number): number => space.runs.reduce((n, r) => n + Math.max(0, Math.min(r.pageCount, pfn - r.basePage)), 0);
  if (options.storeAll) {
    for (const [pfn, bytes] of space.frames) if (pfn < bits && inRuns(space, pfn)) chunks.push({ offset: firstPage + rank(pfn) * PAGE_SIZE, bytes });
  } else stored.forEach((pfn, i) => chunks.push({ offset: firstPage + i * PAGE_SIZE, bytes: space.frames.get(pfn)! }));
  return new SerialisedImage(size, chunks);
}

/** Adjacent PFNs (sorted) as ranges. */
function rangesOf(pfns: readonly number[]): PhysicalRun[] {
  const out: { basePage: number; pageCount: number }[] = [];
  for (const p of pfns) {
    const last = out[out.length - 1];
    if (last && last.basePage + last.pageCount === p) last.pageCount++;
    else out.push({ basePage: p, pageCount: 1 });
  }
  return out;
}

/**
 * An RDMP dump (types 8, 9, 10): at 0x2000 the RDMP header, then 0x10 bytes (type 10:
 * NumberOfRanges and TotalNumberOfPages; zero otherwise), the {Pfn, Count} ranges, a Pfn-0
 * terminator and zero padding, and from FirstPageOffset = 0x2020 + MetadataSize the pages, range
 * after range.
 */
export function writeRdmpDump(space: AddressSpace, options: RdmpDumpOptions = {}): SerialisedImage {
  const dumpType = options.dumpType ?? 8;
  const store = options.store ?? (dumpType === 10 ? 'ram' : 'frames');
  let ranges: PhysicalRun[] =
    store === 'ram'
      ? space.runs.map((r) => ({ ...r }))
      : rangesOf([...space.frames.keys()].filter((p) => p < space.physicalPages && inRuns(space, p)).sort((a, b) => a - b));
  if (options.descending) ranges = [...ranges].reverse();
  const total = ranges.reduce((n, r) => n + r.pageCount, 0);
  const tableEnd = RDMP.Ranges + (ranges.length + 1) * RDMP.RangeSize;
  const firstPage = options.alignPages === false ? tableEnd : Math.ceil(tableEnd / PAGE_SIZE) * PAGE_SIZE;
  const size = firstPage + total * PAGE_SIZE;
  const meta = new Uint8Array(tableEnd - RDMP.Marker);
  const v = new DataView(meta.buffer);
  const at = (o: number): number => o - RDMP.Marker;
  v.setUint32(at(RDMP.Marker), RDMP_MARKER, true);
  meta.set(Buffer.from('RDMPDUMP', 'latin1'), at(RDMP.Signature));
  v.setBigUint64(at(RDMP.MetadataSize), BigInt(firstPage - RDMP.Metadata), true);
  v.setBigUint64(at(RDMP.FirstPageOffset), BigInt(firstPage), true);
  if (dumpType === 10) {
    v.setUint32(at(RDMP.NumberOfRanges), ranges.length, true);
    v.setBigUint64(at(RDMP.TotalNumberOfPages), BigInt(total), true);
  }
  const filePage = new Map<number, number>();
  let n = 0;
  ranges.forEach((r, k) => {
    v.setBigUint64(at(RDMP.Ranges + k * RDMP.RangeSize), BigInt(r.basePage), true);
    v.setBigUint64(at(RDMP.Ranges + k * RDMP.RangeSize + 8), BigInt(r.pageCount), true);
    filePage.set(r.basePage, n);
    n += r.pageCount;
  });
  const chunks = [
    { offset: 0, bytes: header(space, dumpType, size, options) },
    { offset: RDMP.Marker, bytes: meta },
  ];
  for (const [pfn, bytes] of space.frames) {
    const r = ranges.find((x) => pfn >= x.basePage && pfn < x.basePage + x.pageCount);
    if (r) chunks.push({ offset: firstPage + (filePage.get(r.basePage)! + pfn - r.basePage) * PAGE_SIZE, bytes });
  }
  return new SerialisedImage(size, chunks);
}

/** A raw physical memory image: file offset = physical address. */
export function writeRawPhysical(space: AddressSpace): SerialisedImage {
  const chunks = [...space.frames].filter(([pfn]) => pfn < space.physicalPages).map(([pfn, bytes]) => ({ offset: pfn * PAGE_SIZE, bytes }));
  return new SerialisedImage(space.physicalPages * PAGE_SIZE, chunks);
}
