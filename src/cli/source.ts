/**
 * Where the memory comes from: a region file at --base, several --segment FILE@HEX, a Windows
 * kernel crash dump (recognised by its signature: it brings its own address space), or a raw
 * physical memory image read through the page tables at --dtb. Sources that hold a file open are
 * closed by `close()`; commands call it when they are done, error or not.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { type Capture, type CaptureRecognizer, HEAD_BYTES, PAGING_NAMES, CAPTURE_FORMATS, openCaptureImage, regionCapture, sniffContext } from '../capture/open.js';
import { type Reader, openFileReader } from '../capture/reader.js';
import { recogniseRefused, refusalError, refusalForName } from '../capture/sources/refused.js';
import type { CrashDump } from '../codec/dump.js';
import type { MemoryImage, Segment } from '../codec/image.js';
import { CaptureError, DecodeError, DumpError, UsageError } from '../errors.js';
import { type Abi, abiByName } from '../layout/abi.js';
import { NDIS_REVISIONS, type NdisRevision } from '../layout/descriptor.js';
import { DEFAULT_NDIS } from '../layout/registry.js';
import { type Io, STDIO, checkPointerWidth, parseAddress, readFileNamed, readStdin } from './io.js';
import { progressBar } from './progress.js';

/**
 * The source options, the same on every command that reads a capture (decode, validate, hexdump,
 * scan, complete, diff). A command that cannot honour one refuses it by name with the reason
 * (complete: --physical, --dtb, --ndis; scan: --ndis); none is accepted and ignored.
 */
export const SOURCE_OPTIONS = {
  base: { type: 'string' },
  segment: { type: 'string', multiple: true },
  physical: { type: 'string' },
  dtb: { type: 'string' },
  abi: { type: 'string' },
  ndis: { type: 'string' },
} as const;

/** The text of the sources for a command's --help. */
export const SOURCES_HELP = `  IMAGE --base HEX          a file of captured memory whose first byte is at virtual address HEX
                            (IMAGE '-': standard input)
  --segment FILE@HEX ...    several captured regions (instead of IMAGE --base)
  MEMORY.DMP                a Windows kernel crash dump, 64-bit (PAGEDU64, full or bitmap) or
                            32-bit (PAGEDUMP, PAE or not: the ABI is x86), recognised by its
                            signature: no --base, the dump's page tables give the addresses
                            (--dtb HEX reads through another DirectoryTableBase); a dump must be
                            a seekable file, not standard input
  CAPTURE                   a LiME capture, an ELF core of a virtual machine (QEMU, VirtualBox)
                            or a VMware capture (a .vmem with its .vmss/.vmsn beside it, or the
                            state file itself), recognised by its bytes like a dump: the DTB is
                            the CR3 of the CPU that maps kernel space (LiME records none: it is
                            searched for, as for --physical)
  --physical IMAGE [--dtb HEX]
                            a raw physical memory image (a .vmem alone too), read through the x64
                            page tables whose PML4 is at physical address HEX (a CR3); without
                            --dtb the kernel's is found (the low stub, then self-mapping tables
                            confirmed by KUSER_SHARED_DATA and the root; a progress bar on stderr)
  --abi x64|x86             ABI of the captured machine (default x64; a capture's paging gives
                            its own); addresses beyond its pointers (x86: 32 bits) are refused
  --ndis 6.0|6.1            NDIS revision of the host (default 6.1; 6.0 has no DWnd)
Kdump-compressed, makedumpfile-flattened, hibernation, AVML and Hyper-V saved-state files are
recognised and refused with what to capture instead (exit 3).`;

/** Parses --ndis: a revision this project has layouts for; any other is refused with the list. */
export function parseNdis(text: string | undefined): NdisRevision {
  if (text === undefined) return DEFAULT_NDIS;
  if (!(NDIS_REVISIONS as readonly string[]).includes(text)) {
    throw new UsageError(`--ndis: unknown NDIS revision '${text}' (known: ${NDIS_REVISIONS.join(', ')})`);
  }
  return text as NdisRevision;
}

