import { type Capture, PAGING_NAMES, type PhysicalCapture, captureAddressSpace, openPhysicalCapture } from '../../capture/open.js';
import { openFileReader } from '../../capture/reader.js';
import type { Dump32Info } from '../../capture/sources/dump32.js';
import { type DumpInfo, openDump } from '../../codec/dump.js';
import { PAGE_SIZE } from '../../codec/physical.js';
import { escapeText, jsonText } from '../../codec/text.js';
import { OffloadError, UsageError } from '../../errors.js';
import { paletteFor, type Palette } from '../format-tree.js';
import { EXIT, type Io, STDIO, parseAddress, parseOptions, refuseOptions } from '../io.js';
import { progressBar } from '../progress.js';
import { SOURCE_OPTIONS, inFile, looksLikeDump, openSource, refuseRefused, siblingOf, sniffFile } from '../source.js';

export const INFO_HELP = `Usage: ndis-offload info CAPTURE [--dtb HEX] [--json]
       ndis-offload info --physical IMAGE [--dtb HEX] [--json]
       ndis-offload info IMAGE --base HEX | --segment FILE@HEX ... [--json]

What a capture says about itself, and how it is read: format and variant, machine, ABI, paging
mode, the DTB and where it came from (the dump header, a CPU's CR3 in an ELF core or a VMware
state file, discovery with its evidence, --dtb), the physical memory ranges, each CPU's CR3 where
the format records them, and anything odd. For a Windows crash dump, 64- or 32-bit, also its
header: dump type, OS build, processors, bugcheck code and parameters, system time, PaeEnabled
(32-bit), how many pages the file stores, and the RDMP header (DumpTypes 8, 9, 10). Reads
headers and notes only, except when the DTB of a raw image or LiME capture is searched for (a
progress bar on stderr for large images).

Options:
  --dtb HEX                 read through this DTB instead of the capture's own
  --json                    print the same as a JSON object (docs/crash-dumps.md)

Examples:
  ndis-offload info fixtures/sample-x64.dmp
  ndis-offload info guest.elf
  ndis-offload info guest.vmem
  ndis-offload info --physical memory.raw
  ndis-offload info MEMORY.DMP --json | jq .bugCheck`;

/** Names of the bugchecks a dump of a network driver problem most often carries. */
const BUGCHECKS: Readonly<Record<number, string>> = {
  0x0a: 'IRQL_NOT_LESS_OR_EQUAL',
  0x19: 'BAD_POOL_HEADER',
  0x1a: 'MEMORY_MANAGEMENT',
  0x1e: 'KMODE_EXCEPTION_NOT_HANDLED',
  0x3b: 'SYSTEM_SERVICE_EXCEPTION',
  0x50: 'PAGE_FAULT_IN_NONPAGED_AREA',
  0x7e: 'SYSTEM_THREAD_EXCEPTION_NOT_HANDLED',
  0x7f: 'UNEXPECTED_KERNEL_MODE_TRAP',
  0x9f: 'DRIVER_POWER_STATE_FAILURE',
  0xc2: 'BAD_POOL_CALLER',
  0xc4: 'DRIVER_VERIFIER_DETECTED_VIOLATION',
  0xd1: 'DRIVER_IRQL_NOT_LESS_OR_EQUAL',
  0xe2: 'MANUALLY_INITIATED_CRASH',
  0xef: 'CRITICAL_PROCESS_DIED',
  0x101: 'CLOCK_WATCHDOG_TIMEOUT',
  0x124: 'WHEA_UNCORRECTABLE_ERROR',
  0x133: 'DPC_WATCHDOG_VIOLATION',
  0x139: 'KERNEL_SECURITY_CHECK_FAILURE',
  0x161: 'LIVE_SYSTEM_DUMP',
};

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;
const hex64 = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;
const hex32 = (v: bigint): string => `0x${v.toString(16).padStart(8, '0')}`;

/** A crash dump's header: 64-bit (PAGEDU64) or 32-bit (PAGEDUMP). */
export type HeaderInfo = DumpInfo | Dump32Info;
const is32 = (info: HeaderInfo): info is Dump32Info => 'format' in info && info.format === 'windows-crash-dump-32';
/** A pointer as the header holds it: 16 hex digits in a 64-bit dump, 8 in a 32-bit one. */
const pointer = (info: HeaderInfo): ((v: bigint) => string) => (is32(info) ? hex32 : hex64);

