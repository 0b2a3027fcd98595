/**
 * One opened capture in the Worker: the capture layer's address space, the decoded tree as rows,
 * and the answers the page asks for (a block's members, a window of bytes with their owners, a
 * byte's owner, an address's file offset). Plain TypeScript over a ByteSource: the suite runs it
 * in Node over files, the page in a Worker over a File.
 */
import { type Capture, PAGING_NAMES, openCaptureImage, recognizeCapture, regionCapture } from '../../capture/open.js';
import type { Reader } from '../../capture/reader.js';
import { recogniseRefused, refusalError } from '../../capture/sources/refused.js';
import { parseAddress } from '../../codec/address.js';
import { Location } from '../../codec/image.js';
import type { ByteSource } from '../../codec/physical.js';
import { DecodeError, UsageError } from '../../errors.js';
import { type Abi, abiByName } from '../../layout/abi.js';
import { OPERATIONS, type Operation, stateType } from '../../layout/constants.js';
import { NDIS_REVISIONS, type NdisRevision } from '../../layout/descriptor.js';
import { layoutOf } from '../../layout/registry.js';
import { decodeBlocks } from '../../tree/decode.js';
import type { BlockFields } from '../../tree/document.js';
import { scanImage } from '../../tree/scan.js';
import { stateSize } from '../../tree/state.js';
import type { BlockDetails, BlockRow, ByteSpan, BytesResult, CaptureSummary, DecodeResult, DiagnosticRow, FindResult, OwnerResult, ProbeResult, RegionSettings, ScanHit } from '../protocol.js';
import { diagnosticTarget } from '../diagnostic-target.js';
import { filePieces, memberRows } from './members.js';

/** A region is read whole (it is edited in place and downloaded); larger files are not regions. */
export const MAX_REGION_BYTES = 1 << 30;

/** A search step looks through this many bytes of the file; it reads them this many at a time. */
const FIND_STEP = 64 << 20;
const FIND_CHUNK = 4 << 20;
/** The longest pattern Ctrl+F looks for. */
export const MAX_PATTERN = 256;

/** Blocks whose member spans are kept: more than a screenful of hex rows ever shows. */
const SPAN_CACHE = 512;

/** An address typed in the page (surrounding blanks allowed). */
export const parseHex = (text: string | undefined, what: string): bigint => parseAddress((text ?? '').trim(), what);

/** What the bytes of a file say it is, without opening it. */
export function probe(reader: Reader, sibling?: Sibling): ProbeResult {
  const found = recognizeCapture(reader, { sibling: siblingOf(sibling) });
  if (found?.id === 'refused') {
    const head = new Uint8Array(16);
    reader.read(head, 0);
    const refusal = recogniseRefused(head);
    if (refusal) throw refusalError(refusal, reader.name);
  }
  return { format: found?.label, needsSettings: found === undefined };
}

/** A file given with the capture (VMware's state file beside its .vmem): its name, and a fresh reader each time one is asked for (a reader is closed by whoever asked). */
export interface Sibling {
  name: string;
  open(): Reader;
}

const siblingOf = (sibling: Sibling | undefined) => (ext: string): Reader | undefined =>
  sibling && sibling.name.toLowerCase().endsWith(ext.toLowerCase()) ? sibling.open() : undefined;

interface Ownership {
  /** Per piece, sorted by file offset: start, end (exclusive), row. */
  start: Float64Array;
  end: Float64Array;
  row: Int32Array;
  /** Longest piece: the search for the pieces over a window starts that far before it. */
  longest: number;
}

export class Session {
  readonly capture: Capture;
  readonly abi: Abi;
  /** The host's NDIS revision the tree is decoded for (6.1 unless the page chooses 6.0: no DWnd). */
  ndis: NdisRevision;
  /** The bytes of a region (edited in place, downloaded), undefined for other captures. */
  readonly regionBytes: Uint8Array | undefined;
  private readonly source: ByteSource;
  rows: BlockRow[] = [];
  diagnostics: DiagnosticRow[] = [];
  operation: Operation | undefined;
  root: bigint | undefined;
  private ownership: Ownership | undefined;
  private readonly scratch = new Location();
  /** The member spans of the blocks shown lately (a hex window asks for the same few blocks at every scroll step), least recently used first. */
  private readonly spanCache = new Map<number, ByteSpan[]>();

