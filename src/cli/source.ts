/**
 * Where the memory comes from: a region file at --base, several --segment FILE@HEX, a Windows
 * kernel crash dump (recognised by its signature: it brings its own address space), or a raw
 * physical memory image read through the page tables at --dtb. Sources that hold a file open are
 * closed by `close()`; commands call it when they are done, error or not.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { type CrashDump, openDump } from '../codec/dump.js';
import { type MemoryImage, type Segment, SegmentImage } from '../codec/image.js';
import { PagedImage } from '../codec/paged.js';
import { openPhysicalImage } from '../codec/physical.js';
import { DecodeError, DumpError, UsageError } from '../errors.js';
import { type Abi, abiByName } from '../layout/abi.js';
import { type Io, parseAddress, readFileNamed } from './io.js';

export const SOURCE_OPTIONS = {
  base: { type: 'string' },
  segment: { type: 'string', multiple: true },
  physical: { type: 'string' },
  dtb: { type: 'string' },
} as const;

/** The text of the sources for a command's --help. */
export const SOURCES_HELP = `  IMAGE --base HEX          a file of captured memory whose first byte is at virtual address HEX
  --segment FILE@HEX ...    several captured regions (instead of IMAGE --base)
  MEMORY.DMP                a 64-bit Windows kernel crash dump (full or bitmap), recognised by
                            its signature: no --base, the dump's page tables give the addresses
                            (--dtb HEX reads through another DirectoryTableBase)
  --physical IMAGE --dtb HEX
                            a raw physical memory image, read through the x64 page tables whose
                            PML4 is at physical address HEX (a CR3 / DirectoryTableBase)`;

export type SourceKind = 'region' | 'segments' | 'dump' | 'physical';

export interface Source {
  readonly kind: SourceKind;
  image: MemoryImage;
  /** The address of the first byte of the first segment: the default root. Undefined for dumps and physical images. */
  base: bigint | undefined;
  /** Segments as read, for commands that write a region back (empty for dumps and physical images). */
  segments: Segment[];
  /** The file named in messages (the first segment's, the dump's, the physical image's). */
  name: string;
  /** The dump, when the source is one. */
  dump?: CrashDump;
  /** Odd but not fatal things about the source (a truncated dump, counts that disagree). */
  warnings: readonly string[];
  /** Closes the files the source holds open. Idempotent. */
  close(): void;
}

export function readRegion(path: string, base: bigint): Segment {
  const bytes = readFileNamed(path);
  if (bytes.length === 0) throw new DecodeError(0, `${path}: the file is empty`);
  return { base, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), name: path };
}

/** The first 8 bytes of a file as Latin-1, or '' when it cannot be read (the caller's own read reports why). */
function signatureOf(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(8);
    const n = readSync(fd, b, 0, 8, 0);
    return b.subarray(0, n).toString('latin1');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The signatures a dump file starts with: 64- and 32-bit kernel dumps, user-mode minidumps. */
const DUMP_SIGNATURES = ['PAGEDU64', 'PAGEDUMP', 'MDMP'] as const;

/**
 * Whether a file is a crash dump (or tries to be one): "PAGE" starts every Windows kernel dump,
 * 64- or 32-bit, and "MDMP" a user-mode minidump. So does a file cut short inside one of those
 * signatures and, with `byName` (a file given as IMAGE, where nothing else says what it is), a
 * file named *.dmp too short to hold one, empty included. Such a file goes to the dump reader,
 * which accepts PAGEDU64 and says clearly why it refuses the others ("not a complete crash dump
 * header" for the short ones). A *.dmp file that starts otherwise is not a dump: it is read as a
 * region, with --base.
 */
export function looksLikeDump(path: string, byName = false): boolean {
  const s = signatureOf(path);
  if (s.startsWith('PAGE') || s.startsWith('MDMP')) return true;
  if (s.length >= 8) return false;
  if (byName && /\.dmp$/i.test(path) && (s.length > 0 || isFile(path))) return true;
  return s.length > 0 && DUMP_SIGNATURES.some((d) => d.startsWith(s));
}

/** Whether the path names a regular file (an empty one included); false when it cannot be read. */
function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Runs `fn`, naming the file in a DumpError's message or a system error (which may lack the path). */
export function inFile<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DumpError && !e.message.startsWith(`${path}: `)) e.message = `${path}: ${e.message}`;
    const sys = e as NodeJS.ErrnoException;
    if (sys && typeof sys.code === 'string' && typeof sys.syscall === 'string' && sys.path === undefined) sys.path = path;
    throw e;
  }
}

/** Opens a crash dump as its kernel address space (`dtb` overrides the header's DirectoryTableBase). */
function openDumpSource(path: string, dtb: bigint | undefined): Source {
  const dump = inFile(path, () => openDump(path));
  try {
    const image = inFile(path, () => (dtb === undefined ? dump.image() : new PagedImage(dump.physical, dtb)));
    return { kind: 'dump', image, base: undefined, segments: [], name: path, dump, warnings: dump.info.warnings, close: () => dump.close() };
  } catch (e) {
    dump.close();
    throw e;
  }
}

