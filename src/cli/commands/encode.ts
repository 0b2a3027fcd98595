import { parseArgs } from 'node:util';
import { abiByName } from '../../layout/abi.js';
import { encodeOntoCopy, encodeTree, type EncodeInput } from '../../tree/encode.js';
import { DecodeError, UsageError } from '../../errors.js';
import { EXIT, type Io, parseAddress, readFileNamed, writeFileAtomic } from '../io.js';
import { refuseCapture } from '../source.js';
import { parseNdis } from './layout.js';

export const ENCODE_HELP = `Usage: ndis-offload encode TREE.json -o OUT [--base HEX] [--onto CAPTURE]

Encodes a tree document (the JSON that 'decode --json' prints, or a hand-written subset) to memory.

Without --onto, lays the tree out compactly from the root at offset 0 of OUT: each block aligned,
followed by its state, then its context cell and IP address bytes. The same document always
gives the same bytes. With --onto, writes every structure at its "address" onto a copy of
CAPTURE (whose first byte is at --base) and changes no other byte. OUT is written atomically.
CAPTURE is a region file: crash dumps and physical images are refused (exit 2).

Options:
  -o, --out OUT          the file to write (required)
  --base HEX             virtual address of OUT's first byte (compact: default the document's
                         base, else 0xffffc00000000000 on x64, 0x80000000 on x86)
  --onto CAPTURE         the capture to encode onto (needs --base)
  --abi x64|x86          override the document's ABI
  --ndis 6.0|6.1         override the document's NDIS revision

Examples:
  ndis-offload encode tree.json -o tree.bin --base 0xffffc70a12340000
  ndis-offload decode cap.bin --base ffffc70a12340000 --json > tree.json   # edit tree.json, then
  ndis-offload encode tree.json --onto cap.bin --base ffffc70a12340000 -o cap-edited.bin`;

export function runEncode(argv: string[], io: Io): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', short: 'o' },
      base: { type: 'string' },
      onto: { type: 'string' },
      abi: { type: 'string' },
      ndis: { type: 'string' },
      // Accepted only to refuse them clearly.
      physical: { type: 'string' },
      dtb: { type: 'string' },
    },
    allowPositionals: true,
  });
  refuseCapture('encode --onto', values.onto, values.physical);
  if (positionals.length !== 1) throw new UsageError(`expected one TREE.json, got ${positionals.length}`);
  if (!values.out) throw new UsageError('-o OUT is required');
  const text = readFileNamed(positionals[0]!).toString('utf8');
  let doc: EncodeInput;
  try {
    doc = JSON.parse(text) as EncodeInput;
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message);
    throw new DecodeError(at ? Number(at[1]) : undefined, `${positionals[0]}: not JSON (${(e as Error).message})`);
  }
  const options = {
    ...(values.abi ? { abi: abiByName(values.abi) } : {}),
    ...(values.ndis ? { ndis: parseNdis(values.ndis) } : {}),
  };
  if (values.onto) {
    if (values.base === undefined) throw new UsageError('--onto needs --base HEX: the address of the capture\'s first byte');
    const capture = readFileNamed(values.onto);
    const out = encodeOntoCopy(doc, new Uint8Array(capture.buffer, capture.byteOffset, capture.length), parseAddress(values.base, '--base'), options);
    writeFileAtomic(values.out, out);
    io.err(`wrote ${values.out}: ${out.length} bytes (${values.onto} with the document's structures written over it)\n`);
    return EXIT.OK;
  }
  const enc = encodeTree(doc, { ...options, ...(values.base !== undefined ? { base: parseAddress(values.base, '--base') } : {}) });
  writeFileAtomic(values.out, enc.bytes);
  io.err(`wrote ${values.out}: ${enc.bytes.length} bytes, ${enc.abi.name}, base and root 0x${enc.base.toString(16)}\n`);
  return EXIT.OK;
}
