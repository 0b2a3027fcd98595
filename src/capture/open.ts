/**
 * The one entry point for captures: `openCaptureImage(reader, options)` recognises the format from
 * the file's bytes (never from its name), opens its physical memory, chooses the DTB and the
 * paging mode, and returns the address space with what a user needs to trust it. The CLI (every
 * command, `info`, `scan`) and a browser Worker call the same function.
 *
 * It is built from three registries, so that a new format or paging mode plugs in with one entry:
 *
 * - `CAPTURE_FORMATS`: recognisers, tried in order. A recogniser `sniff`s the first bytes
 *   (HEAD_BYTES of them) and, when it claims the file, `open`s it as a `PhysicalCapture`:
 *   physical memory plus format, variant, machine, ranges, per-CPU CR3s, a DTB from the header
 *   if the format records one, warnings. A magic followed by a bad header is an error, never a
 *   fall back to the next recogniser. Formats that nothing in their bytes names (a raw image) are
 *   never sniffed: the caller names them with `options.format`.
 * - `ADDRESS_SPACES`: one factory per paging mode ('x64' here; 'pae' and 'non-pae' plug in the
 *   same way) that reads virtual memory through physical memory from a DTB.
 * - `DTB_DISCOVERY`: finders for captures that record no CR3 (raw images, LiME), consulted in
 *   order when neither `options.dtb`, the header nor a CPU note gives one.
 *
 * The DTB is chosen in this order, and `dtb.source` says which: `options.dtb` ('option'), the
 * format's header ('header'), the CPU notes ('cpu-note': the first CPU whose CR3 maps a probe
 * address, then KUSER_SHARED_DATA, then any kernel page), discovery ('discovery').
 */
import { type Segment, type MemoryImage, Location, SegmentImage } from '../codec/image.js';
import { type CrashDump, DUMP_TYPE_NAMES, HDR, readDump } from '../codec/dump.js';
import { PagedImage, type PagedImageOptions } from '../codec/paged.js';
import { type ByteSource, PAGE_SIZE, type PhysicalMemory, RawPhysicalMemory } from '../codec/physical.js';
import { CaptureError, DecodeError, UsageError } from '../errors.js';
import type { AbsentRange } from './physical-ranges.js';
import { type Reader, asByteSource, readAt } from './reader.js';
import type { CaptureMemory, CpuState, DtbChoice, DtbDiscoveryMethod, OpenSourceOptions, PagingMode } from './source.js';

export type { DtbChoice, DtbDiscoveryMethod, DtbSource, PagingMode } from './source.js';
import { type X86Paging, X86PagedImage } from './address-spaces/x86-paging.js';
import { type DtbStrategy, ALL_DTB_STRATEGIES, findDtb } from './dtb.js';
import { type Dump32Info, HDR32, isDump32, openDump32 } from './sources/dump32.js';
import { isElf, openElfCore } from './sources/elf-core.js';
import { isLime, openLime } from './sources/lime.js';
import { recogniseRefused, refusalError } from './sources/refused.js';
import { isVmwareState, openVmware } from './sources/vmware.js';

/** A physical range and where the file stores it (undefined where the format does not say, as in bitmap dumps). */
export interface CaptureRange {
  readonly physical: number;
  readonly length: number;
  readonly fileOffset: number | undefined;
}

/** What a format's recogniser gives: physical memory and the facts its headers hold. */
export interface PhysicalCapture {
  /** 'dump', 'lime', 'elf-core', 'raw'... (the recogniser's id). */
  readonly format: string;
  readonly variant: string;
  readonly machine: 'x64' | 'x86' | undefined;
  readonly physical: PhysicalMemory;
  readonly ranges: readonly CaptureRange[];
  readonly absent: readonly AbsentRange[];
  readonly cpus: readonly CpuState[];
  readonly warnings: string[];
  /** The paging mode when the header says (a dump's PaeEnabled); else decided from the machine and CR4. */
  readonly paging?: PagingMode;
  /** The DTB the header records (a dump's DirectoryTableBase). */
  readonly dtb?: DtbChoice;
  /** The 64-bit crash dump, for what `info` prints of its header. */
  readonly dump?: CrashDump;
  /** The 32-bit crash dump's header, for what `info` prints of it. */
  readonly dump32?: Dump32Info;
  /**
   * Builds the address space itself, when the format checks the DTB in its own terms (a dump names
   * the header field at fault). Otherwise the ADDRESS_SPACES factory of the paging mode is used.
   */
  addressSpace?(dtb: DtbChoice, paging: PagingMode, options: PagedImageOptions): MemoryImage;
  close(): void;
}

