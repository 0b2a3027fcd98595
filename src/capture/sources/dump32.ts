/**
 * 32-bit Windows kernel crash dumps (`PAGEDUMP`, DUMP_HEADER32): the 0x1000-byte header, and the
 * stored physical pages of full dumps (DumpType 1: the PhysicalMemoryBlock's runs, their pages
 * back to back from 0x1000) and bitmap dumps (DumpType 5: the `SDMP`/`FDMP` bitmap header of the
 * 64-bit dumps, at 0x1000 instead of 0x2000). `PaeEnabled` chooses PAE or non-PAE paging, the
 * header's DirectoryTableBase is the DTB, and the ABI is x86.
 *
 * Every header field is checked before it is used: a count or size that reaches past the end of
 * the file, a truncated header or bitmap, an unknown type or machine gives a DumpError naming the
 * file offset of the field at fault. A body cut short (the file is smaller than the header's
 * RequiredDumpSpace) opens, its missing pages reported by the address space. Memory stays bounded
 * whatever the header claims: at most 86 runs, and a bitmap of at most 2^26 pages (8 MiB, a
 * machine of 256 GiB; 32-bit Windows addressed at most 128 GiB) plus its 1 MiB rank index.
 */
import { BitmapIndex, BitmapMemory, type PhysicalRun, RunMemory } from '../../codec/dump-pages.js';
import { DUMP_TYPE_NAMES, filetimeToDate } from '../../codec/dump.js';
import { type ByteSource, FileSource, PAGE_SIZE, type PhysicalMemory } from '../../codec/physical.js';
import { DumpError } from '../../errors.js';
import { type Abi, X86 } from '../../layout/abi.js';
import { type X86ImageOptions, type X86Paging, X86PagedImage, tableAddressOf } from '../address-spaces/x86-paging.js';
import type { DtbChoice } from '../source.js';

/** Offsets of the DUMP_HEADER32 members read here (volatility3 crash.json, QEMU win_dump_defs.h). */
export const HDR32 = {
  Signature: 0x0, ValidDump: 0x4, MajorVersion: 0x8, MinorVersion: 0xc, DirectoryTableBase: 0x10,
  PfnDataBase: 0x14, PsLoadedModuleList: 0x18, PsActiveProcessHead: 0x1c, MachineImageType: 0x20,
  NumberProcessors: 0x24, BugCheckCode: 0x28, BugCheckParameters: 0x2c, VersionUser: 0x3c, PaeEnabled: 0x5c,
  KdSecondaryVersion: 0x5d, KdDebuggerDataBlock: 0x60, NumberOfRuns: 0x64, NumberOfPages: 0x68, Runs: 0x6c,
  ContextRecord: 0x320, Comment: 0x820, DumpType: 0xf88, RequiredDumpSpace: 0xfa0, SystemUpTime: 0xfb8,
  SystemTime: 0xfc0, Size: 0x1000,
} as const;
/** The bitmap header of DumpType 5, right after the dump header. */
export const BMP32 = { Signature: 0x1000, ValidDump: 0x1004, FirstPage: 0x1020, TotalPresentPages: 0x1028, Pages: 0x1030, Bitmap: 0x1038 } as const;
/** PhysicalMemoryBlock is 700 bytes: 8 bytes of counts, then 8-byte runs. */
export const MAX_RUNS32 = Math.floor((HDR32.ContextRecord - HDR32.Runs) / 8);
/** Most pages a bitmap may name: 2^26 (256 GiB), twice what any 32-bit Windows addressed. */
export const MAX_BITMAP_PAGES32 = 2 ** 26;
export const MACHINE_X86 = 0x14c;
/** Windows fills unused header words with "PAGE": a count that reads so was never set. */
const FILLER = 0x45474150;

