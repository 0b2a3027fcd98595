/**
 * 64-bit Windows kernel crash dumps (PAGEDU64): the header, and the stored physical pages of full
 * dumps (type 1: runs), bitmap dumps (types 5 and 6: SDMP/FDMP) and the RDMP dumps of newer
 * debuggers (types 8, 9 and 10: page ranges after an RDMP header). Everything the header says
 * is checked against the file before use: a hostile header gives a DumpError naming the field,
 * a dump whose body was cut short (file smaller than RequiredDumpSpace) opens with its missing
 * pages reported by the paged image.
 */
import { DumpError, UsageError } from '../errors.js';
import { BitmapIndex, BitmapMemory, type PhysicalRun, RunMemory } from './dump-pages.js';
import { PagedImage, type PagedImageOptions, notPhysical } from './paged.js';
import { quoteText } from './text.js';
import { type ByteSource, FileSource, MAX_PFN, PAGE_SIZE, type PhysicalMemory, RawPhysicalMemory } from './physical.js';

/** Offsets of the DUMP_HEADER64 members this module reads or the writer fills. */
export const HDR = {
  Signature: 0x0, ValidDump: 0x4, MajorVersion: 0x8, MinorVersion: 0xc, DirectoryTableBase: 0x10,
  PfnDataBase: 0x18, PsLoadedModuleList: 0x20, PsActiveProcessHead: 0x28, MachineImageType: 0x30,
  NumberProcessors: 0x34, BugCheckCode: 0x38, BugCheckParameters: 0x40, KdDebuggerDataBlock: 0x80,
  NumberOfRuns: 0x88, NumberOfPages: 0x90, Runs: 0x98, DumpType: 0xf98, RequiredDumpSpace: 0xfa0,
  SystemTime: 0xfa8, Comment: 0xfb0, SystemUpTime: 0x1030, Size: 0x2000,
} as const;
/** The bitmap header that follows the dump header in types 5 and 6. */
export const BMP = { Signature: 0x2000, ValidDump: 0x2004, FirstPage: 0x2020, TotalPresentPages: 0x2028, Pages: 0x2030, Bitmap: 0x2038 } as const;
/**
 * The RDMP header that follows the dump header in types 8, 9 and 10 (0x20 bytes), then the
 * metadata: 0x10 bytes (type 10: NumberOfRanges, TotalNumberOfPages; types 8 and 9: unknown),
 * then {Pfn u64, Count u64} ranges up to FirstPageOffset. Layout as kdmp-parser's
 * RDMP_HEADER64 / KERNEL_RDMP_HEADER64 / FULL_RDMP_HEADER64.
 */
export const RDMP = {
  Marker: 0x2000, Signature: 0x2004, ValidDump: 0x2008, MetadataSize: 0x2010, FirstPageOffset: 0x2018,
  Metadata: 0x2020, NumberOfRanges: 0x2020, TotalNumberOfPages: 0x2028, Ranges: 0x2030, RangeSize: 0x10,
} as const;
/** RDMP_HEADER64.Marker. */
export const RDMP_MARKER = 0x40;
/** The DumpTypes read: 1 (runs), 5 and 6 (bitmap), 8, 9 and 10 (RDMP ranges). */
export const READ_DUMP_TYPES: ReadonlySet<number> = new Set([1, 5, 6, 8, 9, 10]);
export const RDMP_DUMP_TYPES: ReadonlySet<number> = new Set([8, 9, 10]);
/** PhysicalMemoryBlock is 700 bytes: 16 bytes of counts, then 16-byte runs. */
export const MAX_RUNS = Math.floor((700 - 16) / 16);
export const DUMP_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'full memory dump', 2: 'kernel summary dump', 3: 'header-only dump', 4: 'minidump', 5: 'bitmap dump',
  6: 'live kernel bitmap dump', 8: 'kernel memory dump (RDMP)', 9: 'kernel and user memory dump (RDMP)',
  10: 'complete memory dump (RDMP)',
};
/** What to write instead of a dump that holds no kernel memory image this reader takes. */
export const MINIDUMP_REFUSAL =
  'write a kernel or complete memory dump instead (Startup and Recovery: "Kernel memory dump" or "Complete memory dump", CrashDumpEnabled 2 or 1; or .dump /f in a kernel debugger)';