/** An opened capture: the address space and what a user needs to trust it. */
export interface Capture {
  readonly name: string;
  /** A recogniser's id, or 'region' for regions and segments. */
  readonly format: string;
  readonly variant: string;
  readonly machine: 'x64' | 'x86' | undefined;
  /** The ABI the paging mode implies (x64 for 4-level, x86 for PAE and non-PAE); undefined for regions. */
  readonly abi: 'x64' | 'x86' | undefined;
  readonly paging: PagingMode;
  readonly dtb: DtbChoice | undefined;
  readonly image: MemoryImage;
  readonly physical: PhysicalMemory | undefined;
  readonly ranges: readonly CaptureRange[];
  readonly absent: readonly AbsentRange[];
  readonly cpus: readonly CpuState[];
  readonly warnings: readonly string[];
  readonly dump?: CrashDump;
  readonly dump32?: Dump32Info;
  close(): void;
}

/** What a recogniser's `sniff` may look at besides the first bytes. */
export interface SniffContext {
  readonly name: string;
  readonly size: number;
  /**
   * A file beside the capture with the same name and another extension (".vmss"), opened, or
   * undefined (none there, or no file system). The one place a name counts: VMware's state file.
   * The caller owns the reader: close it (a PhysicalCapture's close() closes what it keeps).
   */
  sibling(extension: string): Reader | undefined;
  /** Whether such a file is there (for `sniff`, which opens nothing it keeps). */
  hasSibling(extension: string): boolean;
}

export interface CaptureRecognizer {
  readonly id: string;
  /** How messages name it: 'a LiME capture ("EMiL")'. */
  readonly label: string;
  /** Whether the file is of this format; looks at `head` (the first HEAD_BYTES) only, never throws. Absent: only by `options.format`. */
  sniff?(head: Uint8Array, context: SniffContext): boolean;
  open(source: ByteSource, options: OpenCaptureOptions, context: SniffContext): PhysicalCapture;
}

export interface OpenCaptureOptions extends OpenSourceOptions, PagedImageOptions {
  /** The DTB to read through (the CLI's --dtb): wins over the header, the CPU notes and discovery. */
  dtb?: bigint;
  /** Open as this recogniser's format without sniffing (the CLI's --physical: 'raw'). */
  format?: string;
  /** The paging mode, where the capture cannot say (a LiME or raw image of a 32-bit machine with --dtb). */
  paging?: PagingMode;
  /** Virtual addresses that must be mapped (the root): they choose among CPUs and confirm discovery. */
  probes?: readonly bigint[];
  /** See SniffContext.sibling. */
  sibling?: (extension: string) => Reader | undefined;
  /** DTB discovery's progress on a long scan (bytes done, of total); see DiscoveryContext. */
  progress?: (done: number, total: number) => void;
}

/** Bytes given to `sniff`. */
export const HEAD_BYTES = 4096;

/** KUSER_SHARED_DATA, mapped in every Windows address space, per paging mode. */
export const KUSER_SHARED_DATA: Readonly<Record<Exclude<PagingMode, 'none'>, bigint>> = {
  x64: 0xfffff78000000000n,
  pae: 0xffdf0000n,
  'non-pae': 0xffdf0000n,
};
/** First address of the kernel half, per paging mode. */
const KERNEL_START: Readonly<Record<Exclude<PagingMode, 'none'>, bigint>> = { x64: 0xffff800000000000n, pae: 0x80000000n, 'non-pae': 0x80000000n };

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

// ---------------------------------------------------------------------------------------------
// Address spaces

