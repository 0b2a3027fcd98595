import { constants } from 'node:buffer';
import { readFileSync, writeSync } from 'node:fs';
import { toInteger } from '../../codec/struct-io.js';
import { type Abi, abiByName } from '../../layout/abi.js';
import type { NdisRevision } from '../../layout/descriptor.js';
import { convertDocument, encodeOntoCopy, encodeTree, type EncodeInput } from '../../tree/encode.js';
import { DecodeError, UsageError } from '../../errors.js';
import { EXIT, type Io, parseAddress, parseOptions, readFileNamed, writeFileAtomic } from '../io.js';
import { refuseCapture } from '../source.js';
import { parseNdis } from './layout.js';

export const ENCODE_HELP = `Usage: ndis-offload encode TREE.json -o OUT [--onto CAPTURE] [--base HEX] [--abi x64|x86] [--ndis 6.0|6.1]

Encodes a tree document (the JSON that 'decode --json' prints, or a hand-written subset) to memory.
TREE.json may be - (standard input), OUT may be - (standard output, not a terminal).

Every form of a value the decoder prints is input, and forms that disagree are refused: Status
as value, hex and name; the block's type and Header.Type; State as value and name. A port may
be given in host order as { "host": 445 }. A layer that is not the block's depth, a role the
context cell contradicts, a root that is not the first block's address, or an offset that is not
the address's, is refused.

Without --onto, lays the tree out anew, compactly from the root at offset 0 of OUT: each block
aligned, followed by its state, then its context cell and IP address bytes. Every block gets a
new address, so "address", "offset" and the pointers (NextBlock, DependentBlockList,
MiniportOffloadContext, a path's SourceAddress and DestinationAddress) are not read: they are
recomputed (an address and offset given together must still agree with the document's base).
The same document always gives the same bytes.

With --onto, writes every structure at its "address" onto a copy of CAPTURE and changes no byte
the document does not describe; a form edited in the document (and only one) wins over forms
that still hold the capture's value. CAPTURE's first byte is at the document's "base" (or
--base). CAPTURE is a region file: crash dumps and physical images are refused (exit 2).
OUT is written atomically. The document is read whole: at most 512 MiB of JSON (Node's longest
string; some 250,000 connections as decode --json prints them), a larger one is refused.

Options:
  -o, --out OUT          the file to write (required); - for standard output
  --base HEX             virtual address of OUT's first byte (compact: default the document's
                         base, else 0xffffc00000000000 on x64, 0x80000000 on x86), or of
                         CAPTURE's (--onto: default the document's base; both given must agree)
  --onto CAPTURE         the capture to encode onto
  --abi x64|x86          compact: convert the document to this ABI (structure sizes in
                         Header.Size and Header.Length follow; the document's base, an address
                         of its own ABI, gives way to the default; a value that does not fit is
                         refused with its path). --onto: must be the document's ABI
  --ndis 6.0|6.1         compact: convert to this NDIS revision (to 6.0, DWnd is dropped when 0
                         and refused otherwise). --onto: must be the document's revision

Examples:
  ndis-offload encode tree.json -o tree.bin --base 0xffffc70a12340000
  ndis-offload decode cap.bin --base ffffc70a12340000 --json > tree.json   # edit tree.json, then
  ndis-offload encode tree.json --onto cap.bin -o cap-edited.bin
  ndis-offload encode tree.json --abi x86 -o tree-x86.bin`;

/** What encode needs of its Io beyond text: standard input and binary standard output (the process's when not given). */
export interface EncodeIo extends Io {
  readStdin?(): Uint8Array;
  outBytes?(bytes: Uint8Array): void;
}

/**
 * The document's text. encode reads the document whole (JSON.parse), so it is bounded by the
 * longest string Node can make (about 512 MiB, some 250,000 connections of `decode --json`): a
 * larger one is refused with that reason rather than failing inside the parser.
 */
export function documentText(bytes: Buffer, name: string, maxChars: number = constants.MAX_STRING_LENGTH): string {
  if (bytes.length > maxChars) {
    const mib = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;
    throw new DecodeError(
      undefined,
      `${name}: ${bytes.length} bytes (${mib(bytes.length)}) of JSON: encode reads a document whole, and the longest text Node can hold is ${maxChars} characters (${mib(maxChars)}); encode the tree in parts (its top-level blocks), or from a capture with encode --onto of a smaller document`,
    );
  }
  return bytes.toString('utf8');
}

