import { parseArgs } from 'node:util';
import { OPERATIONS, type Operation } from '../../layout/constants.js';
import type { MemoryImage } from '../../codec/image.js';
import { type BlockStream, type DecodeOptions, decodeBlocks } from '../../tree/decode.js';
import { chunkedSink, writeDocument, writeNdjson } from '../../tree/json-stream.js';
import { countOf } from '../../tree/diagnostics.js';
import { type TreeDocument, diagnosticCounts } from '../../tree/document.js';
import { UsageError } from '../../errors.js';
import { didYouMean } from '../../suggest.js';
import { BRIEF_OVER, paletteFor, treeTextOf, writeTreeText } from '../format-tree.js';
import { EXIT, type Io, type OptionTable, parseOptions } from '../io.js';
import { SOURCES_HELP, SOURCE_OPTIONS, type Source, inFile, openSource, reportWarnings, sourceAddress } from '../source.js';

export const DECODE_SOURCES = `Sources:
${SOURCES_HELP}

Options:
  --root HEX                address of the root block (default: --base; required for crash dumps
                            and physical images: find it with 'ndis-offload scan')
  --operation OP            initiate, query, update, invalidate or terminate: which state the
                            blocks carry; without it, state presence is inferred from the bytes
  --max-blocks N            stop after N blocks (default 1048576)`;

export const DECODE_HELP = `Usage: ndis-offload decode IMAGE --base HEX [--root HEX] [options] [--json]
       ndis-offload decode MEMORY.DMP --root HEX [options] [--json]
       ndis-offload decode --physical IMAGE [--dtb HEX] --root HEX [options] [--json]

Decodes the offload state tree at --root: every block, its role, its state, named as in the WDK,
with every problem reported beside the member concerned.

${DECODE_SOURCES}
  --brief                   one line per block: layer, address, role, Type, Status and the key
                            fields (MACs, IPs, IP:port pairs in host order, TCP state), with the
                            errors and warnings; the default for trees over ${BRIEF_OVER} blocks
  --full                    every member of every block, however large the tree
  --json                    print the ndis-offload-tree/1 JSON document (docs/json-format.md)
  --ndjson                  print a JSON object per line: the document's head, each block (its
                            path and members, no dependents), each diagnostic (docs/json-format.md)

The text fits the terminal: lines wider than COLUMNS (80 when stdout is not a terminal) are
wrapped under the tree's lines, never cut.

Examples:
  ndis-offload decode fixtures/sample-x64.bin --base 0xffffc70a12340000
  ndis-offload decode fixtures/sample-x64.bin --base 0xffffc70a12340000 --operation initiate --brief
  ndis-offload decode fixtures/sample-x64.dmp --root 0xffffc70a12340f80 --operation initiate
  ndis-offload decode capture.bin --base ffffc70a\`12340000 --root ffffc70a\`12340a00 --operation initiate --json`;

export const VALIDATE_HELP = `Usage: ndis-offload validate IMAGE --base HEX [--root HEX] [options] [--json]
       ndis-offload validate MEMORY.DMP --root HEX [options] [--json]
       ndis-offload validate --physical IMAGE [--dtb HEX] --root HEX [options] [--json]

Checks the tree and prints only the diagnostics. Exit 0: no errors or warnings; 1: problems found.

${DECODE_SOURCES}
  --json                    print the diagnostics as a JSON array

Examples:
  ndis-offload validate fixtures/sample-x64.bin --base 0xffffc70a12340000 --operation initiate
  ndis-offload validate fixtures/sample-x64.dmp --root 0xffffc70a12340f80 --operation initiate
  ndis-offload validate capture.bin --base ffffc70a12340000 --json | jq '.[] | select(.severity == "error")'`;

/** The options of every command that decodes a tree (decode, validate, hexdump), output options aside. */
export const TREE_OPTIONS = {
  ...SOURCE_OPTIONS,
  root: { type: 'string' },
  operation: { type: 'string' },
  'max-blocks': { type: 'string' },
} as const;

export const DECODE_OPTIONS = {
  ...TREE_OPTIONS,
  json: { type: 'boolean' },
} as const;

/** validate's own table (the same today; decode's output options are not validate's). */
export const VALIDATE_OPTIONS = {
  ...TREE_OPTIONS,
  json: { type: 'boolean' },
} as const;