/** Reads virtual memory through `physical` from the table at `dtb`; throws when the DTB's frame is not there. */
export type AddressSpaceFactory = (physical: PhysicalMemory, dtb: bigint, options: PagedImageOptions) => MemoryImage;

/** One factory per paging mode. PAE and non-PAE plug in with `registerAddressSpace('pae', ...)`. */
export const ADDRESS_SPACES = new Map<PagingMode, AddressSpaceFactory>([
  ['x64', (physical, dtb, options) => new PagedImage(physical, dtb, options)],
  ['pae', (physical, dtb, options) => new X86PagedImage(physical, dtb, { ...options, paging: 'pae' })],
  ['non-pae', (physical, dtb, options) => new X86PagedImage(physical, dtb, { ...options, paging: 'non-pae' })],
]);

export function registerAddressSpace(paging: PagingMode, factory: AddressSpaceFactory): void {
  ADDRESS_SPACES.set(paging, factory);
}

function addressSpaceFor(paging: PagingMode, physical: PhysicalMemory, dtb: bigint, options: PagedImageOptions): MemoryImage {
  const factory = ADDRESS_SPACES.get(paging);
  if (!factory) throw new UsageError(`${PAGING_NAMES[paging]} address spaces are not supported yet`);
  return factory(physical, dtb, options);
}

export const PAGING_NAMES: Readonly<Record<PagingMode, string>> = {
  x64: 'x64 4-level paging',
  pae: 'PAE 3-level paging',
  'non-pae': '32-bit 2-level paging (no PAE)',
  none: 'none (virtual addresses given)',
};

// ---------------------------------------------------------------------------------------------
// DTB discovery

export interface DiscoveredDtb {
  readonly dtb: bigint;
  readonly paging: PagingMode;
  /** What confirmed it: "PROCESSOR_START_BLOCK at 0x1000, KUSER_SHARED_DATA maps". */
  readonly evidence: string;
  /** How it was found, when the finder says (the library's own search always does). */
  readonly method?: DtbDiscoveryMethod;
}

export interface DiscoveryContext {
  readonly name: string;
  readonly machine: 'x64' | 'x86' | undefined;
  /** Addresses that must map (the root), as in OpenCaptureOptions. */
  readonly probes: readonly bigint[];
  /** Where to say what was odd (candidates rejected...). */
  readonly warnings: string[];
  /** Told how far a long scan has come (bytes of physical memory done, of total). */
  readonly progress?: (done: number, total: number) => void;
}

/**
 * Finds the kernel DTB in physical memory that records none; undefined when it has nothing to say.
 * A CaptureError (no candidate confirmed, and why) lets the next finder try; when none finds one,
 * the first such error is the answer.
 */
export type DtbDiscoverer = (physical: PhysicalMemory, context: DiscoveryContext) => DiscoveredDtb | undefined;

/** Consulted in order for captures with no DTB of their own. */
export const DTB_DISCOVERY: DtbDiscoverer[] = [discoverBySelfMap];

/** Adds a finder, asked after those registered before it and before the library's own self-map search. */
export function registerDtbDiscovery(discover: DtbDiscoverer): void {
  const builtIn = DTB_DISCOVERY.indexOf(discoverBySelfMap);
  DTB_DISCOVERY.splice(builtIn < 0 ? DTB_DISCOVERY.length : builtIn, 0, discover);
}

/**
 * src/capture/dtb.ts's search (the low stub, then self-map scans confirmed by KUSER_SHARED_DATA
 * and the root): the paging modes the machine may have, all of them when the capture does not say.
 * When no candidate is confirmed its CaptureError (naming the best rejected ones) is the answer.
 */
function discoverBySelfMap(physical: PhysicalMemory, context: DiscoveryContext): DiscoveredDtb | undefined {
  const strategies: readonly DtbStrategy[] = context.machine === undefined ? ALL_DTB_STRATEGIES : ALL_DTB_STRATEGIES.filter((s) => (s.paging === 'x64') === (context.machine === 'x64'));
  if (strategies.length === 0) return undefined;
  const found = findDtb(physical, { strategies, ...(context.probes.length ? { root: context.probes[0]! } : {}), ...(context.progress ? { progress: context.progress } : {}) });
  return { dtb: found.dtb, paging: found.paging, evidence: found.summary, method: found.method };
}