export interface Dump32Info {
  readonly format: 'windows-crash-dump-32';
  /** "full memory dump (DumpType 1)", "bitmap dump (DumpType 5, SDMP)". */
  readonly variant: string;
  readonly machine: 'x86';
  readonly abi: Abi;
  /** From PaeEnabled. */
  readonly paging: X86Paging;
  /** The header's DirectoryTableBase (CR3 as saved: PAE's is 32-byte aligned, not always page aligned). */
  readonly directoryTableBase: bigint;
  /** The DTB read through (DirectoryTableBase, flag bits masked), source 'header', with the header fields that gave it. */
  readonly dtb: DtbChoice;
  readonly fileName: string;
  readonly fileSize: number;
  /** 'PAGEDUMP'. */
  readonly signature: string;
  readonly dumpType: number;
  readonly dumpTypeName: string;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly machineImageType: number;
  readonly machineName: 'x86';
  readonly numberProcessors: number;
  readonly bugCheckCode: number;
  readonly bugCheckParameters: readonly [bigint, bigint, bigint, bigint];
  readonly systemTime: Date | undefined;
  readonly systemTimeRaw: bigint;
  /** In 100 ns units. */
  readonly systemUpTime: bigint;
  readonly pfnDataBase: bigint;
  readonly psLoadedModuleList: bigint;
  readonly psActiveProcessHead: bigint;
  readonly kdDebuggerDataBlock: bigint;
  readonly requiredDumpSpace: bigint;
  /** PhysicalMemoryBlock: the machine's RAM (for full dumps, exactly what is stored). */
  readonly runs: readonly PhysicalRun[];
  readonly numberOfPages: bigint;
  readonly pagesStored: number;
  readonly bitmap?: { readonly signature: string; readonly firstPage: number; readonly totalPresentPages: number; readonly bits: number };
  readonly comment: string;
  /** Odd but not fatal: a truncated body, counts that disagree, an unset PhysicalMemoryBlock. */
  readonly warnings: readonly string[];
}

export interface Dump32Options {
  /** Frames kept in the LRU cache (default 256 = 1 MiB). */
  cacheFrames?: number;
}

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;
const ascii = (b: Uint8Array, at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));

/** An open 32-bit crash dump: its header, its stored pages, and the kernel address space. */
export class Dump32 {
  constructor(
    readonly info: Dump32Info,
    readonly physical: PhysicalMemory,
  ) {}

  /** The address space of DirectoryTableBase, in the paging mode PaeEnabled names. */
  image(options: Omit<X86ImageOptions, 'paging'> = {}): X86PagedImage {
    const { info, physical } = this;
    if (info.directoryTableBase === BigInt(FILLER)) throw new DumpError(HDR32.DirectoryTableBase, 'DirectoryTableBase is the "PAGE" filler: never set');
    const pfn = Math.floor(tableAddressOf(info.directoryTableBase, info.paging) / PAGE_SIZE);
    if (!physical.hasFrame(pfn)) {
      const what = info.paging === 'pae' ? 'PDPT' : 'page directory';
      throw new DumpError(HDR32.DirectoryTableBase, `DirectoryTableBase ${hex(info.directoryTableBase)}: its ${what} is not in the dump (${physical.missingReason(pfn)})`);
    }
    return new X86PagedImage(physical, info.directoryTableBase, { ...options, paging: info.paging });
  }

  close(): void {
    this.physical.close();
  }
}

/** Whether the bytes start like a 32-bit kernel crash dump ("PAGEDUMP"). */
export function isDump32(head: Uint8Array): boolean {
  return head.length >= 8 && ascii(head, 0, 8) === 'PAGEDUMP';
}

/** Opens a dump file read-only (Node); reads the header, the bitmap if any, and nothing else. */
export function openDump32File(path: string, options?: Dump32Options): Dump32 {
  const source = new FileSource(path);
  try {
    return openDump32(source, options);
  } catch (e) {
    source.close();
    throw e;
  }
}