/** The page table CR3 names: its name, and the bits of DirectoryTableBase that are not its address. */
function topTable(info: HeaderInfo): { name: string; key: string; address: bigint; flags: bigint; flagBits: number } {
  if (!is32(info)) return { name: 'PML4', key: 'pml4', address: info.directoryTableBase & ~0xfffn, flags: info.directoryTableBase & 0xfffn, flagBits: 12 };
  // PAE's CR3 names a 32-byte aligned PDPT; non-PAE's a page directory, page aligned.
  const bits = info.paging === 'pae' ? 5 : 12;
  const mask = (1n << BigInt(bits)) - 1n;
  return info.paging === 'pae'
    ? { name: 'PDPT', key: 'pdpt', address: info.directoryTableBase & ~mask, flags: info.directoryTableBase & mask, flagBits: bits }
    : { name: 'page directory', key: 'pageDirectory', address: info.directoryTableBase & ~mask, flags: info.directoryTableBase & mask, flagBits: bits };
}

/**
 * The `info --json` object: every header field, of a 64-bit or a 32-bit dump. Every value the dump
 * holds in 64 bits, and every count derived from them, is a string, so that no JSON reader rounds
 * it: hex for addresses and file offsets, decimal for counts and sizes. 32-bit values are numbers.
 */
export function infoJson(info: HeaderInfo, extraWarnings: readonly string[] = []): Record<string, unknown> {
  const ptr = pointer(info);
  const table = topTable(info);
  const rdmp = is32(info) ? undefined : info.rdmp;
  return {
    file: info.fileName,
    fileSize: info.fileSize,
    signature: info.signature,
    dumpType: info.dumpType,
    dumpTypeName: info.dumpTypeName,
    majorVersion: info.majorVersion,
    checkedBuild: info.majorVersion === 0xc,
    osBuild: info.minorVersion,
    machine: hex(info.machineImageType),
    machineName: info.machineName,
    processors: info.numberProcessors,
    bugCheck: {
      code: `0x${info.bugCheckCode.toString(16).padStart(8, '0')}`,
      name: BUGCHECKS[info.bugCheckCode] ?? null,
      parameters: info.bugCheckParameters.map(ptr),
    },
    systemTime: info.systemTime?.toISOString() ?? null,
    systemTimeRaw: hex(info.systemTimeRaw),
    systemUpTime: String(info.systemUpTime),
    systemUpTimeSeconds: Number(info.systemUpTime) / 1e7,
    directoryTableBase: ptr(info.directoryTableBase),
    ...(is32(info) ? { paeEnabled: info.paging === 'pae' } : {}),
    [table.key]: hex(table.address),
    pfnDataBase: ptr(info.pfnDataBase),
    psLoadedModuleList: ptr(info.psLoadedModuleList),
    psActiveProcessHead: ptr(info.psActiveProcessHead),
    kdDebuggerDataBlock: ptr(info.kdDebuggerDataBlock),
    requiredDumpSpace: String(info.requiredDumpSpace),
    physicalMemory: {
      numberOfPages: String(info.numberOfPages),
      runs: info.runs.map((r) => ({ basePage: hex(r.basePage), pageCount: String(r.pageCount) })),
    },
    pagesStored: String(info.pagesStored),
    bitmap: info.bitmap
      ? { signature: info.bitmap.signature, firstPage: hex(info.bitmap.firstPage), totalPresentPages: String(info.bitmap.totalPresentPages), bits: String(info.bitmap.bits) }
      : null,
    rdmp: rdmp
      ? {
          metadataSize: String(rdmp.metadataSize),
          firstPageOffset: hex(rdmp.firstPage),
          ranges: String(rdmp.ranges.length),
          numberOfRanges: rdmp.numberOfRanges ?? null,
          totalNumberOfPages: rdmp.totalNumberOfPages === undefined ? null : String(rdmp.totalNumberOfPages),
        }
      : null,
    comment: info.comment,
    warnings: [...info.warnings, ...extraWarnings],
  };
}