// ---------------------------------------------------------------------------------------------
// The formats

/** CaptureMemory (LiME, ELF cores) as a PhysicalCapture. */
function fromCaptureMemory(memory: CaptureMemory): PhysicalCapture {
  return {
    format: memory.format,
    variant: memory.variant,
    machine: memory.machine,
    physical: memory,
    ranges: memory.ranges,
    absent: memory.absent,
    cpus: memory.cpus,
    warnings: [...memory.warnings],
    close: () => memory.close(),
  };
}

/** The signatures a Windows dump starts with: "PAGE" (kernel dumps) or "MDMP" (user-mode minidumps), or a file cut inside one. */
function isDumpHead(head: Uint8Array, context: SniffContext): boolean {
  const s = String.fromCharCode(...head.subarray(0, 8));
  if (s.startsWith('PAGE') || s.startsWith('MDMP')) return true;
  return s.length > 0 && s.length < 8 && context.size < 8 && ['PAGEDU64', 'PAGEDUMP', 'MDMP'].some((d) => d.startsWith(s));
}

function openDump64(source: ByteSource, options: OpenCaptureOptions): PhysicalCapture {
  const dump = readDump(source, options);
  const { info } = dump;
  let at = HDR.Size;
  const ranges: CaptureRange[] = info.runs.map((r) => {
    const fileOffset = info.bitmap ? undefined : at;
    at += r.pageCount * PAGE_SIZE;
    return { physical: r.basePage * PAGE_SIZE, length: r.pageCount * PAGE_SIZE, fileOffset };
  });
  const machine = info.machineImageType === 0x8664 ? 'x64' : info.machineImageType === 0x14c ? 'x86' : undefined;
  return {
    format: 'dump',
    variant: `${info.signature} DumpType ${info.dumpType} (${DUMP_TYPE_NAMES[info.dumpType] ?? 'unknown'}${info.bitmap ? `, ${info.bitmap.signature}` : ''})`,
    machine,
    physical: dump.physical,
    ranges,
    absent: [],
    cpus: [],
    warnings: [...info.warnings],
    paging: 'x64',
    dtb: { value: info.directoryTableBase & ~0xfffn, source: 'header', evidence: `DUMP_HEADER64.DirectoryTableBase ${hex(info.directoryTableBase)} (file offset ${hex(HDR.DirectoryTableBase)})` },
    dump,
    // The header's DTB is checked by the dump, which names the field at fault; --dtb is read as given.
    addressSpace: (dtb, _paging, o) => (dtb.source === 'header' ? dump.image(o) : new PagedImage(dump.physical, dtb.value, o)),
    close: () => dump.close(),
  };
}

/** A 32-bit kernel dump (PAGEDUMP): PaeEnabled gives the paging, DirectoryTableBase the DTB. */
function openDump32Capture(source: ByteSource, options: OpenCaptureOptions): PhysicalCapture {
  const dump = openDump32(source, options);
  const { info } = dump;
  let at = HDR32.Size;
  const ranges: CaptureRange[] = info.runs.map((r) => {
    const fileOffset = info.bitmap ? undefined : at;
    at += r.pageCount * PAGE_SIZE;
    return { physical: r.basePage * PAGE_SIZE, length: r.pageCount * PAGE_SIZE, fileOffset };
  });
  return {
    format: 'dump32',
    variant: `${info.signature} ${info.variant}`,
    machine: 'x86',
    physical: dump.physical,
    ranges,
    absent: [],
    cpus: [],
    warnings: [...info.warnings],
    paging: info.paging,
    dump32: info,
    dtb: info.dtb,
    // The header's DTB is checked by the dump, which names the field at fault; --dtb is read as given.
    addressSpace: (dtb, paging, o) =>
      dtb.source === 'header' && paging === info.paging ? dump.image(o) : addressSpaceFor(paging, dump.physical, dtb.value, o),
    close: () => dump.close(),
  };
}