  constructor(
    readonly id: number,
    source: ByteSource,
    options: { sibling?: Sibling; settings?: RegionSettings; ndis?: NdisRevision; progress?: (done: number, total: number) => void } = {},
  ) {
    this.source = source;
    this.ndis = options.ndis ?? '6.1';
    const settings = options.settings;
    if (settings?.kind === 'region') {
      if (source.size > MAX_REGION_BYTES) throw new UsageError(`${source.name}: ${source.size} bytes is more than a region can be here (${MAX_REGION_BYTES}); open it as a raw physical image or a capture`);
      if (source.size === 0) throw new DecodeError(0, `${source.name}: the file is empty`);
      const base = parseHex(settings.base, 'base');
      this.abi = abiByName(settings.abi ?? 'x64');
      if (this.abi.pointerSize === 4 && base > 0xffffffffn) throw new UsageError(`base ${settings.base} does not fit in a 32-bit pointer (x86)`);
      const bytes = new Uint8Array(source.size);
      let at = 0;
      while (at < bytes.length) {
        const n = source.read(bytes.subarray(at, Math.min(bytes.length, at + (16 << 20))), at);
        if (n <= 0) throw new DecodeError(at, `${source.name}: the file ended at ${at} of ${bytes.length} bytes`);
        at += n;
      }
      this.regionBytes = bytes;
      this.capture = { ...regionCapture([{ base, bytes, name: source.name }]), name: source.name };
    } else {
      this.capture = openCaptureImage(source, {
        ...(settings?.kind === 'physical' ? { format: 'raw', ...(settings.dtb ? { dtb: parseHex(settings.dtb, 'DTB') } : {}) } : {}),
        sibling: siblingOf(options.sibling),
        ...(options.progress ? { progress: options.progress } : {}),
      });
      this.abi = abiByName(settings?.abi ?? this.capture.abi ?? 'x64');
      this.regionBytes = undefined;
    }
  }

  summary(): CaptureSummary {
    const c = this.capture;
    const image = c.image;
    return {
      session: this.id,
      name: c.name,
      size: this.source.size,
      format: c.format,
      variant: c.variant,
      abi: this.abi.name,
      paging: PAGING_NAMES[c.paging],
      dtb: c.dtb ? { value: `0x${c.dtb.value.toString(16)}`, source: c.dtb.source, evidence: c.dtb.evidence } : undefined,
      base: c.format === 'region' ? this.hex([...image.ranges()][0]!.address) : undefined,
      writable: image.writable,
      readOnlyReason: image.writable ? undefined : (image.readOnlyReason ?? `${c.format} captures are read-only here`),
      warnings: [...c.warnings],
    };
  }

  hex(v: bigint): string {
    return `0x${v.toString(16).padStart(this.abi.pointerSize * 2, '0')}`;
  }

  /** Tree roots, best first (for a capture opened without one). */
  scan(progress?: (done: number, total: number) => void): ScanHit[] {
    return scanImage(this.capture.image, { abi: this.abi, ...(progress ? { progress } : {}) })
      .slice(0, 100)
      .map((c) => ({ address: this.hex(c.address), blocks: c.blocks, score: c.score }));
  }