function readInput(path: string, io: EncodeIo): Buffer {
  if (path !== '-') return readFileNamed(path);
  const bytes = io.readStdin ? io.readStdin() : readFileSync(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

function writeOutput(path: string, bytes: Uint8Array, io: EncodeIo): string {
  if (path !== '-') {
    writeFileAtomic(path, bytes);
    return path;
  }
  if (io.outBytes) io.outBytes(bytes);
  else for (let done = 0; done < bytes.length; ) done += writeSync(1, bytes, done, bytes.length - done);
  return 'standard output';
}

// A document that does not say its ABI or revision is written for the one the option names.
const sameAbi = (name: unknown, abi: Abi): boolean => name === undefined || name === abi.name;
const sameNdis = (name: unknown, ndis: NdisRevision): boolean => name === undefined || name === ndis;

export function runEncode(argv: string[], io: EncodeIo): number {
  const { values, positionals } = parseOptions(argv, {
    out: { type: 'string', short: 'o' },
    base: { type: 'string' },
    onto: { type: 'string' },
    abi: { type: 'string' },
    ndis: { type: 'string' },
    // Accepted only to refuse them clearly.
    physical: { type: 'string' },
    dtb: { type: 'string' },
  });
  refuseCapture('encode --onto', values.onto, values.physical);
  if (values.dtb !== undefined) throw new UsageError('encode writes a region (compact, or --onto a region capture); --dtb belongs to physical images, which are read-only here');
  if (positionals.length !== 1) throw new UsageError(`expected one TREE.json, got ${positionals.length}`);
  if (!values.out) throw new UsageError('-o OUT is required (- for standard output)');
  if (values.out === '-' && io.stdoutIsTty) throw new UsageError('-o -: standard output is a terminal; redirect it to a file or a pipe, or give -o FILE');
  if (values.onto === '-') throw new UsageError('--onto -: the capture must be a file (standard input is for TREE.json)');
  const name = positionals[0]! === '-' ? 'standard input' : positionals[0]!;
  const text = documentText(readInput(positionals[0]!, io), name);
  let doc: EncodeInput;
  try {
    doc = JSON.parse(text) as EncodeInput;
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message);
    throw new DecodeError(at ? Number(at[1]) : undefined, `${name}: not JSON (${(e as Error).message})`);
  }
  const abi = values.abi !== undefined ? abiByName(values.abi) : undefined;
  const ndis = values.ndis !== undefined ? parseNdis(values.ndis) : undefined;
  const base = values.base !== undefined ? parseAddress(values.base, '--base') : undefined;
  const isDoc = typeof doc === 'object' && doc !== null && !Array.isArray(doc);
  const docBase = isDoc && typeof doc.base === 'string' ? toInteger(doc.base, { kind: 'pointer', to: 'VOID' }, undefined, 8, '$.base') : undefined;

  if (values.onto) {
    // Onto a capture the structures are written where they are: their layout cannot change.
    if (isDoc && abi && !sameAbi(doc.abi, abi)) {
      throw new UsageError(`--abi ${abi.name}: the document is ${String(doc.abi)}, and --onto writes its structures where they are in the capture, laid out as decoded; encode without --onto to convert, or decode the capture with --abi ${abi.name}`);
    }
    if (isDoc && ndis && !sameNdis(doc.ndis, ndis)) {
      throw new UsageError(`--ndis ${ndis}: the document is NDIS ${String(doc.ndis)}, and --onto writes its structures where they are in the capture, laid out as decoded; encode without --onto to convert, or decode the capture with --ndis ${ndis}`);
    }
    if (base !== undefined && docBase !== undefined && base !== docBase) {
      throw new UsageError(`--base 0x${base.toString(16)} and the document's base 0x${docBase.toString(16)} differ: --base says where ${values.onto}'s first byte is, the document's base where it was decoded from; give one, or make them agree`);
    }
    const at = base ?? docBase;
    if (at === undefined) throw new UsageError(`--onto needs --base HEX: the address of ${values.onto}'s first byte (the document gives no base)`);
    const capture = readFileNamed(values.onto);
    const out = encodeOntoCopy(doc, new Uint8Array(capture.buffer, capture.byteOffset, capture.length), at, { ...(abi ? { abi } : {}), ...(ndis ? { ndis } : {}) });
    const where = writeOutput(values.out, out, io);
    io.err(`wrote ${where}: ${out.length} bytes (${values.onto} at 0x${at.toString(16)}, with the document's structures written over it)\n`);
    return EXIT.OK;
  }
  // Compact: another ABI or revision converts the document (or says which member cannot be).
  const target = isDoc && ((abi && !sameAbi(doc.abi, abi)) || (ndis && !sameNdis(doc.ndis, ndis))) ? convertDocument(doc, { ...(abi ? { abi } : {}), ...(ndis ? { ndis } : {}) }) : doc;
  const enc = encodeTree(target, { ...(abi ? { abi } : {}), ...(ndis ? { ndis } : {}), ...(base !== undefined ? { base } : {}) });
  const where = writeOutput(values.out, enc.bytes, io);
  const converted = target !== doc ? `, converted from ${String(doc.abi ?? 'x64')} NDIS ${String(doc.ndis ?? '6.1')}` : '';
  io.err(`wrote ${where}: ${enc.bytes.length} bytes, ${enc.abi.name} NDIS ${enc.ndis}${converted}, base and root 0x${enc.base.toString(16)}\n`);
  return EXIT.OK;
}
