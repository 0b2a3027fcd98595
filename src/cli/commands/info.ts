import { type DumpInfo, openDump } from '../../codec/dump.js';
import { PAGE_SIZE } from '../../codec/physical.js';
import { escapeText, jsonText } from '../../codec/text.js';
import { DumpError, UsageError } from '../../errors.js';
import { paletteFor } from '../format-tree.js';
import { EXIT, type Io, STDIO, parseOptions } from '../io.js';
import { inFile } from '../source.js';

export const INFO_HELP = `Usage: ndis-offload info MEMORY.DMP [--json]

What a 64-bit Windows kernel crash dump says about itself: dump type, OS build, machine,
processors, bugcheck code and parameters, system time, DirectoryTableBase, the physical memory
runs, how many pages the file stores, and anything odd (a truncated file, counts that disagree).
Reads the header and the page bitmap only.

Options:
  --json                    print the same as a JSON object (docs/crash-dumps.md)

Examples:
  ndis-offload info fixtures/sample-x64.dmp
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

/**
 * The `info --json` object: every DumpInfo field. Every value the dump holds in 64 bits, and every
 * count derived from them, is a string, so that no JSON reader rounds it: hex for addresses and
 * file offsets, decimal for counts and sizes. 32-bit values are numbers.
 */
export function infoJson(info: DumpInfo, extraWarnings: readonly string[] = []): Record<string, unknown> {
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
      parameters: info.bugCheckParameters.map(hex64),
    },
    systemTime: info.systemTime?.toISOString() ?? null,
    systemTimeRaw: hex(info.systemTimeRaw),
    systemUpTime: String(info.systemUpTime),
    systemUpTimeSeconds: Number(info.systemUpTime) / 1e7,
    directoryTableBase: hex64(info.directoryTableBase),
    pml4: hex(info.directoryTableBase & ~0xfffn),
    pfnDataBase: hex64(info.pfnDataBase),
    psLoadedModuleList: hex64(info.psLoadedModuleList),
    psActiveProcessHead: hex64(info.psActiveProcessHead),
    kdDebuggerDataBlock: hex64(info.kdDebuggerDataBlock),
    requiredDumpSpace: String(info.requiredDumpSpace),
    physicalMemory: {
      numberOfPages: String(info.numberOfPages),
      runs: info.runs.map((r) => ({ basePage: hex(r.basePage), pageCount: String(r.pageCount) })),
    },
    pagesStored: String(info.pagesStored),
    bitmap: info.bitmap
      ? { signature: info.bitmap.signature, firstPage: hex(info.bitmap.firstPage), totalPresentPages: String(info.bitmap.totalPresentPages), bits: String(info.bitmap.bits) }
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

export function runInfo(argv: string[], io: Io): number {
  const { values, positionals } = parseOptions(argv, { json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError(`expected one MEMORY.DMP, got ${positionals.length}`);
  const path = positionals[0]!;
  if (path === STDIO) throw new UsageError("a crash dump must be a seekable file: give its path, not '-' (standard input)");
  const dump = inFile(path, () => openDump(path));
  const extra: string[] = [];
  try {
    // Whether the address space opens: the DTB's frame stored, an x64 machine.
    try {
      dump.image();
    } catch (e) {
      if (!(e instanceof DumpError)) throw e;
      extra.push(e.message);
    }
  } finally {
    dump.close();
  }
  const { info } = dump;
  if (values.json) {
    io.out(`${jsonText(infoJson(info, extra), 2)}\n`);
    return EXIT.OK;
  }
  const p = paletteFor(io.stdoutIsTty, io.env);
  const rows: [string, string][] = [];
  const row = (k: string, v: string): number => rows.push([k, v]);
  row('file', `${escapeText(info.fileName)} (${info.fileSize} bytes, ${bytesText(info.fileSize)})`);
  row('signature', escapeText(info.signature));
  row('dump type', `${info.dumpType} (${info.dumpTypeName}${info.bitmap ? `, ${escapeText(info.bitmap.signature)}` : ''})`);
  row('OS build', `${info.minorVersion} (${info.majorVersion === 0xf ? 'free' : info.majorVersion === 0xc ? 'checked' : 'MajorVersion ' + hex(info.majorVersion)} build)`);
  row('machine', `${hex(info.machineImageType)} (${info.machineName})`);
  row('processors', String(info.numberProcessors));
  const name = BUGCHECKS[info.bugCheckCode];
  row('bugcheck', `0x${info.bugCheckCode.toString(16).padStart(8, '0')}${name ? ` ${name}` : ''}`);
  row('parameters', info.bugCheckParameters.map(hex64).join(' '));
  row('system time', info.systemTime ? info.systemTime.toISOString() : `${hex(info.systemTimeRaw)} (not a date)`);
  row('up time', upTime(info.systemUpTime));
  const flags = info.directoryTableBase & 0xfffn;
  row('DTB', `${hex64(info.directoryTableBase)} (PML4 at physical ${hex(info.directoryTableBase & ~0xfffn)}${flags ? `; low 12 bits ${hex(flags)}, the PCID or flags, ignored` : ''})`);
  row('KdDebuggerDataBlock', hex64(info.kdDebuggerDataBlock));
  row('PsLoadedModuleList', hex64(info.psLoadedModuleList));
  row('PsActiveProcessHead', hex64(info.psActiveProcessHead));
  row('PfnDataBase', hex64(info.pfnDataBase));
  row('physical memory', `${info.runs.length} runs, ${info.numberOfPages} pages (${bytesText(Number(info.numberOfPages) * PAGE_SIZE)})`);
  for (const r of info.runs) {
    row('', `PFN ${hex(r.basePage)}-${hex(r.basePage + r.pageCount - 1)}  ${r.pageCount} pages  (physical ${hex(r.basePage * PAGE_SIZE)}, ${bytesText(r.pageCount * PAGE_SIZE)})`);
  }
  row('pages stored', `${info.pagesStored} (${bytesText(info.pagesStored * PAGE_SIZE)})`);
  if (info.bitmap) {
    row('bitmap', `${info.bitmap.bits} bits, ${info.bitmap.totalPresentPages} present, first page at file offset ${hex(info.bitmap.firstPage)}`);
  }
  row('required space', `${info.requiredDumpSpace} bytes`);
  if (info.comment) row('comment', escapeText(info.comment));
  const warnings = [...info.warnings, ...extra];
  if (warnings.length === 0) row('warnings', 'none');
  warnings.forEach((w, i) => row(i === 0 ? 'warnings' : '', p.yellow(escapeText(w))));
  const width = Math.max(...rows.map(([k]) => k.length));
  io.out(rows.map(([k, v]) => `${p.bold(k.padEnd(width))}  ${v}`).join('\n') + '\n');
  return EXIT.OK;
}