/** The dump types refused, each with what to write instead. */
export const REFUSED_DUMP_TYPES: Readonly<Record<number, string>> = {
  2: `unsupported dump type 2 (kernel summary dump): ${MINIDUMP_REFUSAL}`,
  4: `dump type 4 (minidump) is not a kernel memory image: ${MINIDUMP_REFUSAL}`,
};
const MACHINES: Readonly<Record<number, string>> = { 0x8664: 'x64', 0x14c: 'x86', 0xaa64: 'ARM64', 0x1c4: 'ARM' };

/** FILETIME (100 ns since 1601-01-01 UTC) <-> Date. Undefined when out of Date's range. */
const EPOCH_DIFF_MS = 11644473600000;
export function filetimeToDate(ft: bigint): Date | undefined {
  const ms = Number(ft / 10000n) - EPOCH_DIFF_MS;
  return Math.abs(ms) <= 8.64e15 ? new Date(ms) : undefined;
}
export const dateToFiletime = (d: Date): bigint => BigInt(d.getTime() + EPOCH_DIFF_MS) * 10000n;

export type { PhysicalRun };

export interface BitmapHeader {
  readonly signature: string;
  readonly firstPage: number;
  /** As the header says (a 64-bit count; a warning says when it is not the bits set). */
  readonly totalPresentPages: bigint;
  /** Number of bits (PFNs) the bitmap covers. */
  readonly bits: number;
}

export interface RdmpHeader {
  /** Bytes of metadata from 0x2020: 0x10 bytes, then the ranges (and zero padding). */
  readonly metadataSize: bigint;
  /** File offset of the first stored page (0x2020 + MetadataSize). */
  readonly firstPage: number;
  /** The ranges read (up to the first with Pfn 0, or, in type 10, TotalNumberOfPages). */
  readonly ranges: readonly PhysicalRun[];
  /** Type 10 only: as the header says. */
  readonly numberOfRanges?: number;
  readonly totalNumberOfPages?: bigint;
}

export interface DumpInfo {
  readonly fileName: string;
  readonly fileSize: number;
  /** 'PAGEDU64'. */
  readonly signature: string;
  readonly dumpType: number;
  readonly dumpTypeName: string;
  /** 0xF free build, 0xC checked build. */
  readonly majorVersion: number;
  /** The OS build number. */
  readonly minorVersion: number;
  readonly machineImageType: number;
  readonly machineName: string;
  readonly numberProcessors: number;
  readonly bugCheckCode: number;
  readonly bugCheckParameters: readonly [bigint, bigint, bigint, bigint];
  readonly systemTime: Date | undefined;
  readonly systemTimeRaw: bigint;
  /** In 100 ns units. */
  readonly systemUpTime: bigint;
  readonly directoryTableBase: bigint;
  readonly pfnDataBase: bigint;
  readonly psLoadedModuleList: bigint;
  readonly psActiveProcessHead: bigint;
  readonly kdDebuggerDataBlock: bigint;
  readonly requiredDumpSpace: bigint;
  /** PhysicalMemoryBlock: the machine's RAM (for full dumps, exactly what is stored). */
  readonly runs: readonly PhysicalRun[];
  readonly numberOfPages: bigint;
  readonly pagesStored: number;
  readonly bitmap?: BitmapHeader;
  /** RDMP dumps (types 8, 9, 10): where the pages are. */
  readonly rdmp?: RdmpHeader;
  readonly comment: string;
  /** Things that are odd but not fatal (truncated body, counts that disagree). */
  readonly warnings: readonly string[];
}

export interface DumpOptions {
  /** Frames kept in the LRU cache (default 256 = 1 MiB). */
  cacheFrames?: number;
}

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;
const ascii = (b: Uint8Array, at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));