/** 'capture': a LiME capture, an ELF core, or another format of the capture registry. */
export type SourceKind = 'region' | 'segments' | 'dump' | 'physical' | 'capture';

export interface Source {
  readonly kind: SourceKind;
  /** What opening the capture gave (src/capture/open.ts): format, paging, the DTB and its source... */
  capture: Capture;
  /** How messages name it: "a crash dump", "a physical image", "an ELF core". */
  what: string;
  image: MemoryImage;
  /** The address of the first byte of the first segment: the default root. Undefined for dumps and physical images. */
  base: bigint | undefined;
  /** Segments as read, for commands that write a region back (empty for dumps and physical images). */
  segments: Segment[];
  /** The file named in messages (the first segment's, the dump's, the physical image's). */
  name: string;
  /** The dump, when the source is one. */
  dump?: CrashDump;
  /** --abi: x64 unless given (dumps and physical images are x64). */
  abi: Abi;
  /** --ndis: 6.1 unless given. */
  ndis: NdisRevision;
  /** Odd but not fatal things about the source (a truncated dump, counts that disagree). */
  warnings: readonly string[];
  /** Closes the files the source holds open. Idempotent. */
  close(): void;
}

/** What standard input is called in messages. */
export const STDIN_NAME = 'standard input';

/** Refuses a crash dump read from standard input: it is read by page, from a seekable file. */
function refuseDumpOnStdin(bytes: Uint8Array): void {
  const refused = recogniseRefused(bytes.subarray(0, 16));
  if (refused && refused.format !== 'minidump') throw refusalError(refused, STDIN_NAME);
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(4, bytes.length)).toString('latin1');
  if (head === 'PAGE' || head === 'MDMP') {
    throw new UsageError("standard input holds a crash dump, and a crash dump must be a seekable file: give its path instead of '-'");
  }
  const context = sniffContext({ name: STDIN_NAME, size: bytes.length }, {});
  const known = CAPTURE_FORMATS.find((f) => f.id !== 'dump' && f.id !== 'refused' && f.sniff?.(bytes.subarray(0, HEAD_BYTES), context));
  if (known) {
    throw new UsageError(`standard input holds ${known.label.replace(/ \(.*\)$/, '')}, and a capture must be a seekable file: give its path instead of '-'`);
  }
}

/** A region file at `base`; `-` reads standard input whole (`io` required then). */
export function readRegion(path: string, base: bigint, io?: Io): Segment {
  if (path === STDIO) {
    if (!io) throw new UsageError("'-' (standard input) is not available here");
    const bytes = readStdin(io);
    refuseDumpOnStdin(bytes);
    if (bytes.length === 0) throw new DecodeError(0, `${STDIN_NAME}: nothing was read (empty)`);
    return { base, bytes, name: STDIN_NAME };
  }
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

/** Runs `fn`, naming the file in a DumpError's or CaptureError's message or a system error (which may lack the path). */
export function inFile<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if ((e instanceof DumpError || e instanceof CaptureError) && !e.message.startsWith(`${path}: `)) e.message = `${path}: ${e.message}`;
    const sys = e as NodeJS.ErrnoException;
    if (sys && typeof sys.code === 'string' && typeof sys.syscall === 'string' && sys.path === undefined) sys.path = path;
    throw e;
  }
}

/** The file beside `path` with another extension, opened, or undefined (VMware's state file beside a .vmem). */
export function siblingOf(path: string): (extension: string) => Reader | undefined {
  return (extension) => {
    const other = path.replace(/\.[^./\\]*$/, '') + extension;
    return other !== path && existsSync(other) ? openFileReader(other) : undefined;
  };
}