const bytesText = (n: number): string =>
  n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(n % 2 ** 30 ? 2 : 0)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(n % 2 ** 20 ? 2 : 0)} MiB` : `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} KiB`;

function upTime(units: bigint): string {
  let s = Number(units / 10_000_000n);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  return `${d ? `${d}d ` : ''}${h}h ${m}m ${s - m * 60}s`;
}

const INFO_OPTIONS = { ...SOURCE_OPTIONS, json: { type: 'boolean' } } as const;

/** The capture's part of `info --json`: every 64-bit value a string. */
export function captureJson(c: Capture | PhysicalCapture, space: { dtb: Capture['dtb']; paging: Capture['paging'] | undefined; abi: Capture['abi'] }): Record<string, unknown> {
  return {
    format: c.format,
    variant: c.variant,
    machine: c.machine ?? null,
    abi: space.abi ?? null,
    paging: space.paging ?? null,
    dtb: space.dtb ? { value: hex(space.dtb.value), source: space.dtb.source, evidence: space.dtb.evidence, cpu: space.dtb.cpu ?? null } : null,
    ranges: c.ranges.map((r) => ({ physical: hex(r.physical), length: String(r.length), fileOffset: r.fileOffset === undefined ? null : hex(r.fileOffset) })),
    absent: c.absent.map((r) => ({ physical: hex(r.physical), length: String(r.length), why: r.why })),
    cpus: c.cpus.map((x) => ({ index: x.index, cr3: hex(x.cr3), dtb: hex(x.dtb), cr4: x.cr4 === undefined ? null : hex(x.cr4), masked: x.masked, fileOffset: hex(x.fileOffset) })),
  };
}

/** The capture's rows of the `info` text. */
function captureRows(c: Capture | PhysicalCapture, space: { dtb: Capture['dtb']; paging: Capture['paging'] | undefined; abi: Capture['abi'] }, row: (k: string, v: string) => void, dumpHeader: boolean): void {
  row('format', `${escapeText(c.format)} (${escapeText(c.variant)})`);
  if (!dumpHeader) row('machine', c.machine ?? 'not recorded');
  row('ABI', space.abi ?? 'not known (give --abi)');
  row('paging', space.paging ? PAGING_NAMES[space.paging] : 'not known');
  if (space.dtb) {
    const from = { option: '--dtb', header: 'the header', 'cpu-note': `CPU ${space.dtb.cpu}'s CR3`, 'state-file': 'the state file', discovery: 'discovery' }[space.dtb.source];
    row(dumpHeader ? 'DTB source' : 'DTB', `${dumpHeader ? '' : `${hex(space.dtb.value)} `}from ${from}: ${escapeText(space.dtb.evidence)}`);
  } else if (!dumpHeader) row('DTB', space.paging === 'none' ? 'none (a region is addressed as given)' : 'none');
  if (!dumpHeader && c.format !== 'region') {
    const total = c.ranges.reduce((n, r) => n + r.length, 0);
    row('physical memory', `${c.ranges.length} range${c.ranges.length === 1 ? '' : 's'}, ${bytesText(total)}`);
    for (const r of c.ranges) row('', `${hex(r.physical)}-${hex(r.physical + r.length - 1)}  ${bytesText(r.length)}${r.fileOffset === undefined ? '' : `  at file offset ${hex(r.fileOffset)}`}`);
    for (const r of c.absent) row('', `${hex(r.physical)}-${hex(r.physical + r.length - 1)}  ${bytesText(r.length)}  absent: ${escapeText(r.why)}`);
  }
  if (c.cpus.length) {
    row('CPUs', String(c.cpus.length));
    for (const x of c.cpus) {
      const chosen = space.dtb?.source === 'cpu-note' && space.dtb.cpu === x.index;
      row(`CPU ${x.index}`, `CR3 ${hex(x.cr3)} (table at ${hex(x.dtb)}; ${x.masked})${x.cr4 === undefined ? '' : ` CR4 ${hex(x.cr4)}`}${chosen ? ', chosen' : ''}`);
    }
  }
}