/** An open crash dump: its header and its stored pages. */
export class CrashDump {
  constructor(
    readonly info: DumpInfo,
    readonly physical: PhysicalMemory,
  ) {}

  /** The kernel address space through DirectoryTableBase. */
  image(options?: PagedImageOptions): PagedImage {
    const { info } = this;
    if (info.machineImageType !== 0x8664) {
      throw new DumpError(HDR.MachineImageType, `machine type ${hex(info.machineImageType)} (${info.machineName}) is not supported: only x64 (0x8664) paging is`);
    }
    const why = notPhysical(info.directoryTableBase);
    if (why) throw new DumpError(HDR.DirectoryTableBase, `DirectoryTableBase ${hex(info.directoryTableBase)} ${why}`);
    const pml4 = Number(info.directoryTableBase >> 12n);
    if (!this.physical.hasFrame(pml4)) {
      throw new DumpError(HDR.DirectoryTableBase, `DirectoryTableBase ${hex(info.directoryTableBase)} is not in the dump: ${this.physical.missingReason(pml4)}`);
    }
    return new PagedImage(this.physical, info.directoryTableBase, options);
  }

  close(): void {
    this.physical.close();
  }
}

/** Opens a dump file read-only; reads the header, the bitmap if any, and nothing else. */
export function openDump(path: string, options?: DumpOptions): CrashDump {
  const source = new FileSource(path);
  try {
    return readDump(source, options);
  } catch (e) {
    source.close();
    throw e;
  }
}

export interface OpenedImage {
  readonly image: PagedImage;
  readonly physical: PhysicalMemory;
  /** The dump, when the file is one (undefined for a raw physical image). */
  readonly dump?: CrashDump;
  close(): void;
}

/**
 * Opens a crash dump or a raw physical memory image as a virtual address space. A dump supplies
 * its own DirectoryTableBase (`dtb` overrides it); a raw image needs `dtb`.
 */
export function openCapture(path: string, options: DumpOptions & PagedImageOptions & { dtb?: bigint } = {}): OpenedImage {
  const source = new FileSource(path);
  try {
    if (isDump(source)) {
      const dump = readDump(source, options);
      const image = options.dtb === undefined ? dump.image(options) : new PagedImage(dump.physical, options.dtb, options);
      return { image, physical: dump.physical, dump, close: () => dump.close() };
    }
    if (options.dtb === undefined) throw new UsageError(`${path} is not a crash dump: as a raw physical memory image it needs a DirectoryTableBase (dtb)`);
    const physical = new RawPhysicalMemory(source, options.cacheFrames);
    return { image: new PagedImage(physical, options.dtb, options), physical, close: () => physical.close() };
  } catch (e) {
    source.close();
    throw e;
  }
}

/** Whether the source starts like a 64-bit kernel crash dump. */
export function isDump(source: ByteSource): boolean {
  const b = new Uint8Array(8);
  return source.read(b, 0) === 8 && ascii(b, 0, 8) === 'PAGEDU64';
}

