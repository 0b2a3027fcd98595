/**
 * Memory images: memory as a capture saw it, addressed by 64-bit virtual addresses.
 *
 * Every kind of image answers one question, "where are these `size` bytes at this address?",
 * with a DataView and an offset into it. Regions and segments answer it in place (zero-copy);
 * paged address spaces (crash dumps, physical images) answer in place when the range lies in one
 * page and gather into a scratch buffer when it straddles frames that are far apart. Callers
 * pass a reused `Location` so that the hot path allocates nothing.
 */
import { SegmentOverlapError, UsageError } from '../errors.js';

/** Where a located range is. Reused by callers: `locate` fills it in. */
export class Location {
  /** The bytes; valid for reading at [offset, offset + size). */
  view: DataView = EMPTY;
  offset = 0;
  /** Index of the segment holding the range, or -1 when that means nothing (gathered, paged). */
  segment = -1;
  /**
   * Offset of the range in its segment's bytes as given (regions: its file) or in the file (dumps);
   * -1 when that means nothing. (`offset` is in `view`; the two differ where overlapping segments
   * were cut to hold each address once.)
   */
  imageOffset = -1;
  /**
   * True when the bytes were copied from several places (pages of a paged image, segments that
   * touch): writes to `view` do not reach the image.
   */
  gathered = false;
}

const EMPTY = new DataView(new ArrayBuffer(0));

/** A contiguous run of captured memory. */
export interface Segment {
  /** Virtual address of the first byte. */
  readonly base: bigint;
  readonly bytes: Uint8Array;
  /** Optional name for messages (a file name). */
  readonly name?: string;
}

/** A mapped virtual range, for scanning. */
export interface MappedRange {
  readonly address: bigint;
  readonly length: number;
}

export interface MemoryImage {
  readonly kind: 'region' | 'segments' | 'paged';
  /** Whether writes through located views reach the image (false for dumps). */
  readonly writable: boolean;
  /** Why the image is read-only, when it is and the image can say. */
  readonly readOnlyReason?: string;
  /** Pointer size of the captured machine, when the image knows it (dumps do: 8). */
  readonly pointerSize?: 4 | 8;
  /** Fills `out` for [address, address + size); false when any byte is not in the image. */
  locate(address: bigint, size: number, out: Location): boolean;
  /** The same with the address as two unsigned 32-bit halves: the hot path, no BigInt. */
  locateHalves(lo: number, hi: number, size: number, out: Location): boolean;
  /**
   * Why [address, address + size) is not readable, for diagnostics: a predicate that follows the
   * range's name ("is outside the captured memory", "runs past the end of ...", "reaches 0x... (byte
   * 80 of 152), which is not readable: ...").
   */
  explain(address: bigint, size: number): string;
  /** The mapped virtual ranges, lowest first (for scan and hexdump). */
  ranges(): Iterable<MappedRange>;
  /**
   * Where a virtual address is in physical memory, for images that map (paged ones): lets a scan
   * tell one block seen at several virtual addresses (aliases) from several blocks.
   */
  physicalAddress?(address: bigint): bigint | undefined;
}

const TWO32 = 4294967296;
const MASK32 = 0xffffffffn;

/** Splits a 64-bit address into unsigned 32-bit halves. */
export const lo32 = (a: bigint): number => Number(a & MASK32);
export const hi32 = (a: bigint): number => Number((a >> 32n) & MASK32);
export const joinHalves = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/** A segment's name for messages: its file name, or where it starts. */
const nameOf = (s: Segment): string => s.name ?? `the segment at 0x${s.base.toString(16)}`;

/** Scratch buffers for ranges gathered across segments: 16, rotating (as PagedImage's). */
const POOL = 16;
const SCRATCH = 4096;

/**
 * One or more segments of virtual memory, each a byte buffer with the address of its first byte.
 * Zero-copy: located views are views of the caller's buffers, and writes go through.
 *
 * Segments that touch or overlap are one address range: a range that runs from one into the next
 * is located by gathering its bytes into a scratch buffer (`Location.gathered`, as a paged image
 * does across pages; valid until 16 more gathers), so that a structure given in pieces reads
 * whole. Overlapping segments must agree byte for byte where they overlap (else a
 * SegmentOverlapError names both and the first address where they differ); `segments` then holds
 * each address once (the lower segment's bytes, the rest of the higher one), and the image is
 * read-only, since a write there would reach one of the copies only.
 */