  /** Decodes the tree at `root` (a region's base when absent) into rows and diagnostics. */
  decode(rootText?: string, operation?: string, ndis?: string): DecodeResult {
    const t0 = performance.now();
    if (ndis !== undefined) {
      if (!(NDIS_REVISIONS as readonly string[]).includes(ndis)) throw new UsageError(`unknown NDIS revision '${ndis}' (known: ${NDIS_REVISIONS.join(', ')})`);
      this.ndis = ndis as NdisRevision;
    }
    if (operation !== undefined && operation !== '' && !(OPERATIONS as readonly string[]).includes(operation)) {
      throw new UsageError(`unknown operation '${operation}' (known: ${OPERATIONS.join(', ')})`);
    }
    const op = operation ? (operation as Operation) : undefined;
    let root: bigint;
    if (rootText) root = parseHex(rootText, 'root');
    else if (this.capture.format === 'region') root = [...this.capture.image.ranges()][0]!.address;
    else throw new UsageError('give the root: the address of the first block (or scan for it)');
    const stream = decodeBlocks(this.capture.image, root, { abi: this.abi, ndis: this.ndis, ...(op ? { operation: op } : {}) });
    const rows: BlockRow[] = [];
    /** The last row at each depth: the parent of the next deeper row. */
    const lastAt: number[] = [];
    const byPath = new Map<string, number>();
    const pieces: { start: number; end: number; row: number }[] = [];
    const blockSize = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', this.abi, this.ndis).size;
    for (const { path, depth, block } of stream) {
      const index = rows.length;
      const parent = depth === 0 ? -1 : (lastAt[depth - 1] ?? -1);
      if (parent >= 0) {
        const p = rows[parent]!;
        if (p.firstChild < 0) p.firstChild = index;
        p.children++;
      }
      lastAt[depth] = index;
      lastAt.length = depth + 1;
      rows.push({ path, depth, layer: block.layer, role: block.role, type: block.type, status: block.Status.name, address: block.address, offset: block.offset, parent, firstChild: -1, children: 0 });
      byPath.set(path, index);
      const type = stateType(block.Header.Type);
      const size = blockSize + (block.state && type ? stateSize(type, this.abi, this.ndis) : 0);
      for (const p of filePieces(this.capture.image, BigInt(block.address), size, this.scratch)) pieces.push({ start: p.fileOffset, end: p.fileOffset + p.size, row: index });
    }
    const rank = { error: 3, warning: 2, info: 1 } as const;
    const diagnostics: DiagnosticRow[] = stream.diagnostics.map((d) => {
      const row = byPath.get(d.path) ?? -1;
      const out: DiagnosticRow = { severity: d.severity, code: d.code, message: d.message, path: d.path, ...(d.member ? { member: d.member } : {}), address: d.address, offset: d.offset, row, ...(d.count ? { count: d.count } : {}) };
      // A block the walk did not add (CYCLE, BLOCK_SHARED) marks the block whose pointer leads there.
      const r = rows[row >= 0 ? row : (diagnosticTarget(out, (p) => byPath.get(p))?.row ?? -1)];
      if (r && (!r.severity || rank[d.severity] > rank[r.severity])) r.severity = d.severity;
      return out;
    });
    pieces.sort((a, b) => a.start - b.start);
    this.ownership = {
      start: Float64Array.from(pieces, (p) => p.start),
      end: Float64Array.from(pieces, (p) => p.end),
      row: Int32Array.from(pieces, (p) => p.row),
      longest: pieces.reduce((m, p) => Math.max(m, p.end - p.start), 0),
    };
    this.rows = rows;
    this.spanCache.clear();
    this.diagnostics = diagnostics;
    this.operation = op;
    this.root = root;
    return { root: this.hex(root), operation: op ?? null, ndis: this.ndis, rows, diagnostics, ms: performance.now() - t0 };
  }

  private row(index: number): BlockRow {
    const r = this.rows[index];
    if (!r) throw new UsageError(`no block row ${index} (the tree has ${this.rows.length})`);
    return r;
  }

  /** The block's document members, decoded again from the bytes (the tree keeps rows only, so memory does not grow with the blocks' state). */
  block(index: number): BlockFields {
    const r = this.row(index);
    const stream = decodeBlocks(this.capture.image, BigInt(r.address), { abi: this.abi, ndis: this.ndis, maxBlocks: 1, maxDiagnostics: 1, ...(this.operation ? { operation: this.operation } : {}) });
    for (const { block } of stream) return { ...block, layer: r.layer as BlockFields['layer'], role: r.role as BlockFields['role'] };
    throw new DecodeError(r.offset ?? 0, `${r.path} at ${r.address} could not be read again`);
  }

  details(index: number): BlockDetails {
    const block = this.block(index);
    return { row: index, members: memberRows(this.capture.image, this.abi, this.ndis, block), diagnostics: this.diagnostics.filter((d) => d.row === index) };
  }