export function readDump(source: ByteSource, options: DumpOptions = {}): CrashDump {
  const size = source.size;
  const h = new Uint8Array(HDR.Size);
  const got = source.read(h, 0);
  const short = (): DumpError =>
    new DumpError(got, `not a complete crash dump header: ${got === 0 ? 'the file is empty' : `the file ends after ${got} bytes`} (a 64-bit dump header is ${hex(HDR.Size)} bytes)`);
  if (got < 8) throw short();
  const sig = ascii(h, 0, 4);
  const valid = ascii(h, 4, 4);
  if (sig === 'MDMP') throw new DumpError(0, `a user-mode minidump (MDMP), not a kernel memory dump: ${MINIDUMP_REFUSAL}`);
  if (sig !== 'PAGE') throw new DumpError(0, `not a Windows kernel crash dump: signature ${quoteText(sig)} (expected "PAGE")`);
  if (valid === 'DUMP') throw new DumpError(4, '32-bit crash dump (PAGEDUMP): only 64-bit dumps (PAGEDU64) are supported');
  if (valid !== 'DU64') throw new DumpError(4, `not a 64-bit crash dump: ValidDump ${quoteText(valid)} (expected "DU64")`);
  if (got < HDR.Size) throw short();

  const v = new DataView(h.buffer);
  const u32 = (o: number): number => v.getUint32(o, true);
  const u64 = (o: number): bigint => v.getBigUint64(o, true);
  const dumpType = u32(HDR.DumpType);
  const dumpTypeName = DUMP_TYPE_NAMES[dumpType] ?? 'unknown';
  if (REFUSED_DUMP_TYPES[dumpType]) throw new DumpError(HDR.DumpType, REFUSED_DUMP_TYPES[dumpType]);
  if (!READ_DUMP_TYPES.has(dumpType)) {
    throw new DumpError(HDR.DumpType, `unsupported dump type ${dumpType} (${dumpTypeName})`);
  }
  const warnings: string[] = [];
  const requiredDumpSpace = u64(HDR.RequiredDumpSpace);
  // A body cut short (the writer stopped early) is a truncation, not a lie: the header said more.
  const truncated = (end: number | bigint): boolean => size < requiredDumpSpace && BigInt(end) <= requiredDumpSpace;

  const runs = readRuns(v, dumpType === 1, warnings);
  let physical: PhysicalMemory;
  let pagesStored: number;
  let bitmap: BitmapHeader | undefined;
  let rdmp: RdmpHeader | undefined;
  if (RDMP_DUMP_TYPES.has(dumpType)) {
    rdmp = readRdmp(source, dumpType, truncated, warnings);
    pagesStored = rdmp.ranges.reduce((n, r) => n + r.pageCount, 0);
    physical = new RunMemory(source, rdmp.firstPage, rdmp.ranges, options.cacheFrames, 'RDMP dump', 'ranges');
  } else if (dumpType === 1) {
    pagesStored = runs.reduce((n, r) => n + r.pageCount, 0);
    let at: number = HDR.Size;
    for (let k = 0; k < runs.length; k++) {
      const run = runs[k]!;
      const end = at + run.pageCount * PAGE_SIZE;
      if (end > size) {
        const last = HDR.Size + pagesStored * PAGE_SIZE;
        if (!truncated(last)) {
          throw new DumpError(HDR.Runs + 16 * k, `run ${k} (PFN ${hex(run.basePage)}, ${hex(run.pageCount)} pages) is stored at file offset ${hex(at)}..${hex(end)}, past the end of the file (${hex(size)} bytes)`);
        }
        warnings.push(`truncated dump: pages from file offset ${hex(size)} on are missing (${hex(last)} bytes expected)`);
        break;
      }
      at = end;
    }
    physical = new RunMemory(source, HDR.Size, runs, options.cacheFrames);
  } else {
    if (size < BMP.Bitmap) throw new DumpError(size, `truncated bitmap header: the file ends at ${hex(size)}, the header needs ${hex(BMP.Bitmap)}`);
    const b = new Uint8Array(BMP.Bitmap - BMP.Signature);
    source.read(b, BMP.Signature);
    const bv = new DataView(b.buffer);
    const signature = ascii(b, 0, 4);
    if ((signature !== 'SDMP' && signature !== 'FDMP') || ascii(b, 4, 4) !== 'DUMP') {
      throw new DumpError(BMP.Signature, `bad bitmap header ${quoteText(ascii(b, 0, 8))} (expected "SDMPDUMP" or "FDMPDUMP")`);
    }
    const firstPage64 = bv.getBigUint64(BMP.FirstPage - BMP.Signature, true);
    const present64 = bv.getBigUint64(BMP.TotalPresentPages - BMP.Signature, true);
    const bits64 = bv.getBigUint64(BMP.Pages - BMP.Signature, true);
    const bitmapEnd = BigInt(BMP.Bitmap) + (bits64 + 7n) / 8n;
    if (bits64 > BigInt(MAX_PFN) || bitmapEnd > BigInt(size)) {
      throw new DumpError(BMP.Pages, `a bitmap of ${bits64} bits ends at file offset ${hex(bitmapEnd)}, past the end of the file (${hex(size)} bytes)`);
    }
    // Past the end: a lie, unless RequiredDumpSpace says the file was cut short (then no page is stored).
    if (firstPage64 > BigInt(size) && !truncated(firstPage64)) {
      throw new DumpError(BMP.FirstPage, `FirstPage ${hex(firstPage64)} is past the end of the file (${hex(size)} bytes)`);
    }
    if (firstPage64 < bitmapEnd) throw new DumpError(BMP.FirstPage, `FirstPage ${hex(firstPage64)} overlaps the bitmap (which ends at ${hex(bitmapEnd)})`);
    const bits = Number(bits64);
    const firstPage = Number(firstPage64);
    const index = BitmapIndex.read(source, BMP.Bitmap, bits);
    pagesStored = index.total;
    if (present64 !== BigInt(pagesStored)) warnings.push(`TotalPresentPages says ${present64}, the bitmap has ${pagesStored} bits set`);
    const end = firstPage + pagesStored * PAGE_SIZE;
    if (end > size) {
      if (!truncated(end)) {
        throw new DumpError(BMP.Bitmap, `the bitmap names ${pagesStored} stored pages, ending at file offset ${hex(end)}, past the end of the file (${hex(size)} bytes)`);
      }
      warnings.push(`truncated dump: pages from file offset ${hex(size)} on are missing (${hex(end)} bytes expected)`);
    }
    bitmap = { signature, firstPage, totalPresentPages: present64, bits };
    physical = new BitmapMemory(source, index, firstPage, options.cacheFrames);
  }

  const systemTimeRaw = u64(HDR.SystemTime);
  const machineImageType = u32(HDR.MachineImageType);
  const commentBytes = h.subarray(HDR.Comment, HDR.Comment + 128);
  const nul = commentBytes.indexOf(0);
  const comment = ascii(commentBytes, 0, nul < 0 ? 128 : nul);
  const info: DumpInfo = {
    fileName: source.name,
    fileSize: size,
    signature: sig + valid,
    dumpType,
    dumpTypeName,
    majorVersion: u32(HDR.MajorVersion),
    minorVersion: u32(HDR.MinorVersion),
    machineImageType,
    machineName: MACHINES[machineImageType] ?? 'unknown',
    numberProcessors: u32(HDR.NumberProcessors),
    bugCheckCode: u32(HDR.BugCheckCode),
    bugCheckParameters: [u64(0x40), u64(0x48), u64(0x50), u64(0x58)],
    systemTime: filetimeToDate(systemTimeRaw),
    systemTimeRaw,
    systemUpTime: u64(HDR.SystemUpTime),
    directoryTableBase: u64(HDR.DirectoryTableBase),
    pfnDataBase: u64(HDR.PfnDataBase),
    psLoadedModuleList: u64(HDR.PsLoadedModuleList),
    psActiveProcessHead: u64(HDR.PsActiveProcessHead),
    kdDebuggerDataBlock: u64(HDR.KdDebuggerDataBlock),
    requiredDumpSpace,
    runs,
    numberOfPages: u64(HDR.NumberOfPages),
    pagesStored,
    ...(bitmap ? { bitmap } : {}),
    ...(rdmp ? { rdmp } : {}),
    // Windows fills unused header bytes with "PAGE": an unset comment reads as that filler.
    comment: /^(PAGE)+$/.test(comment) ? '' : comment,
    warnings,
  };
  return new CrashDump(info, physical);
}

