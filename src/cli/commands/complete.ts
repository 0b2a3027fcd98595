import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Location } from '../../codec/image.js';
import { NDIS_STATUS_VALUES, type NdisStatusName } from '../../layout/constants.js';
import { layoutOf } from '../../layout/registry.js';
import { decodeTree } from '../../tree/decode.js';
import type { BlockJson } from '../../tree/document.js';
import { NoSuchBlockError, StatusWriter, type StatusValue } from '../../tree/status-writer.js';
import { UsageError } from '../../errors.js';
import { didYouMean } from '../../suggest.js';
import { EXIT, type Io, STDIO, parseOptions, refuseOptions, writeFilesAtomic, writeOutput } from '../io.js';
import { SOURCES_HELP, SOURCE_OPTIONS, type Source, openSource, refuseCapture, sourceAddress } from '../source.js';
import { parseOperation } from './decode.js';

export const COMPLETE_HELP = `Usage: ndis-offload complete IMAGE --base HEX [--root HEX] --operation OP
                             [--status NAME|HEX] [--fail ADDRESS=NAME|HEX ...] [-o OUT]
       ndis-offload complete --segment FILE@HEX ... --root HEX --operation OP [...] [-o OUT]

Completes an operation the way an offload target must: writes the Status of every block.
  placeholder   NDIS_STATUS_SUCCESS
  new offload   --status (default NDIS_STATUS_SUCCESS), or the --fail status for its address
  linker        (initiate) SUCCESS if all its dependents succeeded, OFFLOAD_PARTIAL_SUCCESS if
                some failed, FAILURE if all failed; in other operations, like a new offload
A status the operation does not allow is refused before any byte is written, and so is a --fail
ADDRESS where no block of the tree starts (the message names the nearest blocks). Only the 4
bytes of each Status change.

Where it writes: without -o, IMAGE is rewritten in place, atomically; with --segment, each
segment file that changed is (all of them are written before the first is renamed into place).
-o OUT writes the completed image to OUT instead ('-o -': standard output); with several
segments, -o names an existing folder and every segment is written there under its file's
name. IMAGE '-' reads standard input and needs -o. Crash dumps, physical images (--physical,
--dtb) are refused (exit 2): they are read-only here; --ndis too: the Status words lie where
they lie in every NDIS revision.

Sources:
${SOURCES_HELP}

Options:
  --operation OP         initiate, query, update, invalidate or terminate (required)
  --status NAME|HEX      status for deciding blocks, e.g. NDIS_STATUS_FAILURE, 0xC0000001 or
                         c0000001
  --fail ADDRESS=S       status S (a name or hex) for the block at ADDRESS (repeatable)
  --root HEX             root block (default --base; required with --segment)
  -o, --out OUT          write the completed image here instead of rewriting IMAGE

Examples:
  ndis-offload complete req.bin --base ffffc70a12340000 --operation initiate -o done.bin
  ndis-offload complete req.bin --base ffffc70a12340000 --operation initiate \\
      --fail 0xffffc70a12340178=NDIS_STATUS_OFFLOAD_TCP_ENTRIES
  cat req.bin | ndis-offload complete - --base ffffc70a12340000 --operation initiate -o - > done.bin`;

const COMPLETE_OPTIONS = {
  ...SOURCE_OPTIONS,
  root: { type: 'string' },
  operation: { type: 'string' },
  status: { type: 'string' },
  fail: { type: 'string', multiple: true },
  out: { type: 'string', short: 'o' },
} as const;

/**
 * A status as the user types it: an NDIS_STATUS name, or a 32-bit hex value with or without 0x
 * (like addresses). A mistyped name is reported with the closest known names.
 */