/** The state files a `.vmem` may have beside it, in the case of its own extension. */
function vmwareStateExtensions(name: string): string[] {
  const m = /\.vmem$/i.exec(name);
  if (!m) return [];
  return m[0] === m[0].toUpperCase() ? ['.VMSS', '.VMSN'] : ['.vmss', '.vmsn'];
}

/** The state file beside a `.vmem` that starts with a VMware magic, opened, or undefined. */
function vmwareStateBeside(context: SniffContext): Reader | undefined {
  for (const ext of vmwareStateExtensions(context.name)) {
    const r = context.sibling(ext);
    if (!r) continue;
    let keep = false;
    try {
      keep = isVmwareState(readAt(r, 0, 4).bytes);
    } catch {
      keep = false;
    }
    if (keep) return r;
    r.close();
  }
  return undefined;
}

/** VMware: a state file (.vmss/.vmsn) by its magic, or a .vmem with one beside it (the one place a name counts). */
function isVmware(head: Uint8Array, context: SniffContext): boolean {
  if (isVmwareState(head)) return true;
  const state = vmwareStateBeside(context);
  state?.close();
  return state !== undefined;
}

/**
 * Opens a VMware capture given as its state file (the memory in the `.vmem` beside it, else inside
 * the state file) or as its `.vmem` (the state file beside it).
 */
function openVmwareCapture(source: ByteSource, options: OpenCaptureOptions, context: SniffContext): PhysicalCapture {
  if (isVmwareState(readAt(source, 0, 4).bytes)) {
    const upper = /\.VMS[SN]$/.test(context.name);
    const vmem = /\.vms[sn]$/i.test(context.name) ? context.sibling(upper ? '.VMEM' : '.vmem') : undefined;
    try {
      return fromCaptureMemory(openVmware(source, vmem, options));
    } catch (e) {
      vmem?.close();
      throw e;
    }
  }
  const state = vmwareStateBeside(context);
  if (!state) throw new CaptureError('vmware', 0, `${source.name}: no VMware state file (${vmwareStateExtensions(context.name).join(' or ')}) beside it`);
  return fromCaptureMemory(openVmware(state, source, options));
}

/** Formats recognised only to be refused, with the way forward (src/capture/sources/refused.ts). */
function openRefused(source: ByteSource): PhysicalCapture {
  const refusal = recogniseRefused(readAt(source, 0, 16).bytes);
  if (!refusal) throw new CaptureError('capture', 0, `${source.name}: not a refused format after all`);
  throw refusalError(refusal, source.name);
}

function openRaw(source: ByteSource, options: OpenCaptureOptions): PhysicalCapture {
  const physical = new RawPhysicalMemory(source, options.cacheFrames);
  if (physical.frameLimit === 0) {
    physical.close();
    throw new DecodeError(0, `${source.name}: the file holds no complete 4 KiB page`);
  }
  return {
    format: 'raw',
    variant: 'raw physical memory image',
    machine: undefined,
    physical,
    ranges: [{ physical: 0, length: physical.frameLimit * PAGE_SIZE, fileOffset: 0 }],
    absent: [],
    cpus: [],
    warnings: source.size % PAGE_SIZE ? [`the last ${source.size % PAGE_SIZE} bytes are not a complete 4 KiB page and are not read`] : [],
    close: () => physical.close(),
  };
}

/**
 * The recognisers, tried in order on the first HEAD_BYTES of the file. A new format is one entry
 * here (or `registerCaptureFormat` from outside the library): 32-bit dumps go before 'dump' (whose
 * reader refuses PAGEDUMP), VMware's `.vmem` + state file before 'raw'.
 */
export const CAPTURE_FORMATS: CaptureRecognizer[] = [
  { id: 'dump32', label: 'a 32-bit Windows crash dump ("PAGEDUMP")', sniff: isDump32, open: openDump32Capture },
  { id: 'dump', label: 'a Windows crash dump ("PAGE")', sniff: isDumpHead, open: openDump64 },
  { id: 'lime', label: 'a LiME capture ("EMiL")', sniff: isLime, open: (s, o) => fromCaptureMemory(openLime(s, o)) },
  { id: 'elf-core', label: 'an ELF core (0x7F "ELF")', sniff: isElf, open: (s, o) => fromCaptureMemory(openElfCore(s, o)) },
  { id: 'vmware', label: 'a VMware capture (.vmss/.vmsn state file, .vmem beside it)', sniff: isVmware, open: openVmwareCapture },
  { id: 'refused', label: 'a capture format this tool does not read', sniff: (head) => recogniseRefused(head) !== undefined, open: openRefused },
  { id: 'raw', label: 'a raw physical memory image', open: openRaw },
];