/** PhysicalMemoryBlock. Strict for full dumps (the runs say where pages are); advisory otherwise. */
function readRuns(v: DataView, strict: boolean, warnings: string[]): PhysicalRun[] {
  const fail = (offset: number, detail: string): PhysicalRun[] => {
    if (strict) throw new DumpError(offset, detail);
    warnings.push(`PhysicalMemoryBlock ignored: ${detail}`);
    return [];
  };
  const n = v.getUint32(HDR.NumberOfRuns, true);
  if (n > MAX_RUNS) return fail(HDR.NumberOfRuns, `NumberOfRuns ${n} exceeds the ${MAX_RUNS} runs PhysicalMemoryBlock can hold`);
  if (n === 0 && strict) return fail(HDR.NumberOfRuns, 'a full dump with no physical memory runs');
  const runs: PhysicalRun[] = [];
  let total = 0n;
  for (let k = 0; k < n; k++) {
    const at = HDR.Runs + 16 * k;
    const base = v.getBigUint64(at, true);
    const count = v.getBigUint64(at + 8, true);
    if (base + count > BigInt(MAX_PFN)) {
      return fail(at, `run ${k}: PFN ${hex(base)} + ${hex(count)} pages overflows the 52-bit physical address space`);
    }
    total += count;
    runs.push({ basePage: Number(base), pageCount: Number(count) });
  }
  const sorted = runs.map((r, k) => ({ ...r, k })).sort((a, b) => a.basePage - b.basePage);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1]!;
    const r = sorted[i]!;
    if (p.basePage + p.pageCount > r.basePage) return fail(HDR.Runs + 16 * r.k, `run ${r.k} overlaps run ${p.k}`);
  }
  const declared = v.getBigUint64(HDR.NumberOfPages, true);
  if (declared !== total) warnings.push(`NumberOfPages says ${declared}, the runs hold ${total}`);
  return runs;
}

