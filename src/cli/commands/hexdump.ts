import { chunkedSink } from '../../tree/json-stream.js';
import { writeHexdump } from '../../tree/hexdump.js';
import { paletteFor } from '../format-tree.js';
import { EXIT, type Io } from '../io.js';
import { DECODE_SOURCES, TREE_OPTIONS, withBlocks } from './decode.js';

/** hexdump's own options (json: the --json form). */
export const HEXDUMP_OPTIONS = { ...TREE_OPTIONS, json: { type: 'boolean' } } as const;

export const HEXDUMP_HELP = `Usage: ndis-offload hexdump IMAGE --base HEX [--root HEX] [options] [--json]
       ndis-offload hexdump MEMORY.DMP --root HEX [options] [--json]
       ndis-offload hexdump --physical IMAGE [--dtb HEX] --root HEX [options] [--json]

An annotated hex view of the tree: every byte range labelled with the block, the structure and
the member it belongs to; padding marked as padding; bytes between the tree's structures
collapsed into one line. The second column is the offset of the range in IMAGE, or in the dump
or physical image file when the range lies in one page (blank where it straddles two); then the
bytes in hex and as ASCII ('.' for a byte that is not printable ASCII), 16 to a row.

${DECODE_SOURCES}
  --json                    print the ranges as JSON: address, offset, size, block path,
                            structure and member, padding, the bytes in hex and the diagnostics
                            about them (docs/cli.md)

Examples:
  ndis-offload hexdump fixtures/sample-x64.bin --base 0xffffc70a12340000 --operation initiate
  ndis-offload hexdump fixtures/broken-cycle.bin --base 0xffffc70a40000000
  ndis-offload hexdump fixtures/sample-x64.dmp --root 0xffffc70a12340f80 --operation initiate
  ndis-offload hexdump fixtures/sample-x64.bin --base 0xffffc70a12340000 --operation initiate --json`;

export function runHexdump(argv: string[], io: Io): number {
  return withBlocks(
    argv,
    io,
    (open, json, image) => {
      const sink = chunkedSink((text) => io.out(text));
      const blocks = writeHexdump(open(), image, json, sink.write, paletteFor(io.stdoutIsTty, io.env));
      sink.flush();
      return blocks ? EXIT.OK : EXIT.INPUT;
    },
    HEXDUMP_OPTIONS,
  );
}