/** A command's option table: the tree options and its own. */
export type TreeOptionTable = typeof TREE_OPTIONS & OptionTable;

export function parseOperation(text: string | undefined): Operation | undefined {
  if (text === undefined) return undefined;
  if (!(OPERATIONS as readonly string[]).includes(text)) {
    throw new UsageError(`--operation: '${text}' is not one of ${OPERATIONS.join(', ')}${didYouMean(text, OPERATIONS).replace(/^ \((.*)\)$/, '; $1')}`);
  }
  return text as Operation;
}

function positiveInt(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${option}: '${text}' is not a positive integer`);
  return Number(text);
}

/** The source, the root and the decode options that a command's arguments name. */
interface Opened {
  source: Source;
  root: bigint;
  options: DecodeOptions;
  json: boolean;
}

/**
 * Parses `argv` against the command's own option table (decode's by default: hexdump and
 * validate give theirs) and opens the source the arguments name; the caller closes it. The
 * source's warnings (a truncated dump) go to stderr. A --root beyond the ABI's pointers is
 * refused; one that points at garbage is decoded (its diagnostics are the answer).
 */
function openTree(argv: string[], io: Io, table: TreeOptionTable): Opened {
  const { values, positionals } = parseOptions(argv, table);
  const operation = parseOperation(values.operation);
  const maxBlocks = positiveInt(values['max-blocks'], '--max-blocks');
  const source = openSource(values, positionals, io);
  try {
    let root: bigint;
    if (values.root !== undefined) root = sourceAddress(source, values.root, '--root');
    else if (source.base !== undefined) root = source.base;
    else throw new UsageError(`--root HEX is required for ${source.what} (find roots with 'ndis-offload scan')`);
    reportWarnings(source, io);
    const options: DecodeOptions = { abi: source.abi, ndis: source.ndis, ...(operation ? { operation } : {}), ...(maxBlocks ? { maxBlocks } : {}) };
    return { source, root, options, json: Boolean((values as { json?: boolean }).json) };
  } catch (e) {
    source.close();
    throw e;
  }
}

/**
 * Opens the tree the arguments name: its blocks as a stream (decodeBlocks) that `use`
 * reads as it writes, within the source's life (with the image, for what a command reads besides
 * the blocks); errors of the reading name the file.
 */
export function withBlocks<T>(
  argv: string[],
  io: Io,
  use: (open: () => BlockStream, json: boolean, image: MemoryImage) => T,
  table: TreeOptionTable = DECODE_OPTIONS,
): T {
  const { source, root, options, json } = openTree(argv, io, table);
  try {
    return inFile(source.name, () => use(() => decodeBlocks(source.image, root, options), json, source.image));
  } finally {
    source.close();
  }
}

export const documentJson = (doc: TreeDocument): string => `${JSON.stringify(doc, null, 2)}\n`;

/** The options of the text tree, which only decode takes (hexdump and validate share the rest). */
const VIEW_OPTIONS = { brief: { type: 'boolean' }, full: { type: 'boolean' } } as const;

/**
 * --brief and --full taken out of the arguments (the rest goes to withBlocks): refused together,
 * and with --json, which has no views.
 */
function takeView(argv: string[]): { view: 'brief' | 'full' | undefined; rest: string[] } {
  // Not strict: withBlocks, which parses the rest, is the one that refuses unknown options.
  const { values, tokens } = parseArgs({ args: argv, options: { ...DECODE_OPTIONS, ...VIEW_OPTIONS }, allowPositionals: true, tokens: true, strict: false });
  if (values.brief === true && values.full === true) throw new UsageError('--brief and --full: give one (--brief: a line per block; --full: every member)');
  const view = values.brief === true ? 'brief' : values.full === true ? 'full' : undefined;
  if (view && values.json === true) throw new UsageError(`--${view} is for the text tree; --json prints the whole document`);
  const mine = tokens.filter((t) => t.kind === 'option' && (t.name === 'brief' || t.name === 'full'));
  for (const t of mine) if (t.kind === 'option' && t.value !== undefined) throw new UsageError(`--${t.name} takes no value`);
  const drop = new Set(mine.map((t) => t.index));
  return { view, rest: argv.filter((_, i) => !drop.has(i)) };
}

/** Columns of the text: COLUMNS when it is a positive number, else the terminal's, else 80. */
export function textWidth(io: Io): number {
  const columns = io.env.COLUMNS;
  if (columns !== undefined && /^\d+$/.test(columns) && Number(columns) > 0) return Number(columns);
  if (io.stdoutIsTty && process.stdout.columns) return process.stdout.columns;
  return 80;
}

/** --ndjson taken out of the arguments (decode's alone): refused with a value, with --json and with --brief/--full. */
function takeNdjson(argv: string[], view: string | undefined): { ndjson: boolean; rest: string[] } {
  const { tokens } = parseArgs({ args: argv, options: { ...DECODE_OPTIONS, ndjson: { type: 'boolean' } }, allowPositionals: true, tokens: true, strict: false });
  const mine = tokens.filter((t) => t.kind === 'option' && t.name === 'ndjson');
  for (const t of mine) if (t.kind === 'option' && t.value !== undefined) throw new UsageError('--ndjson takes no value');
  if (mine.length === 0) return { ndjson: false, rest: argv };
  if (view) throw new UsageError(`--${view} is for the text tree; --ndjson prints a line per block`);
  if (tokens.some((t) => t.kind === 'option' && t.name === 'json')) throw new UsageError('--json and --ndjson: give one (--json: the document; --ndjson: a line per block)');
  const drop = new Set(mine.map((t) => t.index));
  return { ndjson: true, rest: argv.filter((_, i) => !drop.has(i)) };
}

export function runDecode(argv: string[], io: Io): number {
  const { view, rest: viewRest } = takeView(argv);
  const { ndjson, rest } = takeNdjson(viewRest, view);
  // Every form is written as the blocks are decoded, in chunks: memory bounded by a block, whatever the tree.
  return withBlocks(rest, io, (open, json) => {
    const sink = chunkedSink((text) => io.out(text));
    let blocks: number;
    if (json || ndjson) {
      const stream = open();
      (ndjson ? writeNdjson : writeDocument)(stream, sink.write);
      blocks = stream.blockCount;
    } else {
      // The text tree reads the tree twice (treeTextOf): its lines show what the blocks after them say.
      const tree = treeTextOf(open);
      const briefByDefault = view === undefined && tree.blockCount > BRIEF_OVER;
      const chosen = view ?? (briefByDefault ? 'brief' : 'full');
      writeTreeText(tree, paletteFor(io.stdoutIsTty, io.env), { width: textWidth(io), view: chosen, briefByDefault }, (line) => sink.write(`${line}\n`));
      blocks = tree.blockCount;
    }
    sink.flush();
    return blocks === 0 ? EXIT.INPUT : EXIT.OK;
  });
}

export function runValidate(argv: string[], io: Io): number {
  // The blocks are read and let go: only the diagnostics and the count are kept.
  return withBlocks(
    argv,
    io,
    (open, json) => {
      const stream = open();
      for (const _ of stream);
      return validateOutput({ ...stream.head, blocks: [], diagnostics: stream.diagnostics }, json, io, stream.blockCount);
    },
    VALIDATE_OPTIONS,
  );
}

/**
 * validate's output and exit code. The counts are of every diagnostic found, those a summary
 * stands for included (a document past its diagnostic limit), so that neither lies.
 */
export function validateOutput(doc: TreeDocument, json: boolean, io: Io, blocks = doc.blocks.length): number {
  const counts = diagnosticCounts(doc.diagnostics);
  const problems = counts.error + counts.warning;
  if (json) io.out(`${JSON.stringify(doc.diagnostics, null, 2)}\n`);
  else {
    for (const d of doc.diagnostics) {
      const many = d.count !== undefined ? ` ×${d.count} (${d.path} to ${d.lastPath})` : '';
      io.out(`${d.severity} ${d.code}${many} ${d.path}${d.member ? ` ${d.member}` : ''} @${d.address}${d.offset !== null ? ` (offset 0x${d.offset.toString(16)})` : ''}: ${d.message}\n`);
    }
    const which = [counts.error ? countOf(counts.error, 'error') : '', counts.warning ? countOf(counts.warning, 'warning') : ''].filter(Boolean).join(', ');
    const notes = counts.info ? `; ${countOf(counts.info, 'info')}` : '';
    io.out(`${problems ? `${problems} ${problems === 1 ? 'problem' : 'problems'} (${which})` : 'no problems'} in ${blocks ? 'the tree' : 'an empty tree'}${notes}\n`);
  }
  return problems || blocks === 0 ? EXIT.PROBLEMS : EXIT.OK;
}