/** Range entries read per call: the table is read piecewise, never allocated from MetadataSize. */
const RANGE_CHUNK = 256;

/**
 * The RDMP header and its page ranges. Every field is checked against the file before use; the
 * ranges are read until the first with Pfn 0 (the terminator, and the zero padding after it) or,
 * in type 10, until TotalNumberOfPages pages are counted, so memory follows the ranges there are.
 */
function readRdmp(source: ByteSource, dumpType: number, truncated: (end: bigint) => boolean, warnings: string[]): RdmpHeader {
  const size = source.size;
  if (size < RDMP.Ranges) throw new DumpError(size, `truncated RDMP header: the file ends at ${hex(size)}, the header needs ${hex(RDMP.Ranges)}`);
  const b = new Uint8Array(RDMP.Ranges - RDMP.Marker);
  source.read(b, RDMP.Marker);
  const bv = new DataView(b.buffer);
  const u32 = (o: number): number => bv.getUint32(o - RDMP.Marker, true);
  const u64 = (o: number): bigint => bv.getBigUint64(o - RDMP.Marker, true);
  const marker = u32(RDMP.Marker);
  if (marker !== RDMP_MARKER) throw new DumpError(RDMP.Marker, `bad RDMP header: Marker ${hex(marker)} (expected ${hex(RDMP_MARKER)})`);
  const sigs = ascii(b, RDMP.Signature - RDMP.Marker, 8);
  if (sigs !== 'RDMPDUMP') {
    throw new DumpError(sigs.startsWith('RDMP') ? RDMP.ValidDump : RDMP.Signature, `bad RDMP header ${quoteText(sigs)} (expected "RDMPDUMP")`);
  }
  const metadataSize = u64(RDMP.MetadataSize);
  const firstPage64 = u64(RDMP.FirstPageOffset);
  const metadataEnd = BigInt(RDMP.Metadata) + metadataSize;
  if (metadataEnd > BigInt(size)) {
    throw new DumpError(RDMP.MetadataSize, `MetadataSize ${hex(metadataSize)} ends the metadata at file offset ${hex(metadataEnd)}, past the end of the file (${hex(size)} bytes)`);
  }
  if (metadataSize < BigInt(RDMP.Ranges - RDMP.Metadata) || metadataSize % BigInt(RDMP.RangeSize) !== 0n) {
    throw new DumpError(RDMP.MetadataSize, `MetadataSize ${hex(metadataSize)} is not 0x10 bytes followed by whole 0x10-byte ranges`);
  }
  if (firstPage64 !== metadataEnd) {
    throw new DumpError(RDMP.FirstPageOffset, `FirstPageOffset ${hex(firstPage64)} does not follow the metadata (MetadataSize ${hex(metadataSize)}: expected ${hex(metadataEnd)})`);
  }
  const firstPage = Number(firstPage64);
  const complete = dumpType === 10;
  const totalNumberOfPages = u64(RDMP.TotalNumberOfPages);
  const slots = (firstPage - RDMP.Ranges) / RDMP.RangeSize;

  const ranges: PhysicalRun[] = [];
  const offsets: number[] = [];
  let counted = 0n;
  let end = firstPage;
  const chunk = new Uint8Array(RANGE_CHUNK * RDMP.RangeSize);
  const cv = new DataView(chunk.buffer);
  read: for (let k0 = 0; k0 < slots; k0 += RANGE_CHUNK) {
    const n = Math.min(RANGE_CHUNK, slots - k0);
    source.read(chunk.subarray(0, n * RDMP.RangeSize), RDMP.Ranges + k0 * RDMP.RangeSize);
    for (let i = 0; i < n; i++) {
      if (complete && counted === totalNumberOfPages) break read;
      const k = k0 + i;
      const at = RDMP.Ranges + k * RDMP.RangeSize;
      const pfn = cv.getBigUint64(i * RDMP.RangeSize, true);
      const count = cv.getBigUint64(i * RDMP.RangeSize + 8, true);
      if (pfn === 0n) break read;
      if (pfn + count > BigInt(MAX_PFN)) {
        throw new DumpError(at, `range ${k}: PFN ${hex(pfn)} + ${hex(count)} pages overflows the 52-bit physical address space`);
      }
      counted += count;
      if (complete && counted > totalNumberOfPages) {
        throw new DumpError(at, `range ${k} (PFN ${hex(pfn)}, ${hex(count)} pages) goes past TotalNumberOfPages (${totalNumberOfPages})`);
      }
      const rangeEnd = BigInt(end) + count * BigInt(PAGE_SIZE);
      // In bigint: a lying count is checked against the file before it becomes a Number.
      if (rangeEnd > BigInt(size) && !truncated(rangeEnd)) {
        throw new DumpError(at, `range ${k} (PFN ${hex(pfn)}, ${hex(count)} pages) is stored at file offset ${hex(end)}..${hex(rangeEnd)}, past the end of the file (${hex(size)} bytes)`);
      }
      end = Number(rangeEnd);
      if (count === 0n) continue;
      ranges.push({ basePage: Number(pfn), pageCount: Number(count) });
      offsets.push(at);
    }
  }
  if (end > size) warnings.push(`truncated dump: pages from file offset ${hex(size)} on are missing (${hex(end)} bytes expected)`);
  if (complete && counted < totalNumberOfPages) warnings.push(`TotalNumberOfPages says ${totalNumberOfPages}, the ranges hold ${counted}`);
  const order = ranges.map((_, k) => k).sort((a, c) => ranges[a]!.basePage - ranges[c]!.basePage);
  for (let i = 1; i < order.length; i++) {
    const p = ranges[order[i - 1]!]!;
    const r = order[i]!;
    if (p.basePage + p.pageCount > ranges[r]!.basePage) {
      throw new DumpError(offsets[r]!, `range ${(offsets[r]! - RDMP.Ranges) / RDMP.RangeSize} overlaps range ${(offsets[order[i - 1]!]! - RDMP.Ranges) / RDMP.RangeSize}`);
    }
  }
  return {
    metadataSize,
    firstPage,
    ranges,
    ...(complete ? { numberOfRanges: u32(RDMP.NumberOfRanges), totalNumberOfPages } : {}),
  };
}
