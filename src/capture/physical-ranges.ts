/**
 * One shape for every container: a sorted, non-overlapping list of physical ranges, each stored
 * at a file offset, checked against the file before use, behind the frame interface
 * (`PhysicalMemory`) that `PagedImage` reads through. A frame is stored when the whole 4 KiB of it
 * lies inside one range; a range's unaligned edges leave partial frames that read as absent.
 */
import { type ByteSource, FramedMemory, MAX_PFN, PAGE_SIZE } from '../codec/physical.js';
import { CaptureError } from '../errors.js';

/** `length` bytes of physical memory from `physical`, stored from `fileOffset` on. */
export interface PhysicalRange {
  readonly physical: number;
  readonly fileOffset: number;
  readonly length: number;
}

/** Physical memory the capture declares but holds no bytes for (an ELF p_memsz past p_filesz). */
export interface AbsentRange {
  readonly physical: number;
  readonly length: number;
  readonly why: string;
}

/** A range as read, with the file offsets of the fields it came from (for errors). */
export interface RangeCandidate extends PhysicalRange {
  /** Where the start address field is. */
  readonly physicalField: number;
  /** Where the field that gives the length (or end) is. */
  readonly lengthField: number;
  /** What the range is called in messages: "PT_LOAD 3", "range 2". */
  readonly label: string;
}

/** Physical addresses are below 2^52 (MAX_PFN frames): exact in a double. */
export const PHYSICAL_LIMIT = MAX_PFN * PAGE_SIZE;

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;
export const span = (physical: number, length: number): string => `${hex(physical)}..${hex(physical + length - 1)}`;

/**
 * Checks ranges against the file and each other: inside the physical address limit, bytes inside
 * the file, no overlap. `sort`: sort by physical address first (otherwise ranges that go backwards
 * are an error). Throws CaptureError naming the field at fault.
 */
export function checkRanges(format: string, ranges: readonly RangeCandidate[], fileSize: number, sort: boolean): PhysicalRange[] {
  for (const r of ranges) {
    if (!(r.physical >= 0 && r.physical < PHYSICAL_LIMIT)) {
      throw new CaptureError(format, r.physicalField, `${r.label} starts at ${hex(r.physical)}, past the 52-bit physical address limit`);
    }
    if (!(r.length > 0 && r.physical + r.length <= PHYSICAL_LIMIT)) {
      throw new CaptureError(format, r.lengthField, `${r.label} of ${hex(r.length)} bytes from ${hex(r.physical)} ends past the 52-bit physical address limit`);
    }
    if (r.fileOffset > fileSize || r.length > fileSize - r.fileOffset) {
      throw new CaptureError(
        format,
        r.lengthField,
        `${r.label} (physical ${span(r.physical, r.length)}) needs file bytes ${span(r.fileOffset, r.length)}, past the end of the file (${hex(fileSize)} bytes): truncated or lying`,
      );
    }
  }
  const order = sort ? [...ranges].sort((a, b) => a.physical - b.physical) : ranges;
  for (let i = 1; i < order.length; i++) {
    const a = order[i - 1]!;
    const b = order[i]!;
    if (b.physical < a.physical + a.length) {
      const what = b.physical >= a.physical ? `overlaps ${a.label} (${span(a.physical, a.length)})` : `goes below ${a.label} (${span(a.physical, a.length)}): ranges must ascend`;
      throw new CaptureError(format, b.physicalField, `${b.label} (${span(b.physical, b.length)}) ${what}`);
    }
  }
  return order.map((r) => ({ physical: r.physical, fileOffset: r.fileOffset, length: r.length }));
}

/** Physical memory read through a checked range list. */
export class RangeMemory extends FramedMemory {
  private readonly start: Float64Array;
  private readonly end: Float64Array;
  private readonly file: Float64Array;

  constructor(
    source: ByteSource,
    readonly ranges: readonly PhysicalRange[],
    readonly absent: readonly AbsentRange[],
    private readonly what: string,
    cacheFrames?: number,
  ) {
    // Declared holes count too, so that a frame in one is explained by it.
    const top = [...ranges, ...absent].reduce((m, r) => Math.max(m, r.physical + r.length), 0);
    super(source, Math.min(MAX_PFN, Math.ceil(top / PAGE_SIZE)), cacheFrames);
    this.start = Float64Array.from(ranges, (r) => r.physical);
    this.end = Float64Array.from(ranges, (r) => r.physical + r.length);
    this.file = Float64Array.from(ranges, (r) => r.fileOffset);
  }

  /** Index of the last range starting at or below `address`, -1 when none. */
  private rangeOf(address: number): number {
    let lo = 0;
    let hi = this.start.length - 1;
    if (hi < 0 || this.start[0]! > address) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.start[mid]! <= address) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  protected offsetOf(pfn: number): number {
    const p = pfn * PAGE_SIZE;
    const k = this.rangeOf(p);
    return k >= 0 && p + PAGE_SIZE <= this.end[k]! ? this.file[k]! + (p - this.start[k]!) : -1;
  }

  protected notStoredReason(pfn: number): string {
    const p = pfn * PAGE_SIZE;
    const hole = this.absent.find((a) => p + PAGE_SIZE > a.physical && p < a.physical + a.length);
    if (hole) return `in ${span(hole.physical, hole.length)}, which ${hole.why}`;
    const k = this.rangeOf(p + PAGE_SIZE - 1);
    if (k >= 0 && p < this.end[k]!) return `only part of the frame is in the range ${span(this.start[k]!, this.end[k]! - this.start[k]!)}`;
    return `outside every physical range of the ${this.what}`;
  }

  override extent(pfn: number, count: number, stored: boolean): number {
    // Run by run (or gap by gap): adjacent runs, and a truncated run next to a gap, go on alike.
    return this.extentByRuns(pfn, count, stored, (p, c, s) => this.stretch(p, c, s));
  }

  /** extent() within the range or the gap holding `pfn`. */
  private stretch(pfn: number, count: number, stored: boolean): number {
    if (pfn < 0) return stored ? 0 : Math.min(count, -pfn);
    if (this.hasFrame(pfn) !== stored) return 0;
    const p = pfn * PAGE_SIZE;
    const k = this.rangeOf(p);
    if (stored) {
      // Stored frames: to the range's last whole frame (and the file's end: FramedMemory checks it).
      return Math.max(1, Math.min(count, Math.floor(this.end[k]! / PAGE_SIZE) - pfn));
    }
    // Not stored: up to the first frame of the next range that could hold one.
    const next = this.start[k + 1] ?? Infinity;
    return Math.max(1, Math.min(count, Math.floor(next / PAGE_SIZE) - pfn));
  }

  describe(): string {
    const bytes = this.ranges.reduce((n, r) => n + r.length, 0);
    return `${this.what} ${this.source.name} (${this.ranges.length} physical ranges, ${hex(bytes)} bytes)`;
  }
}
