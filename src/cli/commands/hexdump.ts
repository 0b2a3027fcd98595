import { abiByName } from '../../layout/abi.js';
import { Location } from '../../codec/image.js';
import { annotateTree } from '../../tree/annotate.js';
import { paletteFor } from '../format-tree.js';
import { EXIT, type Io } from '../io.js';
import { DECODE_SOURCES, type Decoded, TREE_OPTIONS, withDecoded } from './decode.js';

/** hexdump's own options (json: the --json form). */
export const HEXDUMP_OPTIONS = { ...TREE_OPTIONS, json: { type: 'boolean' } } as const;

export const HEXDUMP_HELP = `Usage: ndis-offload hexdump IMAGE --base HEX [--root HEX] [options]
       ndis-offload hexdump MEMORY.DMP --root HEX [options]
       ndis-offload hexdump --physical IMAGE --dtb HEX --root HEX [options]

An annotated hex view of the tree: every byte range labelled with the block, the structure and
the member it belongs to; padding marked as padding; bytes between the tree's structures
collapsed into one line. The second column is the offset of the range in IMAGE, or in the dump
or physical image file when the range lies in one page (blank where it straddles two).

${DECODE_SOURCES}

Examples:
  ndis-offload hexdump fixtures/sample-x64.bin --base 0xffffc70a12340000 --operation initiate
  ndis-offload hexdump fixtures/broken-cycle.bin --base 0xffffc70a40000000
  ndis-offload hexdump fixtures/sample-x64.dmp --root 0xffffc70a12340f80 --operation initiate`;

const hex2 = (b: number): string => b.toString(16).padStart(2, '0');

export function runHexdump(argv: string[], io: Io): number {
  return withDecoded(argv, io, (d) => hexdump(d, io), HEXDUMP_OPTIONS);
}

function hexdump({ doc, image }: Decoded, io: Io): number {
  const abi = abiByName(doc.abi);
  const p = paletteFor(io.stdoutIsTty, io.env);
  const loc = new Location();
  const lines: string[] = [];
  let cursor: bigint | undefined;
  const records = annotateTree(doc, abi);
  // The offset column is as wide as the largest offset shown (at least six digits), so that the
  // rows stay aligned in files past 16 MiB (crash dumps).
  let widest = 0;
  for (const r of records) if (image.locate(r.address, r.size, loc) && loc.imageOffset > widest) widest = loc.imageOffset;
  const digits = Math.max(6, widest.toString(16).length);
  for (const r of records) {
    if (cursor !== undefined && r.address > cursor) lines.push(p.dim(`${' '.repeat(18)} … ${r.address - cursor} bytes not part of the tree`));
    const bytes: number[] = [];
    const readable = image.locate(r.address, r.size, loc);
    for (let i = 0; i < r.size && readable; i++) bytes.push(loc.view.getUint8(loc.offset + i));
    const offset = readable && loc.imageOffset >= 0 ? `+${loc.imageOffset.toString(16).padStart(digits, '0')}` : ' '.repeat(digits + 1);
    for (let row = 0; row < Math.max(1, Math.ceil(r.size / 16)); row++) {
      const chunk = bytes.slice(row * 16, row * 16 + 16).map(hex2).join(' ');
      const label = row === 0 ? `${r.path} ${r.label}` : '';
      const addr = `0x${(r.address + BigInt(row * 16)).toString(16).padStart(abi.pointerSize * 2, '0')}`;
      const shown = readable ? chunk : p.red('(not in the image)');
      lines.push(`${p.cyan(addr)} ${p.dim(row === 0 ? offset : ' '.repeat(digits + 1))}  ${(r.padding ? p.dim(shown) : shown).padEnd(readable ? 47 : 0)}  ${r.padding ? p.dim(label) : label}`);
    }
    const end = r.address + BigInt(r.size);
    cursor = cursor === undefined || end > cursor ? end : cursor;
  }
  for (const d of doc.diagnostics.filter((x) => x.severity !== 'info')) lines.push(p.yellow(`${d.severity} ${d.code} ${d.path} @${d.address}: ${d.message}`));
  io.out(`${lines.join('\n')}\n`);
  return doc.blocks.length ? EXIT.OK : EXIT.INPUT;
}
