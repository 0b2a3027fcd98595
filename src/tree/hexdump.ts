/**
 * The annotated hexdump as `hexdump` prints it (text, or its --json form): every byte range of a
 * decoded tree labelled with its block, structure and member. Free of Node built-ins, so the web
 * inspector's Worker makes its hexdump downloads with it; test/web/edit.test.ts and
 * downloads.browser.test.ts hold them byte for byte to the command's output. (The command's own
 * copy in src/cli/commands/hexdump.ts is being rewritten to stream on main; once merged, it should
 * write through these functions, or these move to follow it, so that the two are one.)
 */
import { Location, type MemoryImage } from '../codec/image.js';
import { abiByName } from '../layout/abi.js';
import { type ByteRange, annotateTree } from './annotate.js';
import { type Diagnostic, type TreeDocument, hexPtr } from './document.js';

/** The colours of the text view (the CLI's palette for a terminal); none by default. */
export interface HexdumpPalette {
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const same = (s: string): string => s;
const NO_COLOUR: HexdumpPalette = { dim: same, red: same, yellow: same, cyan: same };

/** Bytes shown in one row, and the width of the hex column they fill. */
const ROW = 16;
const HEX_WIDTH = ROW * 3 - 1;

const hex2 = (b: number): string => b.toString(16).padStart(2, '0');
const ascii = (bytes: readonly number[]): string => bytes.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
const plural = (n: bigint, one: string): string => `${n} ${one}${n === 1n ? '' : 's'}`;

/** One labelled range with what the capture holds there. */
export interface Shown {
  range: ByteRange;
  /** The bytes, or undefined when the range is not in the image. */
  bytes: number[] | undefined;
  /** Offset in the file that holds the range, or null (not in the image, or straddling two pages). */
  offset: number | null;
}

/**
 * The text view. Every cell is padded to its width as plain text and coloured afterwards, so that
 * the columns line up whether or not the escape codes are there.
 */
export function hexdumpText(doc: TreeDocument, shown: readonly Shown[], p: HexdumpPalette): string {
  const addressWidth = 2 + abiByName(doc.abi).pointerSize * 2;
  // The offset column is as wide as the largest offset shown (at least six digits), so that the
  // rows stay aligned in files past 16 MiB (crash dumps).
  let widest = 0;
  for (const s of shown) if (s.offset !== null && s.offset > widest) widest = s.offset;
  const digits = Math.max(6, widest.toString(16).length);
  const cell = (text: string, width: number, colour: (s: string) => string): string => (text ? colour(text) : '') + ' '.repeat(Math.max(0, width - text.length));
  const plain = (s: string): string => s;
  const lines: string[] = [];
  let cursor: bigint | undefined;
  for (const { range: r, bytes, offset } of shown) {
    if (cursor !== undefined && r.address > cursor) lines.push(`${' '.repeat(addressWidth + 1)}${p.dim(`… ${plural(r.address - cursor, 'byte')} not part of the tree`)}`);
    const faint = r.padding ? p.dim : plain;
    for (let row = 0; row < Math.max(1, Math.ceil(r.size / ROW)); row++) {
      const address = cell(hexPtr(r.address + BigInt(row * ROW), (addressWidth - 2) / 2), addressWidth, p.cyan);
      const where = cell(row === 0 && offset !== null ? `+${offset.toString(16).padStart(digits, '0')}` : '', digits + 1, p.dim);
      const chunk = bytes?.slice(row * ROW, row * ROW + ROW);
      const hexCell = chunk ? cell(chunk.map(hex2).join(' '), HEX_WIDTH, faint) : cell('(not in the image)', HEX_WIDTH, p.red);
      const asciiCell = chunk ? cell(`|${ascii(chunk)}|`, ROW + 2, faint) : cell('', ROW + 2, plain);
      const label = row === 0 ? faint(`${r.path} ${r.label}`) : '';
      // (a row without a label ends at its last character: padding is for the columns after it)
      lines.push(label ? `${address} ${where}  ${hexCell}  ${asciiCell}  ${label}` : `${address} ${where}  ${hexCell}  ${asciiCell}`.trimEnd());
    }
    const end = r.address + BigInt(r.size);
    cursor = cursor === undefined || end > cursor ? end : cursor;
  }
  for (const d of doc.diagnostics.filter((x) => x.severity !== 'info')) {
    lines.push((d.severity === 'error' ? p.red : p.yellow)(`${d.severity} ${d.code} ${d.path} @${d.address}: ${d.message}`));
  }
  return `${lines.join('\n')}\n`;
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

/**
 * Gives each diagnostic to the range it is about, one of its block's: the range of the member it
 * names, or else the first holding its address (a block's own diagnostics are at its address).
 */
function diagnosticsByRange(doc: TreeDocument, shown: readonly Shown[]): Map<number, Diagnostic[]> {
  const byPath = new Map<string, number[]>();
  shown.forEach(({ range }, i) => {
    const list = byPath.get(range.path);
    if (list) list.push(i);
    else byPath.set(range.path, [i]);
  });
  const out = new Map<number, Diagnostic[]>();
  for (const d of doc.diagnostics) {
    const mine = byPath.get(d.path) ?? [];
    const member = d.member;
    const names = (label: string): boolean => label === member || label.endsWith(`.${member}`) || label.endsWith(` ${member}`) || label.includes(` ${member} |`);
    const at = BigInt(d.address);
    const holds = (i: number): boolean => at >= shown[i]!.range.address && at < shown[i]!.range.address + BigInt(shown[i]!.range.size);
    const chosen = (member !== undefined ? mine.find((i) => !shown[i]!.range.padding && names(shown[i]!.range.label)) : undefined) ?? mine.find(holds);
    if (chosen !== undefined) out.set(chosen, [...(out.get(chosen) ?? []), d]);
  }
  return out;
}

export function hexdumpJson(doc: TreeDocument, shown: readonly Shown[]): string {
  const pointerSize = abiByName(doc.abi).pointerSize;
  const about = diagnosticsByRange(doc, shown);
  const ranges = shown.map(
    ({ range: r, bytes, offset }, i): HexdumpRangeJson => ({
      address: hexPtr(r.address, pointerSize),
      offset,
      size: r.size,
      path: r.path,
      label: r.label,
      ...splitLabel(r.label),
      padding: r.padding,
      hex: bytes ? bytes.map(hex2).join('') : null,
      diagnostics: about.get(i) ?? [],
    }),
  );
  const out: HexdumpJson = { format: 'ndis-offload-hexdump/1', abi: doc.abi, ndis: doc.ndis, root: doc.root, ranges, diagnostics: doc.diagnostics };
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** Each labelled range of the tree with what the image holds there. */
export function shownRanges(doc: TreeDocument, image: MemoryImage): Shown[] {
  const loc = new Location();
  return annotateTree(doc, abiByName(doc.abi)).map((range) => {
    if (!image.locate(range.address, range.size, loc)) return { range, bytes: undefined, offset: null };
    const bytes: number[] = [];
    for (let i = 0; i < range.size; i++) bytes.push(loc.view.getUint8(loc.offset + i));
    return { range, bytes, offset: loc.imageOffset >= 0 ? loc.imageOffset : null };
  });
}

/** The hexdump of a decoded tree: the text view in palette `p`, or the --json form. */
export function hexdumpOf(doc: TreeDocument, image: MemoryImage, json: boolean, p: HexdumpPalette = NO_COLOUR): string {
  const shown = shownRanges(doc, image);
  return json ? hexdumpJson(doc, shown) : hexdumpText(doc, shown, p);
}