export function runInfo(argv: string[], io: Io): number {
  const { values, positionals } = parseOptions(argv, INFO_OPTIONS);
  refuseOptions(values, ['ndis'], (o) => `${o} does not apply to info: it reads no tree`);
  const p = paletteFor(io.stdoutIsTty, io.env);
  const sourceGiven = values.base !== undefined || values.segment?.length || values.physical !== undefined;
  if (sourceGiven) {
    // Regions, segments and raw images: what openSource makes of them.
    const source = openSource(values, positionals, io);
    try {
      const c = source.capture;
      return print(io, p, values.json, { file: source.name, fileSize: sizeOf(c) }, c, { dtb: c.dtb, paging: c.paging, abi: source.abi.name as Capture['abi'] }, undefined, []);
    } finally {
      source.close();
    }
  }
  if (positionals.length !== 1) throw new UsageError(`expected one CAPTURE, got ${positionals.length}`);
  const path = positionals[0]!;
  if (path === STDIO) throw new UsageError("a crash dump must be a seekable file: give its path, not '-' (standard input)");
  if (values.abi !== undefined) throw new UsageError(`--abi does not apply to info ${path}: info reports the ABI the capture's paging gives (--abi applies to IMAGE --base and --physical)`);
  const sniffed = sniffFile(path);
  refuseRefused(path, sniffed);
  const dumpLike = looksLikeDump(path, true);
  if (!dumpLike && !sniffed) {
    // Nothing in its bytes names a capture: the dump reader says what the file is not.
    inFile(path, () => openDump(path)).close();
    throw new UsageError(`${path}: not a capture`);
  }
  const reader = inFile(path, () => openFileReader(path));
  const dtb = values.dtb === undefined ? undefined : parseAddress(values.dtb, '--dtb');
  const physical = inFile(path, () => openPhysicalCapture(reader, { ...(dumpLike && !sniffed ? { format: 'dump' } : {}), sibling: siblingOf(path) }));
  const extra: string[] = [];
  let space: { dtb: Capture['dtb']; paging: Capture['paging'] | undefined; abi: Capture['abi'] };
  try {
    // Whether the address space opens: the DTB's frame stored, a machine whose paging is read.
    try {
      const bar = progressBar(io, 'finding the DTB');
      let c: Capture;
      try {
        c = captureAddressSpace(physical, path, { ...(dtb === undefined ? {} : { dtb }), progress: (done, total) => bar.update(done, total) });
      } finally {
        bar.end();
      }
      space = { dtb: c.dtb, paging: c.paging, abi: c.abi };
    } catch (e) {
      if (!(e instanceof OffloadError)) throw e;
      extra.push(e.message);
      space = { dtb: physical.dtb, paging: physical.paging, abi: physical.paging === 'x64' ? 'x64' : undefined };
    }
  } finally {
    physical.close();
  }
  return print(io, p, values.json, { file: path, fileSize: reader.size }, physical, space, physical.dump?.info ?? physical.dump32, extra);
}

const sizeOf = (c: Capture): number | null => (c.image as { segments?: readonly { bytes: Uint8Array }[] }).segments?.reduce((n, x) => n + x.bytes.length, 0) ?? null;

function print(
  io: Io,
  p: Palette,
  json: boolean | undefined,
  file: { file: string; fileSize: number | null },
  c: Capture | PhysicalCapture,
  space: { dtb: Capture['dtb']; paging: Capture['paging'] | undefined; abi: Capture['abi'] },
  info: HeaderInfo | undefined,
  extra: readonly string[],
): number {
  const warnings = [...c.warnings, ...extra];
  if (json) {
    const head = info ? infoJson(info, extra) : { file: file.file, fileSize: file.fileSize };
    io.out(`${jsonText({ ...head, capture: captureJson(c, space), warnings }, 2)}\n`);
    return EXIT.OK;
  }
  const rows: [string, string][] = [];
  const row = (k: string, v: string): number => rows.push([k, v]);
  if (info) {
    dumpRows(info, row);
    captureRows(c, space, row, true);
  } else {
    row('file', `${escapeText(file.file)}${file.fileSize === null ? '' : ` (${file.fileSize} bytes, ${bytesText(file.fileSize)})`}`);
    captureRows(c, space, row, false);
  }
  if (warnings.length === 0) row('warnings', 'none');
  warnings.forEach((w, i) => row(i === 0 ? 'warnings' : '', p.yellow(escapeText(w))));
  const width = Math.max(...rows.map(([k]) => k.length));
  io.out(rows.map(([k, v]) => `${p.bold(k.padEnd(width))}  ${v}`).join('\n') + '\n');
  return EXIT.OK;
}

