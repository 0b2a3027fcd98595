/**
 * Physical memory sources: 4 KiB frames addressed by page frame number (PFN = physical >> 12),
 * read lazily from a file (or a buffer) through a small LRU cache, so that a 64 GiB dump costs a
 * few hundred KiB of memory however it is read. Raw physical images live here; crash dumps
 * (dump.ts) are the same thing with a different PFN -> file offset map.
 */
import { nodeFs } from './node-fs.js';
import { UsageError } from '../errors.js';

export const PAGE_SIZE = 4096;
/** x64 physical addresses have at most 52 bits: PFNs stay below 2^40, numbers are exact. */
export const MAX_PFN = 2 ** 40;

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

/** Where the bytes come from: positional reads, counted so tests can prove laziness. */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  /** Reads up to `into.length` bytes at `position`; returns how many were read (short at EOF). */
  read(into: Uint8Array, position: number): number;
  /** Number of read calls and bytes read so far. */
  readonly reads: number;
  readonly bytesRead: number;
  close(): void;
}

/** A file opened read-only; nothing is read until asked. */
export class FileSource implements ByteSource {
  readonly size: number;
  reads = 0;
  bytesRead = 0;
  private fd: number | undefined;
  private readonly fs = nodeFs();

  constructor(readonly name: string) {
    this.fd = this.fs.openSync(name, 'r');
    this.size = this.fs.fstatSync(this.fd).size;
  }

  read(into: Uint8Array, position: number): number {
    if (this.fd === undefined) throw new UsageError(`${this.name} is closed`);
    let done = 0;
    // readSync may return short counts for large requests; loop until full or EOF.
    while (done < into.length && position + done < this.size) {
      const n = this.fs.readSync(this.fd, into, done, into.length - done, position + done);
      this.reads++;
      if (n <= 0) break;
      done += n;
    }
    this.bytesRead += done;
    return done;
  }

  close(): void {
    if (this.fd !== undefined) this.fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Bytes already in memory (tests, files the caller has read). */
export class BufferSource implements ByteSource {
  reads = 0;
  bytesRead = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly name = 'buffer',
  ) {}
  get size(): number {
    return this.bytes.length;
  }
  read(into: Uint8Array, position: number): number {
    this.reads++;
    if (!(position >= 0) || position >= this.bytes.length) return 0;
    const part = this.bytes.subarray(position, Math.min(this.bytes.length, position + into.length));
    into.set(part);
    this.bytesRead += part.length;
    return part.length;
  }
  close(): void {}
}

/**
 * One cached 4 KiB frame. The cache recycles its slots (allocating 4 KiB buffers per miss costs
 * microseconds of GC): a frame's bytes stay valid until at least `cacheFrames - 1` other frames
 * have been used since it was last used; check `pfn` before trusting a frame kept longer.
 */
export interface Frame {
  /** The frame number the bytes belong to; -1 once the slot has been emptied. */
  readonly pfn: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** File offset of the frame's first byte, or -1 when the source has none. */
  readonly fileOffset: number;
  /** The cache slot (for touch()). */
  readonly slot: number;
}

interface Slot {
  pfn: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  fileOffset: number;
  readonly slot: number;
}

export interface PhysicalStats {
  /** Frames read from the source (cache misses). */
  frameReads: number;
  cacheHits: number;
}

export interface PhysicalMemory {
  /** Exclusive upper bound of the PFNs that can be stored. */
  readonly frameLimit: number;
  readonly stats: PhysicalStats;
  readonly source: ByteSource;
  /** The frame, read through the cache; undefined when not stored or cut off by the end of the file. */
  frame(pfn: number): Frame | undefined;
  /** Marks a frame kept elsewhere (a TLB) as just used, so the cache keeps it. */
  touch(frame: Frame): void;
  readFrame(pfn: number): Uint8Array | undefined;
  /** Whether the frame is stored and complete in the file (no read). */
  hasFrame(pfn: number): boolean;
  /** File offset of a stored frame (possibly past a truncated end), or undefined when not stored. */
  fileOffsetOf(pfn: number): number | undefined;
  /** How many frames from `pfn` on (at most `count`) have `hasFrame() === stored`: for range walks. */
  extent(pfn: number, count: number, stored: boolean): number;
  /** Why a frame is absent, for diagnostics: "PFN 0x.. not stored (...)". */
  missingReason(pfn: number): string;
  describe(): string;
  close(): void;
}

/**
 * The cache and the reads; subclasses only map PFNs to file offsets. Exact LRU over a fixed arena
 * of slots, kept as a doubly linked list in typed arrays: a hit is a Map lookup and a move to the
 * front, a miss reads into the slot at the back. Nothing is allocated after construction.
 */
export abstract class FramedMemory implements PhysicalMemory {
  readonly stats: PhysicalStats = { frameReads: 0, cacheHits: 0 };
  private readonly byPfn = new Map<number, Slot>();
  private readonly slots: Slot[] = [];
  // LRU order: head = most recently used, tail = next victim.
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private head = 0;
  private tail: number;

  constructor(
    readonly source: ByteSource,
    readonly frameLimit: number,
    cacheFrames = 256,
  ) {
    if (!(cacheFrames >= 1 && cacheFrames <= 1 << 20)) throw new UsageError(`the frame cache needs 1 to 2^20 frames, not ${cacheFrames}`);
    const arena = new ArrayBuffer(cacheFrames * PAGE_SIZE);
    for (let i = 0; i < cacheFrames; i++) {
      const at = i * PAGE_SIZE;
      this.slots.push({ pfn: -1, bytes: new Uint8Array(arena, at, PAGE_SIZE), view: new DataView(arena, at, PAGE_SIZE), fileOffset: -1, slot: i });
    }
    this.prev = Int32Array.from({ length: cacheFrames }, (_, i) => i - 1);
    this.next = Int32Array.from({ length: cacheFrames }, (_, i) => (i + 1 < cacheFrames ? i + 1 : -1));
    this.tail = cacheFrames - 1;
  }