export function parseStatusArg(text: string, option: string): StatusValue {
  if (Object.hasOwn(NDIS_STATUS_VALUES, text)) return text as NdisStatusName;
  const hex = text.replace(/^0x/i, '');
  if (/^[0-9a-f]{1,8}$/i.test(hex)) return Number.parseInt(hex, 16) | 0;
  if (/^(0x)?[0-9a-f]+$/i.test(text)) throw new UsageError(`${option}: '${text}' is more than 32 bits: an NDIS_STATUS is a 32-bit value`);
  throw new UsageError(`${option}: unknown NDIS_STATUS name '${text}'${didYouMean(text, Object.keys(NDIS_STATUS_VALUES)) || ' (or give the value in hex, e.g. c0000001)'}`);
}

/** The blocks of a decoded tree with their paths, for "the nearest blocks" in messages. */
function blocksWithPaths(blocks: readonly BlockJson[]): { address: bigint; path: string; layer: string }[] {
  const out: { address: bigint; path: string; layer: string }[] = [];
  const stack: [BlockJson, string][] = blocks.map((b, i) => [b, `blocks[${i}]`]);
  while (stack.length) {
    const [b, path] = stack.pop()!;
    out.push({ address: BigInt(b.address), path, layer: b.layer });
    b.dependents.forEach((d, i) => stack.push([d, `${path}.dependents[${i}]`]));
  }
  return out;
}