export class SegmentImage implements MemoryImage {
  readonly kind: 'region' | 'segments';
  readonly writable: boolean;
  /** Why the image is read-only, when it is (overlapping segments). */
  readonly readOnlyReason?: string;
  /**
   * The address space, lowest first, each address in one segment: the segments given, except
   * that where they overlap only the lower one's bytes are kept (a later one starts where the
   * earlier ones end, and one they cover whole is left out). `Location.segment` indexes these.
   */
  readonly segments: readonly Segment[];
  /** The segments as given, lowest first. */
  readonly given: readonly Segment[];
  private readonly views: DataView[];
  private readonly baseLo: Float64Array;
  private readonly baseHi: Float64Array;
  private readonly lengths: Float64Array;
  /** Where each of `segments` starts in the bytes of the segment given (0 unless an overlap cut it). */
  private readonly skips: Float64Array;
  /** 1 where segment i ends exactly where segment i + 1 starts. */
  private readonly touchesNext: Uint8Array;
  /** Whether any segment touches the next one: only then can a range span segments. */
  private readonly joined: boolean;
  private readonly pool: DataView[] = [];
  private poolNext = 0;

  constructor(segments: readonly Segment[]) {
    if (segments.length === 0) throw new UsageError('an image needs at least one segment');
    const sorted = [...segments].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
    for (const s of sorted) {
      if (s.base < 0n || s.base + BigInt(s.bytes.length) > 1n << 64n) {
        throw new UsageError(`segment at 0x${s.base.toString(16)} does not fit a 64-bit address space`);
      }
    }
    const pieces: Segment[] = [];
    let covered = -1n; // end of the memory the pieces so far cover
    let overlap: string | undefined;
    const skipOf = new Map<Segment, number>();
    for (const s of sorted) {
      const end = s.base + BigInt(s.bytes.length);
      if (s.base >= covered || pieces.length === 0) {
        pieces.push(s);
      } else {
        const to = end < covered ? end : covered;
        if (to > s.base) {
          const first = compareOverlap(pieces, s, to);
          overlap ??= `${nameOf(first)} and ${nameOf(s)} overlap at 0x${s.base.toString(16)}..0x${to.toString(16)}`;
        }
        if (end > covered) {
          const piece = { ...s, base: covered, bytes: s.bytes.subarray(Number(covered - s.base)) };
          skipOf.set(piece, Number(covered - s.base));
          pieces.push(piece);
        }
      }
      if (end > covered) covered = end;
    }
    this.given = sorted;
    this.segments = pieces;
    this.kind = sorted.length === 1 ? 'region' : 'segments';
    this.writable = overlap === undefined;
    if (overlap !== undefined) this.readOnlyReason = `segments ${overlap}: a write there would reach one of them only`;
    this.views = pieces.map((s) => new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength));
    this.baseLo = Float64Array.from(pieces, (s) => lo32(s.base));
    this.baseHi = Float64Array.from(pieces, (s) => hi32(s.base));
    this.lengths = Float64Array.from(pieces, (s) => s.bytes.length);
    this.skips = Float64Array.from(pieces, (s) => skipOf.get(s) ?? 0);
    this.touchesNext = Uint8Array.from(pieces, (s, i) => (i + 1 < pieces.length && s.base + BigInt(s.bytes.length) === pieces[i + 1]!.base ? 1 : 0));
    this.joined = this.touchesNext.includes(1);
  }

  /** A single region: `bytes` captured at virtual address `base`. */
  static region(bytes: Uint8Array | ArrayBuffer, base: bigint): SegmentImage {
    return new SegmentImage([{ base, bytes: bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes) }]);
  }

  locate(address: bigint, size: number, out: Location): boolean {
    if (address < 0n || address > 0xffffffffffffffffn) return false;
    return this.locateHalves(lo32(address), hi32(address), size, out);
  }

  locateHalves(lo: number, hi: number, size: number, out: Location): boolean {
    const n = this.lengths.length;
    for (let i = 0; i < n; i++) {
      // Exact while the high halves differ by less than 2^21; beyond that the distance is far
      // larger than any buffer, so the range test below still fails as it should.
      const delta = (hi - this.baseHi[i]!) * TWO32 + (lo - this.baseLo[i]!);
      if (delta >= 0 && delta + size <= this.lengths[i]!) {
        out.view = this.views[i]!;
        out.offset = delta;
        out.segment = i;
        out.imageOffset = delta + this.skips[i]!;
        out.gathered = false;
        return true;
      }
    }
    return this.joined && this.gather(lo, hi, size, out);
  }

  /** A range that starts in one segment and runs on into the ones that follow it without a gap. */
  private gather(lo: number, hi: number, size: number, out: Location): boolean {
    if (!(size > 0 && size <= 0x7fffffff)) return false;
    const n = this.lengths.length;
    let i = 0;
    let delta = -1;
    for (; i < n; i++) {
      delta = (hi - this.baseHi[i]!) * TWO32 + (lo - this.baseLo[i]!);
      if (delta >= 0 && delta < this.lengths[i]!) break;
    }
    if (i === n) return false;
    // Whether the run of touching segments from i holds the whole range, before copying anything.
    let have = this.lengths[i]! - delta;
    for (let k = i; have < size; k++) {
      if (this.touchesNext[k] !== 1) return false;
      have += this.lengths[k + 1]!;
    }
    let view: DataView;
    if (size <= SCRATCH) {
      if (this.pool.length < POOL) this.pool.push(new DataView(new ArrayBuffer(SCRATCH)));
      view = this.pool[this.poolNext]!;
      this.poolNext = (this.poolNext + 1) % POOL;
    } else view = new DataView(new ArrayBuffer(size));
    const dst = new Uint8Array(view.buffer, view.byteOffset, size);
    let copied = 0;
    for (let k = i, from = delta; copied < size; k++, from = 0) {
      const src = this.segments[k]!.bytes;
      const m = Math.min(src.length - from, size - copied);
      dst.set(src.subarray(from, from + m), copied);
      copied += m;
    }
    out.view = view;
    out.offset = 0;
    out.segment = -1;
    out.imageOffset = -1;
    out.gathered = true;
    return true;
  }

  /** The segment index and offset of an address, or undefined. */
  offsetOf(address: bigint): { segment: number; offset: number } | undefined {
    const loc = new Location();
    return this.locate(address, 0, loc) ? { segment: loc.segment, offset: loc.offset } : undefined;
  }

  explain(address: bigint, size: number): string {
    const all = this.segments;
    for (let i = 0; i < all.length; i++) {
      const s = all[i]!;
      if (address >= s.base && address < s.base + BigInt(s.bytes.length)) {
        // The end of the memory that runs on from here without a gap.
        let k = i;
        while (this.touchesNext[k] === 1) k++;
        const end = all[k]!.base + BigInt(all[k]!.bytes.length);
        if (end >= address + BigInt(size)) {
          const last = address + BigInt(size);
          const names = all.slice(i, k + 1).filter((p) => p.base < last && p.bytes.length > 0).map(nameOf);
          return names.length > 1 ? `spans ${names.length} segments (${[...new Set(names)].join(', ')})` : 'is readable';
        }
        return `runs past the end of the captured memory at 0x${end.toString(16)} (${Number(end - address)} of ${size} bytes captured)`;
      }
    }
    return 'is outside the captured memory';
  }

  /** The mapped ranges, lowest first: segments that touch are one range. */
  *ranges(): Iterable<MappedRange> {
    const all = this.segments;
    for (let i = 0; i < all.length; i++) {
      const address = all[i]!.base;
      let length = all[i]!.bytes.length;
      while (this.touchesNext[i] === 1) length += all[++i]!.bytes.length;
      yield { address, length };
    }
  }
}

/**
 * Checks that `s` agrees with the pieces laid down so far over [s.base, to); returns the (first)
 * piece it overlaps. Throws SegmentOverlapError at the first byte where they differ.
 */
function compareOverlap(pieces: readonly Segment[], s: Segment, to: bigint): Segment {
  let first: Segment | undefined;
  for (const p of pieces) {
    const pEnd = p.base + BigInt(p.bytes.length);
    if (pEnd <= s.base || p.base >= to) continue;
    first ??= p;
    const from = p.base > s.base ? p.base : s.base;
    const until = pEnd < to ? pEnd : to;
    const a = p.bytes.subarray(Number(from - p.base), Number(until - p.base));
    const b = s.bytes.subarray(Number(from - s.base), Number(until - s.base));
    for (let k = 0; k < a.length; k++) {
      if (a[k] !== b[k]) throw new SegmentOverlapError(nameOf(p), nameOf(s), from + BigInt(k), a[k]!, b[k]!);
    }
  }
  return first!;
}