  /** File offset of `pfn` or -1 when the map does not store it (ignoring the file's size). */
  protected abstract offsetOf(pfn: number): number;
  /** Why the map does not store `pfn`. */
  protected abstract notStoredReason(pfn: number): string;
  abstract describe(): string;

  fileOffsetOf(pfn: number): number | undefined {
    if (!(pfn >= 0 && pfn < this.frameLimit)) return undefined;
    const o = this.offsetOf(pfn);
    return o < 0 ? undefined : o;
  }

  hasFrame(pfn: number): boolean {
    if (!(pfn >= 0 && pfn < this.frameLimit)) return false;
    const o = this.offsetOf(pfn);
    return o >= 0 && o + PAGE_SIZE <= this.source.size;
  }

  /** Moves a slot to the front of the LRU list. */
  touch(frame: Frame): void {
    const i = frame.slot;
    if (i === this.head) return;
    const p = this.prev[i]!;
    const n = this.next[i]!;
    this.next[p] = n; // p >= 0: i is not the head
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
    this.prev[i] = -1;
    this.next[i] = this.head;
    this.prev[this.head] = i;
    this.head = i;
  }

  frame(pfn: number): Frame | undefined {
    const hit = this.byPfn.get(pfn);
    if (hit !== undefined) {
      this.stats.cacheHits++;
      this.touch(hit);
      return hit;
    }
    if (!this.hasFrame(pfn)) return undefined;
    const s = this.slots[this.tail]!;
    if (s.pfn >= 0) this.byPfn.delete(s.pfn);
    s.pfn = -1; // stays at the back (reused first) if the read fails
    const fileOffset = this.offsetOf(pfn);
    this.stats.frameReads++;
    if (this.source.read(s.bytes, fileOffset) !== PAGE_SIZE) return undefined;
    s.pfn = pfn;
    s.fileOffset = fileOffset;
    this.touch(s);
    this.byPfn.set(pfn, s);
    return s;
  }

  readFrame(pfn: number): Uint8Array | undefined {
    return this.frame(pfn)?.bytes;
  }

  extent(pfn: number, count: number, stored: boolean): number {
    let n = 0;
    while (n < count && this.hasFrame(pfn + n) === stored) n++;
    return n;
  }

  /**
   * extent() for memories whose frames lie in runs: `stretch` says how far the run or gap holding
   * a frame goes (0: it is not of the kind asked), and runs side by side are walked on alike.
   */
  protected extentByRuns(pfn: number, count: number, stored: boolean, stretch: (pfn: number, count: number, stored: boolean) => number): number {
    let n = 0;
    while (n < count) {
      const step = stretch(pfn + n, count - n, stored);
      if (step === 0) break;
      n += step;
    }
    return n;
  }

  missingReason(pfn: number): string {
    if (!(pfn >= 0 && pfn < MAX_PFN)) return `PFN ${hex(pfn)} is not a physical page`;
    if (pfn >= this.frameLimit) return `PFN ${hex(pfn)} not stored (beyond the last stored frame ${hex(this.frameLimit - 1)})`;
    const o = this.offsetOf(pfn);
    if (o < 0) return `PFN ${hex(pfn)} not stored (${this.notStoredReason(pfn)})`;
    if (o + PAGE_SIZE > this.source.size) {
      return `PFN ${hex(pfn)} not stored: it belongs at file offset ${hex(o)}, past the end of the truncated file (${hex(this.source.size)} bytes)`;
    }
    return `PFN ${hex(pfn)} could not be read from file offset ${hex(o)}`;
  }

  close(): void {
    this.byPfn.clear();
    for (const s of this.slots) s.pfn = -1;
    this.source.close();
  }
}

/** A raw physical memory image: file offset = physical address. */
export class RawPhysicalMemory extends FramedMemory {
  constructor(source: ByteSource, cacheFrames?: number) {
    super(source, Math.min(MAX_PFN, Math.floor(source.size / PAGE_SIZE)), cacheFrames);
  }
  /** Physical memory already in a buffer (physical address 0 at index 0). */
  static fromBytes(bytes: Uint8Array, cacheFrames?: number): RawPhysicalMemory {
    return new RawPhysicalMemory(new BufferSource(bytes), cacheFrames);
  }
  protected offsetOf(pfn: number): number {
    return pfn * PAGE_SIZE;
  }
  protected notStoredReason(): string {
    return 'past the end of the image';
  }
  override extent(pfn: number, count: number, stored: boolean): number {
    const inRange = pfn >= 0 && pfn < this.frameLimit;
    if (stored) return inRange ? Math.min(count, this.frameLimit - pfn) : 0;
    return inRange ? 0 : count;
  }
  describe(): string {
    return `raw physical memory image ${this.source.name} (${hex(this.source.size)} bytes, ${this.frameLimit} frames)`;
  }
}

/** Opens a raw physical memory image read-only. */
export function openPhysicalImage(path: string, cacheFrames?: number): RawPhysicalMemory {
  return new RawPhysicalMemory(new FileSource(path), cacheFrames);
}