/** `--fail ADDRESS`: no block starts there; the message says which blocks are nearest. */
function noSuchBlock(e: NoSuchBlockError, source: Source, root: bigint, operation: ReturnType<typeof parseOperation>): UsageError {
  const doc = decodeTree(source.image, root, { abi: source.abi, ...(operation ? { operation } : {}) });
  const blocks = blocksWithPaths(doc.blocks);
  const size = BigInt(layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', source.abi).size);
  const width = source.abi.pointerSize * 2;
  const hex = (a: bigint): string => `0x${a.toString(16).padStart(width, '0')}`;
  const parts = e.addresses.map((a) => {
    const near = [...blocks].sort((x, y) => {
      const dx = x.address > a ? x.address - a : a - x.address;
      const dy = y.address > a ? y.address - a : a - y.address;
      return dx < dy ? -1 : dx > dy ? 1 : 0;
    });
    const list = near.slice(0, 3).map((b) => {
      const d = a - b.address;
      const where =
        d > 0n && d < size
          ? `, holds it at +0x${d.toString(16)}: give the block's own address`
          : d > 0n
            ? `, starts 0x${d.toString(16)} bytes before it`
            : `, starts 0x${(-d).toString(16)} bytes after it`;
      return `${hex(b.address)} ${b.path} (${b.layer}${where})`;
    });
    return `${hex(a)}: no block of the tree starts there (${list.length ? `nearest: ${list.join('; ')}` : 'the tree has no blocks'})`;
  });
  return new UsageError(`--fail ${parts.join('; --fail ')}; nothing was written`);
}

export function runComplete(argv: string[], io: Io): number {
  const { values, positionals } = parseOptions(argv, COMPLETE_OPTIONS);
  refuseCapture('complete', positionals[0], values.physical);
  refuseOptions(values, ['dtb'], (o) => `complete writes into a region capture (IMAGE --base HEX or --segment); ${o} reads a crash dump or physical image, which are read-only here`);
  refuseOptions(values, ['ndis'], (o) => `${o} does not apply to complete: the Status words lie where they lie in every NDIS revision`);
  const operation = parseOperation(values.operation);
  if (!operation) throw new UsageError('--operation is required (initiate, query, update, invalidate, terminate)');
  const segmentFiles = (values.segment ?? []).map((s) => s.slice(0, s.lastIndexOf('@')));
  const fromStdin = positionals[0] === STDIO || segmentFiles.includes(STDIO);
  if (fromStdin && values.out === undefined) {
    throw new UsageError("complete: standard input ('-') cannot be rewritten in place: give -o OUT ('-o -' for standard output)");
  }
  // Where the segments go with -o: one segment to OUT, several into the folder OUT.
  const several = segmentFiles.length > 1;
  if (several && values.out !== undefined) {
    if (values.out === STDIO) throw new UsageError('-o -: several segments cannot go to standard output: give -o FOLDER');
    if (!existsSync(values.out) || !statSync(values.out).isDirectory()) {
      throw new UsageError(`-o ${values.out}: with several segments, -o names an existing folder, where each segment is written under its file's name`);
    }
    if (segmentFiles.includes(STDIO)) throw new UsageError(`-o ${values.out}: a segment read from standard input has no file name to write in the folder`);
    const names = segmentFiles.map((f) => basename(f));
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw new UsageError(`-o ${values.out}: two segments are named '${twice}': write them to their own files (without -o)`);
  }
  const source = openSource(values, positionals, io);
  try {
    let root: bigint;
    if (values.root !== undefined) root = sourceAddress(source, values.root, '--root');
    else if (source.kind === 'region') root = source.base!;
    else throw new UsageError('--root HEX is required with --segment: the address of the root block');
    const statusByAddress = new Map<bigint, StatusValue>();
    for (const f of values.fail ?? []) {
      const eq = f.indexOf('=');
      if (eq <= 0) throw new UsageError(`--fail: '${f}' is not ADDRESS=NAME`);
      const address = sourceAddress(source, f.slice(0, eq), '--fail');
      if (statusByAddress.has(address)) throw new UsageError(`--fail: 0x${address.toString(16)} is given twice: give each block one status`);
      statusByAddress.set(address, parseStatusArg(f.slice(eq + 1), '--fail'));
    }
    const status = values.status === undefined ? undefined : parseStatusArg(values.status, '--status');
    const before = source.segments.map((s) => s.bytes.slice());
    let summary;
    try {
      summary = new StatusWriter().complete(source.image, root, {
        operation,
        abi: source.abi,
        ...(status !== undefined ? { status } : {}),
        statusByAddress,
      });
    } catch (e) {
      if (e instanceof NoSuchBlockError) throw noSuchBlock(e, source, root, operation);
      throw e;
    }
    // Each file's bytes as the image now holds them (read back through the image, whatever it
    // made of the segments it was given).
    const loc = new Location();
    const after = source.segments.map((s) => {
      if (!source.image.locate(s.base, s.bytes.length, loc)) return s.bytes;
      return new Uint8Array(loc.view.buffer, loc.view.byteOffset + loc.offset, s.bytes.length);
    });
    const changed = (i: number): boolean => !Buffer.from(before[i]!).equals(Buffer.from(after[i]!));
    let where: string;
    const toStdout = values.out === STDIO;
    if (values.out !== undefined && !several) {
      writeOutput(io, values.out, after[0]!);
      where = toStdout ? 'standard output' : values.out;
    } else if (values.out !== undefined) {
      const out = values.out;
      writeFilesAtomic(source.segments.map((s, i) => ({ path: join(out, basename(s.name!)), data: after[i]! })));
      where = `${source.segments.length} segments in ${out}`;
    } else {
      const files = source.segments.flatMap((s, i) => (changed(i) ? [{ path: s.name!, data: after[i]! }] : []));
      writeFilesAtomic(files);
      where = source.kind === 'region' ? source.name : `${files.length} of ${source.segments.length} segment files rewritten${files.length ? ` (${files.map((f) => f.path).join(', ')})` : ''}`;
    }
    const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
    const roles = Object.entries(summary.byRole).map(([r, c]) => `${c} ${r}`).join(', ');
    const statuses = Object.entries(summary.byStatus).map(([s, c]) => `  ${String(c).padStart(8)}  ${s}`).join('\n');
    // With the image on standard output, the summary goes to stderr.
    const report = `completed ${operation}: ${plural(summary.blocks, 'block', 'blocks')} (${roles}) -> ${where}\n${statuses}\n`;
    if (toStdout) io.err(report);
    else io.out(report);
    return EXIT.OK;
  } finally {
    source.close();
  }
}