/** Adds a recogniser, before the one whose id is `before` (default: last, before 'raw'). */
export function registerCaptureFormat(recognizer: CaptureRecognizer, before = 'raw'): void {
  const at = CAPTURE_FORMATS.findIndex((f) => f.id === before);
  CAPTURE_FORMATS.splice(at < 0 ? CAPTURE_FORMATS.length : at, 0, recognizer);
}

/** The SniffContext of a reader, its siblings from `options.sibling`. */
export function sniffContext(reader: Pick<Reader, 'name' | 'size'>, options: Pick<OpenCaptureOptions, 'sibling'>): SniffContext {
  return {
    name: reader.name,
    size: reader.size,
    sibling: (ext) => options.sibling?.(ext),
    hasSibling: (ext) => {
      const r = options.sibling?.(ext);
      r?.close();
      return r !== undefined;
    },
  };
}

/** The recogniser that claims the reader's bytes, or undefined (a region, a raw image, or something else). */
export function recognizeCapture(reader: Reader, options: Pick<OpenCaptureOptions, 'sibling'> = {}): CaptureRecognizer | undefined {
  const head = readAt(reader, 0, Math.min(HEAD_BYTES, reader.size)).bytes;
  const context = sniffContext(reader, options);
  return CAPTURE_FORMATS.find((f) => {
    try {
      return f.sniff?.(head, context) ?? false;
    } catch {
      return false;
    }
  });
}

/**
 * Stage one: recognises the format (or takes `options.format`) and opens its physical memory,
 * reading only the headers. The reader is closed when this throws.
 */