/** The recogniser of the capture registry that claims the file's bytes, or undefined (also when it cannot be read). */
export function sniffFile(path: string): CaptureRecognizer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const head = new Uint8Array(Math.min(HEAD_BYTES, size));
    const n = readSync(fd, head, 0, head.length, 0);
    const context = sniffContext({ name: path, size }, { sibling: siblingOf(path) });
    return CAPTURE_FORMATS.find((f) => {
      try {
        return f.sniff?.(head.subarray(0, n), context) ?? false;
      } catch {
        return false;
      }
    });
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Refuses a file in a format this tool recognises only to refuse (kdump-compressed, hibernation,
 * AVML...) with that format's one-line way forward (CaptureError, exit 3), whatever the command.
 */
export function refuseRefused(path: string, known: CaptureRecognizer | undefined = path === STDIO ? undefined : sniffFile(path)): void {
  if (known?.id !== 'refused') return;
  let fd: number | undefined;
  const head = new Uint8Array(16);
  try {
    fd = openSync(path, 'r');
    readSync(fd, head, 0, 16, 0);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const refusal = recogniseRefused(head);
  if (refusal) throw refusalError(refusal, path);
}

/** How messages name a capture of a format. */
function whatOf(format: string): string {
  return format === 'dump' || format === 'dump32' ? 'a crash dump' : format === 'raw' ? 'a physical image' : (CAPTURE_FORMATS.find((f) => f.id === format)?.label.replace(/ \(.*\)$/, '') ?? `a ${format} capture`);
}

/** Opens a capture file through the capture layer: the format from its bytes (or `format`), the DTB from it or `dtb`. */
function openCaptureFile(path: string, format: string | undefined, dtb: bigint | undefined, probes: bigint[], abi: Abi, ndis: NdisRevision, io?: Io): Source {
  const reader = inFile(path, () => openFileReader(path));
  // DTB discovery of a large image scans it: a bar on stderr says how far.
  const bar = io ? progressBar(io, 'finding the DTB') : undefined;
  let capture: Capture;
  try {
    capture = inFile(path, () =>
      openCaptureImage(reader, { ...(format ? { format } : {}), ...(dtb === undefined ? {} : { dtb }), probes, sibling: siblingOf(path), ...(bar ? { progress: (done: number, total: number) => bar.update(done, total) } : {}) }),
    );
  } finally {
    bar?.end();
  }
  const kind: SourceKind = capture.format === 'dump' || capture.format === 'dump32' ? 'dump' : capture.format === 'raw' ? 'physical' : 'capture';
  return {
    kind,
    capture,
    what: whatOf(capture.format),
    image: capture.image,
    base: undefined,
    segments: [],
    name: path,
    ...(capture.dump ? { dump: capture.dump } : {}),
    abi,
    ndis,
    warnings: capture.warnings,
    close: () => capture.close(),
  };
}

function openPhysicalSource(path: string, dtbText: string | undefined, probes: bigint[], abi: Abi, ndis: NdisRevision, io?: Io): Source {
  if (path === STDIO) throw new UsageError("--physical: a physical memory image must be a seekable file: give its path, not '-' (standard input)");
  const dtb = dtbText === undefined ? undefined : parseAddress(dtbText, '--dtb');
  if (looksLikeDump(path)) throw new UsageError(`${path} is a crash dump, not a raw physical image: give it as IMAGE, without --physical`);
  const known = sniffFile(path);
  refuseRefused(path, known);
  if (known) throw new UsageError(`${path} is ${known.label}, not a raw physical image: give it as IMAGE, without --physical`);
  return openCaptureFile(path, 'raw', dtb, probes, abi, ndis, io);
}

export interface SourceValues {
  /** --root, when the command has one: the address the DTB must map (it chooses among an ELF core's CPUs). */
  root?: string;
  base?: string;
  segment?: string[];
  physical?: string;
  dtb?: string;
  abi?: string;
  ndis?: string;
}

/** One `--segment FILE@HEX`, parsed (the file is not read). */
export function parseSegmentArg(text: string, option = '--segment'): { file: string; base: bigint } {
  const at = text.lastIndexOf('@');
  if (at <= 0) throw new UsageError(`${option}: '${text}' is not FILE@HEX`);
  return { file: text.slice(0, at), base: parseAddress(text.slice(at + 1), option) };
}

/**
 * Opens the source the options name. `io` gives standard input for `-`; `names` renames the
 * options in messages (diff's `--a-base` for `--base`).
 */
export function openSource(values: SourceValues, positionals: string[], io?: Io, names: (option: string) => string = (o) => o): Source {
  const abiName = values.abi ?? 'x64';
  const abi = abiByName(abiName);
  const ndis = parseNdis(values.ndis);
  const fit = (a: bigint, option: string): bigint => checkPointerWidth(a, abi.pointerSize, names(option), abi.name);
  const probes = probesOf(values.root);
  if (values.physical !== undefined) {
    if (values.segment?.length || positionals.length || values.base !== undefined) {
      throw new UsageError(`give one source: IMAGE ${names('--base')} HEX, ${names('--segment')} FILE@HEX, a crash dump, or ${names('--physical')} IMAGE [${names('--dtb')} HEX]`);
    }
    return checkAbi(openPhysicalSource(values.physical, values.dtb, probes, abi, ndis, io), values.abi, names);
  }
  const segments: Segment[] = [];
  if (values.segment?.length) {
    if (positionals.length) throw new UsageError(`give either IMAGE ${names('--base')} HEX or ${names('--segment')} FILE@HEX options, not both`);
    if (values.base !== undefined) throw new UsageError(`${names('--base')} does not apply to ${names('--segment')} FILE@HEX: each segment names its own address`);
    if (values.dtb !== undefined) throw new UsageError(`${names('--dtb')} applies to crash dumps and --physical images, not to --segment`);
    if (values.segment.filter((s) => parseSegmentArg(s, names('--segment')).file === STDIO).length > 1) {
      throw new UsageError(`${names('--segment')}: standard input ('-') can be read once`);
    }
    for (const s of values.segment) {
      const { file, base } = parseSegmentArg(s, names('--segment'));
      segments.push(fitSegment(readRegion(file, fit(base, '--segment'), io), abi, names('--segment')));
    }
  } else {
    if (positionals.length !== 1) throw new UsageError(`expected one IMAGE file, got ${positionals.length}`);
    const path = positionals[0]!;
    const sniffed = path === STDIO ? undefined : sniffFile(path);
    refuseRefused(path, sniffed);
    const dump = path !== STDIO && (sniffed?.id === 'dump' || sniffed?.id === 'dump32' || (!sniffed && looksLikeDump(path, true)));
    const known = dump ? undefined : sniffed;
    if (dump || known) {
      // (A file cut short inside its signature is no dump to give --base to: the reader says why.)
      if (values.base !== undefined && (known || signatureOf(path).length === 8)) {
        throw new UsageError(`${path} is ${known ? known.label.replace(/ \(.*\)$/, '') : 'a crash dump'}: ${known ? 'the capture' : 'its page tables'} give${known ? 's' : ''} the addresses, so ${names('--base')} does not apply (give --root HEX)`);
      }
      const dtb = values.dtb === undefined ? undefined : parseAddress(values.dtb, names('--dtb'));
      return checkAbi(openCaptureFile(path, dump && !sniffed ? 'dump' : undefined, dtb, probes, abi, ndis, io), values.abi, names);
    }
    if (path === STDIO && values.base === undefined) {
      // A dump piped in is refused as such, not asked for a --base.
      if (io) refuseDumpOnStdin(readStdin(io));
    }
    if (values.base === undefined) {
      const byName = path === STDIO ? undefined : refusalForName(path);
      if (byName) throw refusalError(byName, path);
      throw new UsageError(
        values.dtb !== undefined
          ? `${path} is not a crash dump: a raw physical image is given as --physical IMAGE [--dtb HEX]`
          : path !== STDIO && /\.dmp$/i.test(path)
            ? `${path} is not a crash dump (it does not start with a PAGE signature): as a region of captured memory it needs --base HEX, the virtual address of its first byte`
            : `--base HEX is required: the virtual address of the first byte of ${path === STDIO ? STDIN_NAME : path} (crash dumps need none)`,
      );
    }
    if (values.dtb !== undefined) throw new UsageError(`${names('--dtb')} applies to crash dumps and --physical images, not to IMAGE --base`);
    segments.push(fitSegment(readRegion(path, fit(parseAddress(values.base, names('--base')), '--base'), io), abi, names('--base')));
  }
  const capture = regionCapture(segments);
  const image = capture.image as MemoryImage & { segments: readonly Segment[]; kind: 'region' | 'segments' };
  const first = image.segments[0] as Segment;
  return {
    kind: image.kind,
    capture,
    what: image.kind === 'region' ? 'a region' : 'segments',
    image,
    base: first.base,
    segments: [...image.segments],
    name: first.name ?? 'IMAGE',
    abi,
    ndis,
    warnings: [],
    close: () => {},
  };
}

/** Refuses a region that runs past the end of the ABI's address space. */
function fitSegment(segment: Segment, abi: Abi, option: string): Segment {
  const end = segment.base + BigInt(segment.bytes.length);
  if (end > 1n << BigInt(abi.pointerSize * 8)) {
    throw new UsageError(`${option}: ${segment.name}, ${segment.bytes.length} bytes at 0x${segment.base.toString(16)}, runs past the end of the ${abi.pointerSize * 8}-bit address space (--abi ${abi.name})`);
  }
  return segment;
}

/** The --root text as the addresses the DTB must map (none when absent or not an address: --root's own check says why later). */
function probesOf(root: string | undefined): bigint[] {
  if (root === undefined) return [];
  try {
    return [parseAddress(root, '--root')];
  } catch {
    return [];
  }
}

/** abiFor on a freshly opened source (--abi, else the capture's own), closing it when the ABI is refused. */
function checkAbi(source: Source, abiName: string | undefined, names: (option: string) => string): Source {
  try {
    source.abi = abiFor(source, abiName, names);
    return source;
  } catch (e) {
    source.close();
    throw e;
  }
}

/**
 * The ABI to read with: --abi, else the one the capture's paging gives (x64 for 4-level, x86 for
 * PAE and non-PAE), else x64. An --abi the capture's paging contradicts is refused.
 */
export function abiFor(source: Source, name: string | undefined, names: (option: string) => string = (o) => o): Abi {
  const own = source.capture.abi ?? (source.image.pointerSize === 8 ? 'x64' : undefined);
  const abi = abiByName(name ?? own ?? 'x64');
  if (own !== undefined && abi.name !== own) {
    const what =
      source.kind === 'dump'
        ? 'crash dump'
        : source.kind === 'physical' && own === 'x64'
          ? 'physical image read through x64 page tables'
          : `${source.what.replace(/^an? /, '')} read through ${PAGING_NAMES[source.capture.paging]}`;
    throw new UsageError(`${names('--abi')} ${abi.name}: ${source.name} is a ${own === 'x64' ? 64 : 32}-bit ${what}; its trees are ${own} (drop ${names('--abi')} or give ${names('--abi')} ${own})`);
  }
  return abi;
}

/** An address the user gave (--root, --fail …), checked against the source's ABI. */
export function sourceAddress(source: Source, text: string, option: string): bigint {
  return checkPointerWidth(parseAddress(text, option), source.abi.pointerSize, option, source.abi.name);
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
  if (path !== undefined) refuseRefused(path);
  if (physical !== undefined) {
    throw new UsageError(`${command} writes into a region capture (IMAGE --base HEX); physical images (--physical) are read-only here`);
  }
  if (path !== undefined && looksLikeDump(path)) {
    throw new UsageError(`${command}: ${path} is a crash dump; dumps are read-only here: ${command} writes only into a region capture (IMAGE --base HEX)`);
  }
  const known = path === undefined || path === STDIO ? undefined : sniffFile(path);
  if (known) {
    throw new UsageError(`${command}: ${path} is ${known.label.replace(/ \(.*\)$/, '')}; captures are read-only here: ${command} writes only into a region capture (IMAGE --base HEX)`);
  }
}