/** Reads a 32-bit dump's header (and bitmap) through `source`; pages are read when asked for. */
export function openDump32(source: ByteSource, options: Dump32Options = {}): Dump32 {
  const size = source.size;
  const h = new Uint8Array(HDR32.Size);
  const got = source.read(h, 0);
  if (got < 8) throw new DumpError(got, `truncated header: ${got} bytes, a 32-bit dump header needs ${hex(HDR32.Size)}`);
  const sig = ascii(h, HDR32.Signature, 4);
  const valid = ascii(h, HDR32.ValidDump, 4);
  if (sig !== 'PAGE') throw new DumpError(HDR32.Signature, `not a Windows kernel crash dump: signature ${JSON.stringify(sig)} (expected "PAGE")`);
  if (valid === 'DU64') throw new DumpError(HDR32.ValidDump, 'a 64-bit crash dump (PAGEDU64), not a 32-bit one (PAGEDUMP)');
  if (valid !== 'DUMP') throw new DumpError(HDR32.ValidDump, `not a 32-bit crash dump: ValidDump ${JSON.stringify(valid)} (expected "DUMP")`);
  if (got < HDR32.Size) throw new DumpError(got, `truncated header: ${got} bytes, a 32-bit dump header needs ${hex(HDR32.Size)}`);

  const v = new DataView(h.buffer);
  const u32 = (o: number): number => v.getUint32(o, true);
  const u64 = (o: number): bigint => v.getBigUint64(o, true);
  const machineImageType = u32(HDR32.MachineImageType);
  if (machineImageType !== MACHINE_X86) {
    throw new DumpError(HDR32.MachineImageType, `MachineImageType ${hex(machineImageType)} is not x86 (${hex(MACHINE_X86)}): only x86 paging is read from a 32-bit dump`);
  }
  const dumpType = u32(HDR32.DumpType);
  const dumpTypeName = DUMP_TYPE_NAMES[dumpType] ?? 'unknown';
  if (dumpType === 4) throw new DumpError(HDR32.DumpType, 'dump type 4 (minidump) is not a kernel memory image');
  if (dumpType === 2) {
    throw new DumpError(HDR32.DumpType, 'dump type 2 (kernel summary dump) is not read: take a complete or kernel memory dump (DumpType 1 or 5)');
  }
  if (dumpType !== 1 && dumpType !== 5) throw new DumpError(HDR32.DumpType, `unsupported dump type ${dumpType === FILLER ? `${hex(dumpType)} (the "PAGE" filler: never set)` : `${dumpType} (${dumpTypeName})`}`);
  const pae = h[HDR32.PaeEnabled]!;
  if (pae !== 0 && pae !== 1) throw new DumpError(HDR32.PaeEnabled, `PaeEnabled is ${hex(pae)}, neither 0 nor 1`);
  const paging: X86Paging = pae === 1 ? 'pae' : 'non-pae';

  const warnings: string[] = [];
  const requiredDumpSpace = u64(HDR32.RequiredDumpSpace);
  // A body cut short (the writer stopped early) is a truncation, not a lie: the header said more.
  const truncated = (end: number): boolean => size < requiredDumpSpace && BigInt(end) <= requiredDumpSpace;
  const runs = readRuns(v, dumpType === 1, warnings);
  let physical: PhysicalMemory;
  let pagesStored: number;
  let bitmap: Dump32Info['bitmap'];
  let variant: string;
  if (dumpType === 1) {
    pagesStored = runs.reduce((n, r) => n + r.pageCount, 0);
    let at: number = HDR32.Size;
    for (let k = 0; k < runs.length; k++) {
      const run = runs[k]!;
      const end = at + run.pageCount * PAGE_SIZE;
      if (end > size) {
        const last = HDR32.Size + pagesStored * PAGE_SIZE;
        if (!truncated(last)) {
          throw new DumpError(HDR32.Runs + 8 * k + 4, `run ${k} (PFN ${hex(run.basePage)}, ${hex(run.pageCount)} pages) is stored at file offset ${hex(at)}..${hex(end)}, past the end of the file (${hex(size)} bytes)`);
        }
        warnings.push(`truncated dump: pages from file offset ${hex(size)} on are missing (${hex(last)} bytes expected)`);
        break;
      }
      at = end;
    }
    physical = new RunMemory(source, HDR32.Size, runs, options.cacheFrames);
    variant = 'full memory dump (DumpType 1)';
  } else {
    if (size < BMP32.Bitmap) throw new DumpError(size, `truncated bitmap header: the file ends at ${hex(size)}, the header needs ${hex(BMP32.Bitmap)}`);
    const b = new Uint8Array(BMP32.Bitmap - BMP32.Signature);
    source.read(b, BMP32.Signature);
    const bv = new DataView(b.buffer);
    const signature = ascii(b, 0, 4);
    if ((signature !== 'SDMP' && signature !== 'FDMP') || ascii(b, 4, 4) !== 'DUMP') {
      throw new DumpError(BMP32.Signature, `bad bitmap header ${JSON.stringify(ascii(b, 0, 8))} (expected "SDMPDUMP" or "FDMPDUMP")`);
    }
    const field = (o: number): bigint => bv.getBigUint64(o - BMP32.Signature, true);
    const firstPage64 = field(BMP32.FirstPage);
    const present64 = field(BMP32.TotalPresentPages);
    const bits64 = field(BMP32.Pages);
    if (bits64 > BigInt(MAX_BITMAP_PAGES32)) {
      throw new DumpError(BMP32.Pages, `a bitmap of ${bits64} pages is more than the ${MAX_BITMAP_PAGES32} (256 GiB) a 32-bit machine can have`);
    }
    const bitmapEnd = BigInt(BMP32.Bitmap) + (bits64 + 7n) / 8n;
    if (bitmapEnd > BigInt(size)) {
      throw new DumpError(BMP32.Pages, `a bitmap of ${bits64} bits ends at file offset ${hex(bitmapEnd)}, past the end of the file (${hex(size)} bytes)`);
    }
    // FirstPage past the end: a body cut short when the header said more, else a lie.
    if (firstPage64 > BigInt(size) && !(firstPage64 <= BigInt(2 ** 53) && truncated(Number(firstPage64)))) {
      throw new DumpError(BMP32.FirstPage, `FirstPage ${hex(firstPage64)} is past the end of the file (${hex(size)} bytes)`);
    }
    if (firstPage64 < bitmapEnd) throw new DumpError(BMP32.FirstPage, `FirstPage ${hex(firstPage64)} overlaps the bitmap (which ends at ${hex(bitmapEnd)})`);
    const bits = Number(bits64);
    const firstPage = Number(firstPage64);
    const index = BitmapIndex.read(source, BMP32.Bitmap, bits);
    pagesStored = index.total;
    if (present64 !== BigInt(pagesStored)) warnings.push(`TotalPresentPages says ${present64}, the bitmap has ${pagesStored} bits set`);
    const end = firstPage + pagesStored * PAGE_SIZE;
    if (end > size) {
      if (!truncated(end)) {
        throw new DumpError(BMP32.Bitmap, `the bitmap names ${pagesStored} stored pages, ending at file offset ${hex(end)}, past the end of the file (${hex(size)} bytes)`);
      }
      warnings.push(`truncated dump: pages from file offset ${hex(size)} on are missing (${hex(end)} bytes expected)`);
    }
    bitmap = { signature, firstPage, totalPresentPages: Number(present64), bits };
    physical = new BitmapMemory(source, index, firstPage, options.cacheFrames);
    variant = `bitmap dump (DumpType 5, ${signature})`;
  }

  const systemTimeRaw = u64(HDR32.SystemTime);
  const commentBytes = h.subarray(HDR32.Comment, HDR32.Comment + 128);
  const nul = commentBytes.indexOf(0);
  const comment = ascii(commentBytes, 0, nul < 0 ? 128 : nul);
  const u32n = (o: number): bigint => BigInt(u32(o));
  const info: Dump32Info = {
    format: 'windows-crash-dump-32',
    variant,
    machine: 'x86',
    abi: X86,
    paging,
    directoryTableBase: u32n(HDR32.DirectoryTableBase),
    dtb: {
      value: BigInt(tableAddressOf(u32n(HDR32.DirectoryTableBase), paging)),
      source: 'header',
      evidence: `DUMP_HEADER32.DirectoryTableBase 0x${u32(HDR32.DirectoryTableBase).toString(16)} (file offset 0x${HDR32.DirectoryTableBase.toString(16)}), PaeEnabled ${paging === 'pae' ? 1 : 0} (file offset 0x${HDR32.PaeEnabled.toString(16)})`,
      fileOffset: HDR32.DirectoryTableBase,
    },
    fileName: source.name,
    fileSize: size,
    signature: sig + valid,
    dumpType,
    dumpTypeName,
    majorVersion: u32(HDR32.MajorVersion),
    minorVersion: u32(HDR32.MinorVersion),
    machineImageType,
    machineName: 'x86',
    numberProcessors: u32(HDR32.NumberProcessors),
    bugCheckCode: u32(HDR32.BugCheckCode),
    bugCheckParameters: [u32n(HDR32.BugCheckParameters), u32n(HDR32.BugCheckParameters + 4), u32n(HDR32.BugCheckParameters + 8), u32n(HDR32.BugCheckParameters + 12)],
    systemTime: filetimeToDate(systemTimeRaw),
    systemTimeRaw,
    systemUpTime: u64(HDR32.SystemUpTime),
    pfnDataBase: u32n(HDR32.PfnDataBase),
    psLoadedModuleList: u32n(HDR32.PsLoadedModuleList),
    psActiveProcessHead: u32n(HDR32.PsActiveProcessHead),
    kdDebuggerDataBlock: u32n(HDR32.KdDebuggerDataBlock),
    requiredDumpSpace,
    runs,
    numberOfPages: u32n(HDR32.NumberOfPages),
    pagesStored,
    ...(bitmap ? { bitmap } : {}),
    comment: /^(PAGE)+$/.test(comment) ? '' : comment,
    warnings,
  };
  return new Dump32(info, physical);
}