function openPhysicalSource(path: string, dtbText: string | undefined): Source {
  if (dtbText === undefined) {
    throw new UsageError('--physical IMAGE needs --dtb HEX: the physical address of the PML4 (a CR3 or DirectoryTableBase of the captured machine)');
  }
  const dtb = parseAddress(dtbText, '--dtb');
  if (looksLikeDump(path)) throw new UsageError(`${path} is a crash dump, not a raw physical image: give it as IMAGE, without --physical`);
  const physical = inFile(path, () => openPhysicalImage(path));
  try {
    if (physical.frameLimit === 0) throw new DecodeError(0, `${path}: the file holds no complete 4 KiB page`);
    const image = inFile(path, () => new PagedImage(physical, dtb));
    return { kind: 'physical', image, base: undefined, segments: [], name: path, warnings: [], close: () => physical.close() };
  } catch (e) {
    physical.close();
    throw e;
  }
}

export interface SourceValues {
  base?: string;
  segment?: string[];
  physical?: string;
  dtb?: string;
}

export function openSource(values: SourceValues, positionals: string[]): Source {
  if (values.physical !== undefined) {
    if (values.segment?.length || positionals.length || values.base !== undefined) {
      throw new UsageError('give one source: IMAGE --base HEX, --segment FILE@HEX, a crash dump, or --physical IMAGE --dtb HEX');
    }
    return openPhysicalSource(values.physical, values.dtb);
  }
  const segments: Segment[] = [];
  if (values.segment?.length) {
    if (positionals.length) throw new UsageError('give either IMAGE --base HEX or --segment FILE@HEX options, not both');
    if (values.dtb !== undefined) throw new UsageError('--dtb applies to crash dumps and --physical images, not to --segment');
    for (const s of values.segment) {
      const at = s.lastIndexOf('@');
      if (at <= 0) throw new UsageError(`--segment: '${s}' is not FILE@HEX`);
      segments.push(readRegion(s.slice(0, at), parseAddress(s.slice(at + 1), '--segment')));
    }
  } else {
    if (positionals.length !== 1) throw new UsageError(`expected one IMAGE file, got ${positionals.length}`);
    const path = positionals[0]!;
    if (looksLikeDump(path, true)) {
      // (A file cut short inside its signature is no dump to give --base to: the reader says why.)
      if (values.base !== undefined && signatureOf(path).length === 8) {
        throw new UsageError(`${path} is a crash dump: its page tables give the addresses, so --base does not apply (give --root HEX)`);
      }
      return openDumpSource(path, values.dtb === undefined ? undefined : parseAddress(values.dtb, '--dtb'));
    }
    if (values.base === undefined) {
      throw new UsageError(
        values.dtb !== undefined
          ? `${path} is not a crash dump: a raw physical image is given as --physical IMAGE --dtb HEX`
          : /\.dmp$/i.test(path)
            ? `${path} is not a crash dump (it does not start with a PAGE signature): as a region of captured memory it needs --base HEX, the virtual address of its first byte`
            : '--base HEX is required: the virtual address of the first byte of IMAGE (crash dumps need none)',
      );
    }
    if (values.dtb !== undefined) throw new UsageError('--dtb applies to crash dumps and --physical images, not to IMAGE --base');
    segments.push(readRegion(path, parseAddress(values.base, '--base')));
  }
  const image = new SegmentImage(segments);
  const first = image.segments[0] as Segment;
  return {
    kind: image.kind,
    image,
    base: first.base,
    segments: [...image.segments],
    name: first.name ?? 'IMAGE',
    warnings: [],
    close: () => {},
  };
}

/** The ABI to read with: --abi, else x64. A 64-bit address space (dumps, physical images) refuses x86. */
export function abiFor(source: Source, name: string | undefined): Abi {
  const abi = abiByName(name ?? 'x64');
  if (source.image.pointerSize === 8 && abi.pointerSize !== 8) {
    const what = source.kind === 'dump' ? 'crash dump' : 'physical image read through x64 page tables';
    throw new UsageError(`--abi ${abi.name}: ${source.name} is a 64-bit ${what}; its trees are x64 (drop --abi or give --abi x64)`);
  }
  return abi;
}

/** Prints the source's warnings on stderr, one line each. */
export function reportWarnings(source: Source, io: Io): void {
  for (const w of source.warnings) io.err(`ndis-offload: warning: ${source.name}: ${w}\n`);
}

/**
 * Refuses a crash dump or physical image where a command writes into a region capture
 * (complete, encode --onto): usage, exit 2. Dumps are evidence and stay read-only here.
 */
export function refuseCapture(command: string, path: string | undefined, physical: string | undefined): void {
  if (physical !== undefined) {
    throw new UsageError(`${command} writes into a region capture (IMAGE --base HEX); physical images (--physical) are read-only here`);
  }
  if (path !== undefined && looksLikeDump(path)) {
    throw new UsageError(`${command}: ${path} is a crash dump; dumps are read-only here: ${command} writes only into a region capture (IMAGE --base HEX)`);
  }
}