  /** The rows of blocks with bytes in [from, to) of the file. */
  private rowsOver(from: number, to: number): number[] {
    const o = this.ownership;
    if (!o) return [];
    let lo = 0;
    let hi = o.start.length;
    const first = from - o.longest;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (o.start[mid]! < first) lo = mid + 1;
      else hi = mid;
    }
    const out = new Set<number>();
    for (let i = lo; i < o.start.length && o.start[i]! < to; i++) if (o.end[i]! > from) out.add(o.row[i]!);
    return [...out];
  }

  /** The owned byte runs of one block: each member (and padding) row's file pieces, sorted by offset; kept for the last SPAN_CACHE blocks asked. */
  private spansOf(index: number): ByteSpan[] {
    const cached = this.spanCache.get(index);
    if (cached) {
      this.spanCache.delete(index);
      this.spanCache.set(index, cached);
      return cached;
    }
    const spans: ByteSpan[] = [];
    for (const m of this.details(index).members) {
      if (m.struct) continue;
      for (const p of filePieces(this.capture.image, BigInt(m.address), m.size, this.scratch)) spans.push({ offset: p.fileOffset, size: p.size, row: index, label: m.path, padding: m.padding === true });
    }
    spans.sort((a, b) => a.offset - b.offset);
    this.spanCache.set(index, spans);
    if (this.spanCache.size > SPAN_CACHE) this.spanCache.delete(this.spanCache.keys().next().value!);
    return spans;
  }

  /** A window of the file's bytes and the member runs over it. */
  bytes(offset: number, length: number): BytesResult {
    const size = this.source.size;
    const from = Math.max(0, Math.min(size, Math.floor(offset)));
    const n = Math.max(0, Math.min(size - from, Math.floor(length), 1 << 20));
    const bytes = new Uint8Array(n);
    if (this.regionBytes) bytes.set(this.regionBytes.subarray(from, from + n));
    else if (n) this.source.read(bytes, from);
    const spans: ByteSpan[] = [];
    for (const row of this.rowsOver(from, from + n)) for (const s of this.spansOf(row)) if (s.offset < from + n && s.offset + s.size > from) spans.push(s);
    spans.sort((a, b) => a.offset - b.offset);
    return { offset: from, bytes, spans };
  }

  /** The member that owns the byte at a file offset, or undefined. */
  owner(offset: number): OwnerResult | undefined {
    for (const row of this.rowsOver(offset, offset + 1)) {
      for (const s of this.spansOf(row)) if (offset >= s.offset && offset < s.offset + s.size) return { row, label: s.label, offset: s.offset, size: s.size, padding: s.padding };
    }
    return undefined;
  }

  /**
   * The first occurrence of `pattern` in the file at or after `from` (or the last one before
   * `from`, backwards), looking through at most `limit` bytes of the file: the page asks again
   * from `next` until it finds one or reaches the end, so that the Worker answers other requests
   * between the steps of a search through a large file and the page can stop one.
   */
  find(pattern: readonly number[], from: number, backwards = false, limit = FIND_STEP): FindResult {
    const size = this.source.size;
    const n = pattern.length;
    if (n === 0 || n > MAX_PATTERN || pattern.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) throw new UsageError(`find: give 1 to ${MAX_PATTERN} bytes`);
    const chunk = Math.max(n, Math.min(limit, FIND_CHUNK));
    const buf = new Uint8Array(chunk + n - 1);
    const first = pattern[0]!;
    const matchAt = (b: Uint8Array, i: number): boolean => {
      for (let k = 1; k < n; k++) if (b[i + k] !== pattern[k]) return false;
      return true;
    };
    if (!backwards) {
      const start = Math.max(0, Math.floor(from));
      const stop = Math.min(size, start + Math.max(limit, 1));
      // Windows of `chunk` starting offsets, each read with the n-1 bytes after it.
      for (let at = start; at < stop; at += chunk) {
        const starts = Math.min(chunk, stop - at);
        const got = this.readInto(buf.subarray(0, Math.min(starts + n - 1, size - at)), at);
        for (let i = got.indexOf(first); i >= 0 && i < starts && i + n <= got.length; i = got.indexOf(first, i + 1)) if (matchAt(got, i)) return { offset: at + i, next: at + i + 1, done: false };
      }
      return { offset: null, next: stop, done: stop >= size };
    }
    const end = Math.min(size, Math.floor(from));
    const stop = Math.max(0, end - Math.max(limit, 1));
    // Backwards: windows of starting offsets below `end`, the last first.
    for (let hi = end; hi > stop; hi -= chunk) {
      const lo = Math.max(stop, hi - chunk);
      const got = this.readInto(buf.subarray(0, Math.min(hi - lo + n - 1, size - lo)), lo);
      for (let i = Math.min(hi - lo - 1, got.length - n); i >= 0; i = i > 0 ? got.lastIndexOf(first, i - 1) : -1) {
        if (got[i] === first && matchAt(got, i)) return { offset: lo + i, next: lo + i, done: false };
      }
    }
    return { offset: null, next: stop, done: stop <= 0 };
  }

  /** Reads `into.length` bytes of the file at `at` (a region from its bytes): the bytes read. */
  private readInto(into: Uint8Array, at: number): Uint8Array {
    if (this.regionBytes) {
      into.set(this.regionBytes.subarray(at, at + into.length));
      return into;
    }
    let done = 0;
    while (done < into.length) {
      const got = this.source.read(into.subarray(done), at + done);
      if (got <= 0) break;
      done += got;
    }
    return into.subarray(0, done);
  }

  /** The file offset of a virtual address, or undefined when the capture does not hold it. */
  locate(addressText: string): { offset: number } | undefined {
    const a = parseHex(addressText, 'address');
    return this.capture.image.locate(a, 1, this.scratch) && this.scratch.imageOffset >= 0 ? { offset: this.scratch.imageOffset } : undefined;
  }

  close(): void {
    this.capture.close();
  }
}