/** PhysicalMemoryBlock. Strict for full dumps (the runs say where pages are); advisory otherwise. */
function readRuns(v: DataView, strict: boolean, warnings: string[]): PhysicalRun[] {
  const fail = (offset: number, detail: string): PhysicalRun[] => {
    if (strict) throw new DumpError(offset, detail);
    warnings.push(`PhysicalMemoryBlock ignored: ${detail}`);
    return [];
  };
  const n = v.getUint32(HDR32.NumberOfRuns, true);
  if (n === FILLER) return fail(HDR32.NumberOfRuns, 'NumberOfRuns is the "PAGE" filler: never set');
  if (n > MAX_RUNS32) return fail(HDR32.NumberOfRuns, `NumberOfRuns ${n} exceeds the ${MAX_RUNS32} runs PhysicalMemoryBlock can hold`);
  if (n === 0 && strict) return fail(HDR32.NumberOfRuns, 'a full dump with no physical memory runs');
  const runs: PhysicalRun[] = [];
  let total = 0;
  for (let k = 0; k < n; k++) {
    const at = HDR32.Runs + 8 * k;
    // Both u32: a run ends below PFN 2^33, well inside the physical address space.
    const basePage = v.getUint32(at, true);
    const pageCount = v.getUint32(at + 4, true);
    total += pageCount;
    runs.push({ basePage, pageCount });
  }
  const sorted = runs.map((r, k) => ({ ...r, k })).sort((a, b) => a.basePage - b.basePage);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1]!;
    const r = sorted[i]!;
    if (p.basePage + p.pageCount > r.basePage) return fail(HDR32.Runs + 8 * r.k, `run ${r.k} overlaps run ${p.k}`);
  }
  const declared = v.getUint32(HDR32.NumberOfPages, true);
  if (declared !== total) warnings.push(`NumberOfPages says ${declared}, the runs hold ${total}`);
  return runs;
}
