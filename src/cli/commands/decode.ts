import { OPERATIONS, type Operation } from '../../layout/constants.js';
import type { MemoryImage } from '../../codec/image.js';
import { decodeTree } from '../../tree/decode.js';
import type { TreeDocument } from '../../tree/document.js';
import { UsageError } from '../../errors.js';
import { didYouMean } from '../../suggest.js';
import { formatTreeText, paletteFor } from '../format-tree.js';
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
       ndis-offload decode --physical IMAGE --dtb HEX --root HEX [options] [--json]

Decodes the offload state tree at --root: every block, its role, its state, named as in the WDK,
with every problem reported beside the member concerned.

${DECODE_SOURCES}
  --json                    print the ndis-offload-tree/1 JSON document (docs/json-format.md)

Examples:
  ndis-offload decode fixtures/sample-x64.bin --base 0xffffc70a12340000
  ndis-offload decode fixtures/sample-x64.dmp --root 0xffffc70a12340f80 --operation initiate
  ndis-offload decode capture.bin --base ffffc70a\`12340000 --root ffffc70a\`12340a00 --operation initiate --json`;

export const VALIDATE_HELP = `Usage: ndis-offload validate IMAGE --base HEX [--root HEX] [options] [--json]
       ndis-offload validate MEMORY.DMP --root HEX [options] [--json]
       ndis-offload validate --physical IMAGE --dtb HEX --root HEX [options] [--json]

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

export interface Decoded {
  doc: TreeDocument;
  image: MemoryImage;
  source: Source;
  json: boolean;
}

/**
 * Parses `argv` against the command's own option table (decode's by default: hexdump and
 * validate give theirs), opens the source the arguments name, decodes the tree, hands both to
 * `use`, and closes the source whatever happens. The source's warnings (a truncated dump) go to
 * stderr. A --root beyond the ABI's pointers is refused; one that points at garbage is decoded
 * (its diagnostics are the answer).
 */
export function withDecoded<T>(argv: string[], io: Io, use: (d: Decoded) => T, table: TreeOptionTable = DECODE_OPTIONS): T {
  const { values, positionals } = parseOptions(argv, table);
  const options = {
    operation: parseOperation(values.operation),
    maxBlocks: positiveInt(values['max-blocks'], '--max-blocks'),
  };
  const source = openSource(values, positionals, io);
  try {
    let root: bigint;
    if (values.root !== undefined) root = sourceAddress(source, values.root, '--root');
    else if (source.base !== undefined) root = source.base;
    else throw new UsageError(`--root HEX is required for ${source.kind === 'dump' ? 'a crash dump' : 'a physical image'} (find roots with 'ndis-offload scan')`);
    reportWarnings(source, io);
    const doc = inFile(source.name, () => decodeTree(source.image, root, { abi: source.abi, ndis: source.ndis, ...options }));
    return use({ doc, image: source.image, source, json: Boolean((values as { json?: boolean }).json) });
  } finally {
    source.close();
  }
}

export const documentJson = (doc: TreeDocument): string => `${JSON.stringify(doc, null, 2)}\n`;

export function runDecode(argv: string[], io: Io): number {
  return withDecoded(argv, io, ({ doc, json }) => {
    io.out(json ? documentJson(doc) : formatTreeText(doc, paletteFor(io.stdoutIsTty, io.env)));
    return doc.blocks.length === 0 ? EXIT.INPUT : EXIT.OK;
  });
}

export function runValidate(argv: string[], io: Io): number {
  return withDecoded(argv, io, ({ doc, json }) => validateOutput(doc, json, io), VALIDATE_OPTIONS);
}

function validateOutput(doc: TreeDocument, json: boolean, io: Io): number {
  const problems = doc.diagnostics.filter((d) => d.severity !== 'info');
  if (json) io.out(`${JSON.stringify(doc.diagnostics, null, 2)}\n`);
  else {
    for (const d of doc.diagnostics) {
      io.out(`${d.severity} ${d.code} ${d.path}${d.member ? ` ${d.member}` : ''} @${d.address}${d.offset !== null ? ` (offset 0x${d.offset.toString(16)})` : ''}: ${d.message}\n`);
    }
    io.out(`${problems.length ? `${problems.length} problems` : 'no problems'} in ${doc.blocks.length ? 'the tree' : 'an empty tree'}\n`);
  }
  return problems.length || doc.blocks.length === 0 ? EXIT.PROBLEMS : EXIT.OK;
}