export function openPhysicalCapture(reader: Reader, options: OpenCaptureOptions = {}): PhysicalCapture {
  const source = asByteSource(reader);
  try {
    const format = options.format !== undefined ? CAPTURE_FORMATS.find((f) => f.id === options.format) : recognizeCapture(source, options);
    if (!format) {
      if (options.format !== undefined) throw new UsageError(`unknown capture format '${options.format}' (known: ${CAPTURE_FORMATS.map((f) => f.id).join(', ')})`);
      const sniffed = CAPTURE_FORMATS.filter((f) => f.sniff && f.id !== 'refused').map((f) => f.label);
      throw new CaptureError('capture', 0, `${reader.name} is not a capture this library recognises (${sniffed.join(', ')}); a raw image is opened with format 'raw'`);
    }
    return format.open(source, options, sniffContext(source, options));
  } catch (e) {
    source.close();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Choosing the DTB

function pagingOf(capture: PhysicalCapture, options: OpenCaptureOptions, cpu?: CpuState): PagingMode {
  if (options.paging) return options.paging;
  if (capture.paging) return capture.paging;
  if (capture.machine === 'x86') return cpu?.cr4 !== undefined && (cpu.cr4 >> 5n) & 1n ? 'pae' : 'non-pae';
  return 'x64';
}

/** Whether `address` is mapped in `image` (one byte). */
function maps(image: MemoryImage, address: bigint): boolean {
  return image.locate(address, 1, new Location());
}

/** The first mapped kernel address, looking at no more than a few thousand table entries. */
function firstKernelPage(physical: PhysicalMemory, dtb: bigint, paging: PagingMode): bigint | undefined {
  if (paging === 'none') return undefined;
  const image = addressSpaceFor(paging, physical, dtb, { maxWalk: 1 << 14, tlbEntries: 1 });
  for (const r of image.ranges()) if (r.address >= KERNEL_START[paging]) return r.address;
  return undefined;
}

/**
 * Among the CPUs' CR3s, the first that maps the probe addresses (the root), else the first that
 * maps KUSER_SHARED_DATA, else the first that maps any kernel page; a CR3 whose table is not in
 * memory is passed over. The evidence says why, and what was passed over.
 */
function chooseCpu(capture: PhysicalCapture, options: OpenCaptureOptions): { dtb: DtbChoice; paging: PagingMode } {
  const n = capture.cpus.length;
  const passed: string[] = [];
  const opened: { cpu: CpuState; paging: PagingMode; image: MemoryImage }[] = [];
  let firstError: unknown;
  for (const cpu of capture.cpus) {
    const paging = pagingOf(capture, options, cpu);
    try {
      opened.push({ cpu, paging, image: addressSpaceFor(paging, capture.physical, cpu.dtb, { tlbEntries: 1 }) });
    } catch (e) {
      firstError ??= new CaptureError(capture.format, cpu.fileOffset, `CPU ${cpu.index}'s CR3 ${hex(cpu.cr3)}: ${(e as Error).message}`);
      passed.push(`CPU ${cpu.index}: its table ${hex(cpu.dtb)} is not in memory`);
    }
  }
  if (opened.length === 0) throw firstError;
  const pick = (o: (typeof opened)[number], why: string): { dtb: DtbChoice; paging: PagingMode } => ({
    dtb: {
      value: o.cpu.dtb,
      source: 'cpu-note',
      cpu: o.cpu.index,
      evidence: `CPU ${o.cpu.index} of ${n}: CR3 ${hex(o.cpu.cr3)} (file offset ${hex(o.cpu.fileOffset)}, ${o.cpu.masked}) ${why}${passed.length ? `; passed over: ${passed.join(', ')}` : ''}`,
    },
    paging: o.paging,
  });
  const probes = options.probes ?? [];
  if (probes.length) {
    for (const o of opened) {
      if (probes.every((p) => maps(o.image, p))) return pick(o, `maps ${probes.map(hex).join(', ')}`);
      passed.push(`CPU ${o.cpu.index}: does not map ${probes.map(hex).join(', ')}`);
    }
  }
  for (const o of opened) {
    if (o.paging !== 'none' && maps(o.image, KUSER_SHARED_DATA[o.paging])) return pick(o, `maps KUSER_SHARED_DATA ${hex(KUSER_SHARED_DATA[o.paging])}`);
  }
  for (const o of opened) {
    const first = firstKernelPage(capture.physical, o.cpu.dtb, o.paging);
    if (first !== undefined) return pick(o, `maps kernel space (first at ${hex(first)}; KUSER_SHARED_DATA is not mapped)`);
    passed.push(`CPU ${o.cpu.index}: maps no kernel page`);
  }
  const o = opened[0]!;
  capture.warnings.push(`no CPU's CR3 maps kernel space: CPU ${o.cpu.index}'s is used`);
  return pick(o, 'is the first whose table is in memory');
}

function chooseDtb(capture: PhysicalCapture, name: string, options: OpenCaptureOptions): { dtb: DtbChoice; paging: PagingMode } {
  if (options.dtb !== undefined) {
    return { dtb: { value: options.dtb, source: 'option', evidence: 'given' }, paging: pagingOf(capture, options) };
  }
  if (capture.dtb) return { dtb: capture.dtb, paging: pagingOf(capture, options) };
  if (capture.cpus.length) return chooseCpu(capture, options);
  let failed: CaptureError | undefined;
  for (const discover of DTB_DISCOVERY) {
    let found: DiscoveredDtb | undefined;
    try {
      found = discover(capture.physical, { name, machine: capture.machine, probes: options.probes ?? [], warnings: capture.warnings, ...(options.progress ? { progress: options.progress } : {}) });
    } catch (e) {
      if (!(e instanceof CaptureError)) throw e;
      failed ??= e;
      continue;
    }
    if (found) return { dtb: { value: found.dtb, source: 'discovery', evidence: found.evidence, ...(found.method ? { method: found.method } : {}) }, paging: options.paging ?? found.paging };
  }
  if (failed) throw failed;
  throw new UsageError(
    `${name}: ${capture.variant === 'raw physical memory image' ? 'a raw physical memory image' : `${capture.variant}`} records no CPU state, so the DTB must be given: the kernel's CR3 / DirectoryTableBase (--dtb HEX)`,
  );
}

/**
 * Stage two: chooses the DTB and the paging mode and builds the address space. Throws (and
 * leaves `capture` open: the caller may still report on it) when no address space can be made.
 */
export function captureAddressSpace(capture: PhysicalCapture, name: string, options: OpenCaptureOptions = {}): Capture {
  const { dtb, paging } = chooseDtb(capture, name, options);
  const image = capture.addressSpace ? capture.addressSpace(dtb, paging, options) : addressSpaceFor(paging, capture.physical, dtb.value, options);
  return {
    name,
    format: capture.format,
    variant: capture.variant,
    machine: capture.machine,
    abi: paging === 'x64' ? 'x64' : paging === 'none' ? undefined : 'x86',
    paging,
    dtb,
    image,
    physical: capture.physical,
    ranges: capture.ranges,
    absent: capture.absent,
    cpus: capture.cpus,
    warnings: capture.warnings,
    ...(capture.dump ? { dump: capture.dump } : {}),
    ...(capture.dump32 ? { dump32: capture.dump32 } : {}),
    close: () => capture.close(),
  };
}

/**
 * Opens a capture read through `reader` (Node: `openFileReader(path)`; a browser Worker:
 * `new BlobReader(file)`): crash dumps, LiME, ELF cores of virtual machines, whatever
 * CAPTURE_FORMATS holds; `{ format: 'raw' }` for a raw physical image. Reads headers and notes,
 * never the memory (DTB discovery aside). `close()` closes the reader; so does a throw.
 */
export function openCaptureImage(reader: Reader, options: OpenCaptureOptions = {}): Capture {
  const physical = openPhysicalCapture(reader, options);
  try {
    return captureAddressSpace(physical, reader.name, options);
  } catch (e) {
    physical.close();
    throw e;
  }
}

/** Regions and segments are captures too: format 'region', their own virtual addresses, no paging. */
export function regionCapture(segments: readonly Segment[]): Capture {
  const image = new SegmentImage([...segments]);
  const first = image.segments[0]!;
  return {
    name: first.name ?? 'region',
    format: 'region',
    variant: image.segments.length === 1 ? `one region at ${hex(first.base)}` : `${image.segments.length} segments`,
    machine: undefined,
    abi: undefined,
    paging: 'none',
    dtb: undefined,
    image,
    physical: undefined,
    ranges: [],
    absent: [],
    cpus: [],
    warnings: [],
    close: () => {},
  };
}

// ---------------------------------------------------------------------------------------------
// Physical memory only, for LiME and ELF cores (the API before openCaptureImage; kept for callers).

interface SourceFormat {
  readonly id: CaptureMemory['format'];
  /** Looks at the first bytes only; never throws. */
  sniff(head: Uint8Array): boolean;
  open(source: ByteSource, options: OpenSourceOptions): CaptureMemory;
}

/** The container formats openCaptureSource reads, in the order they are tried. */
export const SOURCE_FORMATS: readonly SourceFormat[] = [
  { id: 'lime', sniff: isLime, open: openLime },
  { id: 'elf-core', sniff: isElf, open: openElfCore },
];

/** The LiME or ELF core format whose magic the reader starts with, or undefined. */
export function sniffSource(reader: Reader): CaptureMemory['format'] | undefined {
  const head = readAt(reader, 0, 16).bytes;
  return SOURCE_FORMATS.find((f) => f.sniff(head))?.id;
}

/**
 * Opens a LiME capture or an ELF core as physical memory only (`new PagedImage(capture, dtb)`
 * reads through it); openCaptureImage does that and chooses the DTB too.
 */
export function openCaptureSource(reader: Reader, options: OpenSourceOptions = {}): CaptureMemory {
  const source = asByteSource(reader);
  const head = readAt(source, 0, 16).bytes;
  const format = SOURCE_FORMATS.find((f) => f.sniff(head));
  if (!format) throw new CaptureError('capture', 0, `${reader.name} is neither a LiME capture ("EMiL") nor an ELF core (0x7F "ELF")`);
  return format.open(source, options);
}