/** The rows of a crash dump's header, 64-bit or 32-bit. */
function dumpRows(info: HeaderInfo, row: (k: string, v: string) => void): void {
  const ptr = pointer(info);
  row('file', `${escapeText(info.fileName)} (${info.fileSize} bytes, ${bytesText(info.fileSize)})`);
  row('signature', escapeText(info.signature));
  row('dump type', `${info.dumpType} (${info.dumpTypeName}${info.bitmap ? `, ${escapeText(info.bitmap.signature)}` : ''})`);
  row('OS build', `${info.minorVersion} (${info.majorVersion === 0xf ? 'free' : info.majorVersion === 0xc ? 'checked' : 'MajorVersion ' + hex(info.majorVersion)} build)`);
  row('machine', `${hex(info.machineImageType)} (${info.machineName})`);
  row('processors', String(info.numberProcessors));
  const name = BUGCHECKS[info.bugCheckCode];
  row('bugcheck', `0x${info.bugCheckCode.toString(16).padStart(8, '0')}${name ? ` ${name}` : ''}`);
  row('parameters', info.bugCheckParameters.map(ptr).join(' '));
  row('system time', info.systemTime ? info.systemTime.toISOString() : `${hex(info.systemTimeRaw)} (not a date)`);
  row('up time', upTime(info.systemUpTime));
  const t = topTable(info);
  const ignored = is32(info) ? 'flags' : 'the PCID or flags';
  row('DTB', `${ptr(info.directoryTableBase)} (${t.name} at physical ${hex(t.address)}${t.flags ? `; low ${t.flagBits} bits ${hex(t.flags)}, ${ignored}, ignored` : ''})`);
  if (is32(info)) row('PaeEnabled', info.paging === 'pae' ? '1 (PAE paging)' : '0 (non-PAE paging)');
  row('KdDebuggerDataBlock', ptr(info.kdDebuggerDataBlock));
  row('PsLoadedModuleList', ptr(info.psLoadedModuleList));
  row('PsActiveProcessHead', ptr(info.psActiveProcessHead));
  row('PfnDataBase', ptr(info.pfnDataBase));
  row('physical memory', `${info.runs.length} runs, ${info.numberOfPages} pages (${bytesText(Number(info.numberOfPages) * PAGE_SIZE)})`);
  for (const r of info.runs) {
    row('', `PFN ${hex(r.basePage)}-${hex(r.basePage + r.pageCount - 1)}  ${r.pageCount} pages  (physical ${hex(r.basePage * PAGE_SIZE)}, ${bytesText(r.pageCount * PAGE_SIZE)})`);
  }
  row('pages stored', `${info.pagesStored} (${bytesText(info.pagesStored * PAGE_SIZE)})`);
  if (info.bitmap) {
    row('bitmap', `${info.bitmap.bits} bits, ${info.bitmap.totalPresentPages} present, first page at file offset ${hex(info.bitmap.firstPage)}`);
  }
  const rdmp = is32(info) ? undefined : info.rdmp;
  if (rdmp) {
    row('MetadataSize', `${hex(rdmp.metadataSize)} (${rdmp.metadataSize} bytes)`);
    row('FirstPageOffset', hex(rdmp.firstPage));
    const pages = rdmp.ranges.reduce((n, r) => n + r.pageCount, 0);
    row('ranges', `${rdmp.ranges.length} (${pages} pages)`);
    if (rdmp.numberOfRanges !== undefined) row('NumberOfRanges', String(rdmp.numberOfRanges));
    if (rdmp.totalNumberOfPages !== undefined) row('TotalNumberOfPages', String(rdmp.totalNumberOfPages));
  }
  row('required space', `${info.requiredDumpSpace} bytes`);
  if (info.comment) row('comment', escapeText(info.comment));
}
