/**
 * The annotated hexdump (the `hexdump` command's text and `--json` forms), written as the tree is
 * read: the CLI writes it to standard output in chunks, the web inspector's Worker into a
 * download. No Node built-ins.
 */
import { Location, type MemoryImage } from '../codec/image.js';
import { abiByName } from '../layout/abi.js';
import type { NdisRevision } from '../layout/descriptor.js';
import { type ByteRange, type IndexedRange, type TreeRanges, annotateBlocks } from './annotate.js';
import type { BlockStream } from './decode.js';
import { type Diagnostic, type DocumentHead, hexPtr } from './document.js';
import type { Sink } from './json-stream.js';

/** The colours of the text form (the CLI's palette on a terminal; none elsewhere). */
export interface HexdumpPalette {
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const same = (s: string): string => s;
export const NO_COLOUR: HexdumpPalette = { dim: same, red: same, yellow: same, cyan: same };

/** Bytes shown in one row, and the width of the hex column they fill. */
const ROW = 16;
const HEX_WIDTH = ROW * 3 - 1;

const hex2 = (b: number): string => b.toString(16).padStart(2, '0');
const ascii = (bytes: readonly number[]): string => bytes.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
const plural = (n: bigint, one: string): string => `${n} ${one}${n === 1n ? '' : 's'}`;

/** One labelled range with what the capture holds there. */
interface Shown {
  range: IndexedRange;
  /** The bytes, or undefined when the range is not in the image. */
  bytes: number[] | undefined;
  /** Offset in the file that holds the range, or null (not in the image, or straddling two pages). */
  offset: number | null;
}

/**
 * Writes the view to `out` as it goes (text, or `json`), and returns the number of blocks read: the tree is read once (annotateBlocks keeps a few tens of bytes a
 * block, never the blocks or their ranges), then its ranges are written in address order, each
 * block's rebuilt as it is reached, in chunks. The text's offset column is as wide as the widest
 * offset, which the first reading finds.
 */
export function writeHexdump(stream: BlockStream, image: MemoryImage, json: boolean, out: Sink, palette: HexdumpPalette = NO_COLOUR): number {
  const { head } = stream;
  const abi = abiByName(head.abi);
  const loc = new Location();
  let widest = 0;
  const widen = (ranges: readonly ByteRange[]): void => {
    for (const r of ranges) if (image.locate(r.address, r.size, loc) && loc.imageOffset > widest) widest = loc.imageOffset;
  };
  const tree = annotateBlocks(stream, abi, head.ndis as NdisRevision, json ? undefined : widen);
  const diagnostics = stream.diagnostics;
  const show = (range: IndexedRange): Shown => {
    if (!image.locate(range.address, range.size, loc)) return { range, bytes: undefined, offset: null };
    const bytes: number[] = [];
    for (let i = 0; i < range.size; i++) bytes.push(loc.view.getUint8(loc.offset + i));
    return { range, bytes, offset: loc.imageOffset >= 0 ? loc.imageOffset : null };
  };
  if (json) hexdumpJson(head, diagnostics, tree, show, out);
  else hexdumpText(head, diagnostics, tree, show, widest, palette, out);
  return tree.blockCount;
}

/**
 * The text view. Every cell is padded to its width as plain text and coloured afterwards, so that
 * the columns line up whether or not the escape codes are there.
 */
function hexdumpText(
  head: DocumentHead,
  diagnostics: readonly Diagnostic[],
  ranges: Iterable<IndexedRange>,
  show: (r: IndexedRange) => Shown,
  widest: number,
  p: HexdumpPalette,
  out: Sink,
): void {
  const addressWidth = 2 + abiByName(head.abi).pointerSize * 2;
  // The offset column is as wide as the largest offset shown (at least six digits), so that the
  // rows stay aligned in files past 16 MiB (crash dumps).
  const digits = Math.max(6, widest.toString(16).length);
  const cell = (text: string, width: number, colour: (s: string) => string): string => (text ? colour(text) : '') + ' '.repeat(Math.max(0, width - text.length));
  const plain = (s: string): string => s;
  let lines = 0;
  const line = (text: string): void => {
    out(`${text}\n`);
    lines++;
  };
  let cursor: bigint | undefined;
  for (const range of ranges) {
    const { range: r, bytes, offset } = show(range);
    if (cursor !== undefined && r.address > cursor) line(`${' '.repeat(addressWidth + 1)}${p.dim(`… ${plural(r.address - cursor, 'byte')} not part of the tree`)}`);
    const faint = r.padding ? p.dim : plain;
    for (let row = 0; row < Math.max(1, Math.ceil(r.size / ROW)); row++) {
      const address = cell(hexPtr(r.address + BigInt(row * ROW), (addressWidth - 2) / 2), addressWidth, p.cyan);
      const where = cell(row === 0 && offset !== null ? `+${offset.toString(16).padStart(digits, '0')}` : '', digits + 1, p.dim);
      const chunk = bytes?.slice(row * ROW, row * ROW + ROW);
      const hexCell = chunk ? cell(chunk.map(hex2).join(' '), HEX_WIDTH, faint) : cell('(not in the image)', HEX_WIDTH, p.red);
      const asciiCell = chunk ? cell(`|${ascii(chunk)}|`, ROW + 2, faint) : cell('', ROW + 2, plain);
      const label = row === 0 ? faint(`${r.path} ${r.label}`) : '';
      // (a row without a label ends at its last character: padding is for the columns after it)
      line(label ? `${address} ${where}  ${hexCell}  ${asciiCell}  ${label}` : `${address} ${where}  ${hexCell}  ${asciiCell}`.trimEnd());
    }
    const end = r.address + BigInt(r.size);
    cursor = cursor === undefined || end > cursor ? end : cursor;
  }
  for (const d of diagnostics.filter((x) => x.severity !== 'info')) {
    line((d.severity === 'error' ? p.red : p.yellow)(`${d.severity} ${d.code} ${d.path} @${d.address}: ${d.message}`));
  }
  // (no line at all: the empty text's one newline)
  if (lines === 0) out('\n');
}

/** A range in the JSON form: where it is, what it is, what the capture holds there. */
export interface HexdumpRangeJson {
  /** Virtual address of the first byte. */
  address: string;
  /** Offset in the file holding the range; null when it is not in the image or straddles two pages. */
  offset: number | null;
  size: number;
  /** The block the range belongs to: `blocks[0].dependents[1]`. */
  path: string;
  /** As the text view prints it: `NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Type`, `IP4_OFFLOAD_STATE padding`, `*SourceAddress`. */
  label: string;
  /** The C structure; null for the bytes a pointer points at (`*SourceAddress`). */
  structure: string | null;
  /** The C member (dotted; `A | B` where members share the bytes), or the pointer for its pointee (`*SourceAddress`); null for padding. */
  member: string | null;
  padding: boolean;
  /** The bytes as lowercase hex, two digits each, no separators; null when not in the image. */
  hex: string | null;
  /** The diagnostics about these bytes, each in one range: its member's, or else the first of its block holding its address. */
  diagnostics: Diagnostic[];
}

export interface HexdumpJson {
  format: 'ndis-offload-hexdump/1';
  abi: string;
  ndis: string;
  root: string;
  ranges: HexdumpRangeJson[];
  /** Every diagnostic of the decode, those about no range included. */
  diagnostics: Diagnostic[];
}

function splitLabel(label: string): { structure: string | null; member: string | null } {
  if (label.startsWith('*')) return { structure: null, member: label };
  const padding = / padding$/.exec(label);
  if (padding) return { structure: label.slice(0, padding.index), member: null };
  const dot = label.indexOf('.');
  return { structure: label.slice(0, dot), member: label.slice(dot + 1) };
}

/** A range of a block: `${block}:${seq}` (see IndexedRange). */
const rangeKey = (r: IndexedRange): string => `${r.block}:${r.seq}`;

/**
 * Gives each diagnostic to the range it is about, one of its block's: the range of the member it
 * names, or else the first holding its address (a block's own diagnostics are at its address),
 * first in address order. Only the blocks the diagnostics name are rebuilt.
 */
function diagnosticsByRange(diagnostics: readonly Diagnostic[], tree: TreeRanges): Map<string, Diagnostic[]> {
  const blocks = tree.blocksAt(diagnostics.map((d) => d.path));
  const out = new Map<string, Diagnostic[]>();
  for (const d of diagnostics) {
    const block = blocks.get(d.path);
    if (block === undefined) continue;
    // (a stable sort: ranges at one address in the order they are labelled, as in the whole view)
    const mine = tree.rangesOf(block).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    const member = d.member;
    const names = (label: string): boolean => label === member || label.endsWith(`.${member}`) || label.endsWith(` ${member}`) || label.includes(` ${member} |`);
    const at = BigInt(d.address);
    const holds = (r: ByteRange): boolean => at >= r.address && at < r.address + BigInt(r.size);
    const chosen = (member !== undefined ? mine.find((r) => !r.padding && names(r.label)) : undefined) ?? mine.find(holds);
    if (chosen !== undefined) out.set(rangeKey(chosen), [...(out.get(rangeKey(chosen)) ?? []), d]);
  }
  return out;
}

/** JSON.stringify(value, null, 2) as it reads `indent` spaces in. */
const indented = (value: unknown, indent: string): string => JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`);

/** The JSON form, range by range: what JSON.stringify(HexdumpJson, null, 2) and a newline give. */
function hexdumpJson(head: DocumentHead, diagnostics: Diagnostic[], tree: TreeRanges, show: (r: IndexedRange) => Shown, out: Sink): void {
  const pointerSize = abiByName(head.abi).pointerSize;
  const about = diagnosticsByRange(diagnostics, tree);
  const top = JSON.stringify({ format: 'ndis-offload-hexdump/1', abi: head.abi, ndis: head.ndis, root: head.root }, null, 2);
  out(`${top.slice(0, top.length - 2)},\n  "ranges": `);
  let any = false;
  for (const range of tree) {
    const { range: r, bytes, offset } = show(range);
    const json: HexdumpRangeJson = {
      address: hexPtr(r.address, pointerSize),
      offset,
      size: r.size,
      path: r.path,
      label: r.label,
      ...splitLabel(r.label),
      padding: r.padding,
      hex: bytes ? bytes.map(hex2).join('') : null,
      diagnostics: about.get(rangeKey(range)) ?? [],
    };
    out(`${any ? ',' : '['}\n    ${indented(json, '    ')}`);
    any = true;
  }
  out(any ? '\n  ]' : '[]');
  out(`,\n  "diagnostics": ${indented(diagnostics, '  ')}\n}\n`);
}
