/**
 * Memory images: memory as a capture saw it, addressed by 64-bit virtual addresses.
 *
 * Every kind of image answers one question, "where are these `size` bytes at this address?",
 * with a DataView and an offset into it. Regions and segments answer it in place (zero-copy);
 * paged address spaces (crash dumps, physical images) answer in place when the range lies in one
 * page and gather into a scratch buffer when it straddles frames that are far apart. Callers
 * pass a reused `Location` so that the hot path allocates nothing.
 */
import { UsageError } from '../errors.js';

/** Where a located range is. Reused by callers: `locate` fills it in. */
export class Location {
  /** The bytes; valid for reading at [offset, offset + size). */
  view: DataView = EMPTY;
  offset = 0;
  /** Index of the segment holding the range, or -1 when that means nothing (gathered, paged). */
  segment = -1;
  /** Offset of the range inside its segment (regions) or file (dumps); -1 when that means nothing. */
  imageOffset = -1;
  /** True when the bytes were copied from several places: writes to `view` do not reach the image. */
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
}

const TWO32 = 4294967296;
const MASK32 = 0xffffffffn;

/** Splits a 64-bit address into unsigned 32-bit halves. */
export const lo32 = (a: bigint): number => Number(a & MASK32);
export const hi32 = (a: bigint): number => Number((a >> 32n) & MASK32);
export const joinHalves = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/**
 * One or more segments of virtual memory, each a byte buffer with the address of its first byte.
 * Zero-copy: located views are views of the caller's buffers, and writes go through.
 */
export class SegmentImage implements MemoryImage {
  readonly kind: 'region' | 'segments';
  readonly writable = true;
  readonly segments: readonly Segment[];
  private readonly views: DataView[];
  private readonly baseLo: Float64Array;
  private readonly baseHi: Float64Array;
  private readonly lengths: Float64Array;

  constructor(segments: readonly Segment[]) {
    if (segments.length === 0) throw new UsageError('an image needs at least one segment');
    const sorted = [...segments].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
    for (let i = 0; i < sorted.length; i++) {
      const s = sorted[i]!;
      if (s.base < 0n || s.base + BigInt(s.bytes.length) > 1n << 64n) {
        throw new UsageError(`segment at 0x${s.base.toString(16)} does not fit a 64-bit address space`);
      }
      const next = sorted[i + 1];
      if (next && s.base + BigInt(s.bytes.length) > next.base) {
        throw new UsageError(
          `segments overlap: 0x${s.base.toString(16)} (+0x${s.bytes.length.toString(16)}) and 0x${next.base.toString(16)}`,
        );
      }
    }
    this.segments = sorted;
    this.kind = sorted.length === 1 ? 'region' : 'segments';
    this.views = sorted.map((s) => new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength));
    this.baseLo = Float64Array.from(sorted, (s) => lo32(s.base));
    this.baseHi = Float64Array.from(sorted, (s) => hi32(s.base));
    this.lengths = Float64Array.from(sorted, (s) => s.bytes.length);
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
        out.imageOffset = delta;
        out.gathered = false;
        return true;
      }
    }
    return false;
  }

  /** The segment index and offset of an address, or undefined. */
  offsetOf(address: bigint): { segment: number; offset: number } | undefined {
    const loc = new Location();
    return this.locate(address, 0, loc) ? { segment: loc.segment, offset: loc.offset } : undefined;
  }

  explain(address: bigint, size: number): string {
    for (const s of this.segments) {
      const end = s.base + BigInt(s.bytes.length);
      if (address >= s.base && address < end) {
        return `runs past the end of the captured memory at 0x${end.toString(16)} (${Number(end - address)} of ${size} bytes captured)`;
      }
    }
    return 'is outside the captured memory';
  }

  *ranges(): Iterable<MappedRange> {
    for (const s of this.segments) yield { address: s.base, length: s.bytes.length };
  }
}
