/**
 * The zero-allocation tree walker: a cursor over the blocks of an offload state tree in the order
 * decodeTree gives them (a block, its dependents, then its next sibling).
 *
 *     const w = new TreeWalker({ abi: X64 });
 *     const tcp = new (viewsFor(X64).TCP_OFFLOAD_STATE_CONST)();
 *     w.reset(image, root);
 *     while (w.next()) {
 *       if (w.layer !== 2) continue;
 *       const at = w.stateAt(TCP_OFFLOAD_STATE_CONST.size);   // -1 when the state is not captured
 *       if (at >= 0) sum += tcp.at(w.stateView, at).LocalPort;
 *     }
 *
 * The hot path allocates nothing and touches no BigInt: pointers are read as two unsigned 32-bit
 * halves and translated with `locateHalves` into a reused Location, behind a one-entry cache of the
 * last segment (a region image answers almost every block from the cache with the same arithmetic
 * a hand-written walk would do). The pending links live in a typed-array stack whose depth is
 * bounded by the number of layers: popping a block at layer L leaves only entries of lower layers
 * below, and the block pushes at most its next sibling (layer L) and its first dependent (L + 1),
 * so layers on the stack strictly increase and it never holds more than three entries, whatever
 * the bytes say.
 *
 * The block whose dependent list holds a block at layer L is the last block met at layer L - 1
 * (pre-order): a caller that needs owners keeps one index per layer.
 *
 * Cycles: by default a step bound. A tree whose blocks do not overlap cannot have more blocks
 * than the captured bytes can hold, so visiting more than that many means a block was reached
 * twice (a cycle or a shared block) or blocks overlap: the walk stops with a WalkError costing one
 * comparison per block. With `revisits: 'exact'` a visited set (a bitmap of block slots per
 * segment, a small hash for the rest) refuses the first block reached twice, at a few more
 * nanoseconds per block.
 */
import { AddressError, OffloadError } from '../errors.js';
import { Location, type MemoryImage, SegmentImage, hi32, joinHalves, lo32 } from '../codec/image.js';
import { X64, type Abi } from '../layout/abi.js';
import { LAYERS } from '../layout/constants.js';
import type { StructLayout } from '../layout/msvc.js';
import { layoutOf } from '../layout/registry.js';

const TWO32 = 4294967296;
/** Layers of a tree: neighbor, path, TCP. A TCP block's DependentBlockList is never followed. */
const LAYER_COUNT = LAYERS.length;
const DEFAULT_MAX_BLOCKS = 1 << 24;

/** A walk that cannot go on: a block reached twice, or more blocks than allowed. */
export class WalkError extends OffloadError {
  constructor(
    /** `revisit`: a block reached twice (a cycle or a shared block); `limit`: more than `maxBlocks`. */
    readonly reason: 'revisit' | 'limit',
    /** Address of the block the walk refused. */
    readonly address: bigint,
    /** Blocks visited before it. */
    readonly blocks: number,
    detail: string,
  ) {
    super(reason === 'revisit' ? 'CYCLE' : 'LIMIT_BLOCKS', `block at 0x${address.toString(16)} (after ${blocks} blocks): ${detail}`);
  }
}

export interface TreeWalkerOptions {
  abi?: Abi;
  /**
   * Most blocks to visit; past it next() throws WalkError('limit'). Default: as many as the
   * image's bytes can hold without overlapping (segment images, bound mode) or 2^24.
   */
  maxBlocks?: number;
  /**
   * `bound` (default): cycles end at the step bound (a WalkError('revisit') when the bound is the
   * image's capacity). `exact`: a visited set refuses the first block reached twice.
   */
  revisits?: 'bound' | 'exact';
}

/** Byte offsets of the block-list members the walker and its users read, for an ABI. */
export interface BlockOffsets {
  readonly size: number;
  readonly align: number;
  readonly header: number;
  readonly next: number;
  readonly dependent: number;
  readonly status: number;
  readonly context: number;
}

const offsetCache = new Map<string, BlockOffsets>();

/** The offsets of NDIS_MINIPORT_OFFLOAD_BLOCK_LIST members for an ABI (from the layout engine). */
export function blockOffsets(abi: Abi): BlockOffsets {
  let o = offsetCache.get(abi.name);
  if (!o) {
    const layout: StructLayout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi);
    const at = (name: string): number => layout.fields.find((f) => f.name === name)!.offset;
    o = Object.freeze({
      size: layout.size,
      align: layout.align,
      header: at('Header'),
      next: at('NextBlock'),
      dependent: at('DependentBlockList'),
      status: at('Status'),
      context: at('MiniportOffloadContext'),
    });
    offsetCache.set(abi.name, o);
  }
  return o;
}

/**
 * A set of block positions without an object per block: one bit per `slot`-byte position of each
 * segment (allocated on first use, zeroed and reused by clear()), and an open-addressing hash of
 * address halves for positions that are not slot-aligned or not in a segment.
 */
export class VisitedBlocks {
  private bitmaps: (Int32Array | undefined)[] = [];
  private hashLo = new Int32Array(0);
  private hashHi = new Int32Array(0);
  private hashUsed = new Uint8Array(0);
  private hashCount = 0;

  /** `slot`: the block alignment, a power of two. */
  constructor(private readonly slot: number) {}

  /** Forgets every position (keeps the memory). */
  clear(): void {
    for (const bits of this.bitmaps) bits?.fill(0);
    if (this.hashCount) {
      this.hashUsed.fill(0);
      this.hashCount = 0;
    }
  }

  /** Drops the memory too (another image: its segments are other sizes). */
  forget(): void {
    this.bitmaps = [];
    this.hashLo = new Int32Array(0);
    this.hashHi = new Int32Array(0);
    this.hashUsed = new Uint8Array(0);
    this.hashCount = 0;
  }

  /**
   * The bitmap of a segment of `length` bytes: bit k of word w is the position (32 w + k) * slot.
   * Callers may test and set bits themselves (the walker's hot path does).
   */
  bitmapOf(segment: number, length: number): Int32Array {
    let bits = this.bitmaps[segment];
    const words = Math.ceil(Math.ceil(length / this.slot) / 32);
    if (bits === undefined || bits.length < words) {
      const grown = new Int32Array(words);
      if (bits) grown.set(bits);
      this.bitmaps[segment] = bits = grown;
    }
    return bits;
  }

  /**
   * Adds the block at `offset` of segment `segment` (whose view is `length` bytes), or at address
   * (lo, hi) when it is not in a segment; false when it was already there.
   */
  add(segment: number, offset: number, length: number, lo: number, hi: number): boolean {
    if (segment >= 0 && offset % this.slot === 0) {
      const bits = this.bitmapOf(segment, length);
      const index = offset / this.slot;
      if (index < bits.length * 32) {
        const word = Math.floor(index / 32);
        const mask = 1 << (index % 32);
        const w = bits[word]!;
        if ((w & mask) !== 0) return false;
        bits[word] = w | mask;
        return true;
      }
    }
    return this.addHash(lo | 0, hi | 0);
  }

  /** Whether the block at `offset` of segment `segment` is in the set (slot-aligned positions only). */
  hasAligned(segment: number, offset: number): boolean {
    const bits = this.bitmaps[segment];
    if (bits === undefined || offset < 0 || offset % this.slot !== 0) return false;
    const index = offset / this.slot;
    return index < bits.length * 32 && (bits[Math.floor(index / 32)]! & (1 << (index % 32))) !== 0;
  }

  private addHash(lo: number, hi: number): boolean {
    if ((this.hashCount + 1) * 2 > this.hashUsed.length) this.rehash(Math.max(1024, this.hashUsed.length * 2));
    const mask = this.hashUsed.length - 1;
    let h = (Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi, 0x85ebca6b)) & mask;
    for (;;) {
      if (this.hashUsed[h] === 0) {
        this.hashUsed[h] = 1;
        this.hashLo[h] = lo;
        this.hashHi[h] = hi;
        this.hashCount++;
        return true;
      }
      if (this.hashLo[h] === lo && this.hashHi[h] === hi) return false;
      h = (h + 1) & mask;
    }
  }

  private rehash(size: number): void {
    const { hashLo, hashHi, hashUsed } = this;
    this.hashLo = new Int32Array(size);
    this.hashHi = new Int32Array(size);
    this.hashUsed = new Uint8Array(size);
    this.hashCount = 0;
    for (let i = 0; i < hashUsed.length; i++) if (hashUsed[i]) this.addHash(hashLo[i]!, hashHi[i]!);
  }
}

/**
 * A cursor over the blocks of a tree. Keep one and reuse it: reset() makes it walk another tree
 * without allocating. Fields describe the current block after next() returned true.
 */
export class TreeWalker {
  /** Layer of the current block: 0 neighbor, 1 path, 2 TCP. */
  layer = -1;
  /** The bytes of the current block: valid at [offset, offset + blockSize). */
  view: DataView = EMPTY;
  offset = 0;
  /** Segment of the current block (-1 when the image has none: paged images). */
  segment = -1;
  /** Set by stateAt(): where the state found there is. */
  stateView: DataView = EMPTY;

  readonly abi: Abi;
  readonly blockSize: number;
  readonly offsets: BlockOffsets;
  private readonly ptr8: boolean;
  /** 1 for 8-byte pointers, 0 for 4-byte ones: multiplies the high half of a pointer. */
  protected readonly hiScale: number;
  protected readonly nextAt: number;
  protected readonly dependentAt: number;
  private readonly exact: boolean;
  /** Most blocks to visit (see TreeWalkerOptions.maxBlocks); read by reset(). */
  maxBlocks: number | undefined;
  /** True when the current block's bytes were gathered from several pages (writes to `view` do not reach the image). */
  gathered = false;
  private capacity = -1;
  private readonly visited: VisitedBlocks;
  /** Exact mode: the visited bitmap of the cached segment. */
  visitBits: Int32Array | undefined;
  /** Slot of the visited bitmaps: log2 and mask of the block alignment. */
  readonly slotShift: number;
  private readonly slotMask: number;

  /** The image being walked. */
  image: MemoryImage | undefined;
  protected limit = 0;
  private limitIsCapacity = false;
  protected count = 0;
  // Pending links as (lo, hi, layer) triples: at most LAYER_COUNT of them (see the file comment).
  protected readonly stack: Float64Array = new Float64Array(3 * LAYER_COUNT);
  protected sp = 0;
  protected readonly loc = new Location();
  private readonly stateLoc = new Location();
  // One-entry segment cache: base halves, length and view of the segment of the last block.
  protected cacheLo = 0;
  protected cacheHi = 0;
  protected cacheLength = -1;
  private cacheSegment = -1;
  /** Where the cached segment starts in the bytes given for it (imageOffset - offset). */
  private cacheSkip = 0;
  protected cacheView: DataView = EMPTY;
  private segments: SegmentImage | undefined;
  // The address of the last block located without the cache (images without segments).
  private missLo = 0;
  private missHi = 0;
  /** Layer of the last block located without the cache: of the pointer that failed, after an AddressError. */
  missLayer = -1;

  constructor(options: TreeWalkerOptions = {}) {
    this.abi = options.abi ?? X64;
    this.offsets = blockOffsets(this.abi);
    this.blockSize = this.offsets.size;
    this.ptr8 = this.abi.pointerSize === 8;
    this.hiScale = this.ptr8 ? 1 : 0;
    this.nextAt = this.offsets.next;
    this.dependentAt = this.offsets.dependent;
    this.exact = options.revisits === 'exact';
    this.maxBlocks = options.maxBlocks;
    this.visited = new VisitedBlocks(this.offsets.align);
    this.slotShift = Math.log2(this.offsets.align);
    this.slotMask = this.offsets.align - 1;
    // Exact mode is its own class (see next()): `new TreeWalker({ revisits: 'exact' })` gives one.
    // eslint-disable-next-line no-constructor-return
    if (this.exact && new.target === TreeWalker) return new ExactTreeWalker(options);
  }

  /** Starts a walk of the tree whose root block is at `root`; a NULL root walks nothing. */
  reset(image: MemoryImage, root: bigint, layer = 0): this {
    return this.resetHalves(image, lo32(root), hi32(root), layer);
  }

  /** reset() with the root's address as unsigned 32-bit halves. */
  resetHalves(image: MemoryImage, lo: number, hi: number, layer = 0): this {
    if (image !== this.image) {
      this.image = image;
      this.visited.forget();
      this.visitBits = undefined;
      this.segments = image instanceof SegmentImage ? image : undefined;
      this.cacheLength = -1;
      this.cacheSegment = -1;
      this.cacheView = EMPTY;
      this.capacity = -1;
      if (this.segments) {
        let capacity = 0;
        // Per run of touching segments: a block may span two of them.
        for (const r of this.segments.ranges()) capacity += Math.floor(r.length / this.blockSize);
        this.capacity = Math.max(1, capacity); // a smaller image: the root itself fails to locate
      }
    }
    // The capacity bound only where it is the cycle protection (not in exact mode).
    const max = this.maxBlocks;
    this.limitIsCapacity = !this.exact && this.capacity >= 0 && (max === undefined || this.capacity < max);
    this.limit = this.limitIsCapacity ? this.capacity : (max ?? DEFAULT_MAX_BLOCKS);
    if (this.exact && this.clearsVisits()) this.visited.clear();
    this.count = 0;
    this.sp = 0;
    this.layer = -1;
    if ((lo | hi) !== 0 && layer >= 0 && layer < LAYER_COUNT) {
      this.stack[0] = lo >>> 0;
      this.stack[1] = hi >>> 0;
      this.stack[2] = layer;
      this.sp = 3;
    }
    return this;
  }

  /** Blocks visited so far. */
  get blocks(): number {
    return this.count;
  }

  /** Pre-order index of the current block (0 for the root). */
  get index(): number {
    return this.count - 1;
  }


  /** Address of the current block (allocates a BigInt: for messages and slow paths). */
  address(): bigint {
    return joinHalves(this.lo, this.hi);
  }

  /** Low unsigned 32-bit half of the current block's address. */
  get lo(): number {
    if (this.cacheLength < 0) return this.missLo;
    const lo = this.cacheLo + this.offset;
    return lo >= TWO32 ? lo % TWO32 : lo;
  }

  /** High unsigned 32-bit half of the current block's address. */
  get hi(): number {
    if (this.cacheLength < 0) return this.missHi;
    return (this.cacheHi + Math.floor((this.cacheLo + this.offset) / TWO32)) >>> 0;
  }

  /** Offset in `view` of the first byte after the current block, where its state starts. */
  get stateOffset(): number {
    return this.offset + this.blockSize;
  }

  /**
   * Where `size` bytes of state after the current block are: an offset into `stateView`, or -1
   * when they are not all in the image. In a segment that holds them this is `stateOffset` in the
   * block's own view, with no call into the image.
   */
  stateAt(size: number): number {
    const at = this.offset + this.blockSize;
    // The cache always holds the current block's segment, when the image has segments.
    if (at + size <= this.cacheLength) {
      this.stateView = this.view;
      return at;
    }
    return this.stateSlow(this.blockSize, size);
  }

  /** Where `size` bytes at `delta` bytes after the start of the current block are (see stateAt). */
  locateAfter(delta: number, size: number): number {
    const at = this.offset + delta;
    if (at + size <= this.cacheLength) {
      this.stateView = this.view;
      return at;
    }
    return this.stateSlow(delta, size);
  }

  private stateSlow(delta: number, size: number): number {
    let lo = this.lo + delta;
    let hi = this.hi;
    if (lo >= TWO32) {
      lo -= TWO32;
      hi = (hi + 1) >>> 0;
    }
    if (!this.image!.locateHalves(lo, hi, size, this.stateLoc)) return -1;
    this.stateView = this.stateLoc.view;
    return this.stateLoc.offset;
  }

  /**
   * Offset in `view` of `size` bytes at address (lo, hi) when they lie in the current block's
   * segment; -1 otherwise (then locate() says where they are, if anywhere). No call, no write.
   */
  inSegment(lo: number, hi: number, size: number): number {
    const d = (hi - this.cacheHi) * 4294967296 + (lo - this.cacheLo);
    return d >= 0 && d + size <= this.cacheLength ? d : -1;
  }

  /**
   * Locates `size` bytes at address (lo, hi) into `out`, through the walker's segment cache:
   * the same answer as image.locateHalves.
   */
  locate(lo: number, hi: number, size: number, out: Location): boolean {
    const delta = (hi - this.cacheHi) * TWO32 + (lo - this.cacheLo);
    if (delta >= 0 && delta + size <= this.cacheLength) {
      out.view = this.cacheView;
      out.offset = delta;
      out.segment = this.cacheSegment;
      out.imageOffset = delta + this.cacheSkip;
      out.gathered = false;
      return true;
    }
    return this.image!.locateHalves(lo, hi, size, out);
  }

  /**
   * Moves to the next block; false when the walk is over. Throws AddressError or WalkError.
   * Kept under V8's inlining size so that it compiles into the caller's loop: rare paths are
   * calls, constants are literals, the stack is one array of (lo, hi, layer) triples. Exact mode
   * is a subclass with its own copy of this method (ExactTreeWalker), so that a program using both
   * modes does not mix their feedback in one function: keep the two in step.
   */
  next(): boolean {
    const st = this.stack;
    let sp = this.sp;
    if (sp === 0) {
      this.layer = -1;
      return false;
    }
    sp -= 3;
    const lo = st[sp]!;
    const hi = st[sp + 1]!;
    const layer = st[sp + 2]!;
    let view = this.cacheView;
    let o = (hi - this.cacheHi) * 4294967296 + (lo - this.cacheLo);
    if (!(o >= 0 && o + this.blockSize <= this.cacheLength)) {
      o = this.miss(lo, hi, layer);
      view = this.loc.view;
    }
    const count = this.count;
    if (count >= this.limit) this.overLimit(lo, hi);
    this.count = count + 1;
    this.view = view;
    this.offset = o;
    this.layer = layer;
    // Push NextBlock first, so that the dependents (pushed last) are walked first. The high half
    // of a 4-byte pointer is the next member's bytes times 0 (hiScale), read without a branch.
    const scale = this.hiScale;
    let at = o + this.nextAt;
    let pLo = view.getUint32(at, true);
    let pHi = view.getUint32(at + 4, true) * scale;
    if (pLo !== 0 || pHi !== 0) {
      st[sp] = pLo;
      st[sp + 1] = pHi;
      st[sp + 2] = layer;
      sp += 3;
    }
    if (layer < 2) {
      at = o + this.dependentAt;
      pLo = view.getUint32(at, true);
      pHi = view.getUint32(at + 4, true) * scale;
      if (pLo !== 0 || pHi !== 0) {
        st[sp] = pLo;
        st[sp + 1] = pHi;
        st[sp + 2] = layer + 1;
        sp += 3;
      }
    }
    this.sp = sp;
    return true;
  }

  /**
   * Exact mode: marks the block visited, or throws when it was. A bit test in the bitmap of the
   * segment (offsets are below 2^32: `>>>` is exact).
   */
  protected visit(view: DataView, o: number, lo: number, hi: number): void {
    const bits = this.visitBits;
    if (bits !== undefined && (o & this.slotMask) === 0) {
      const i = o >>> this.slotShift;
      const v = bits[i >>> 5]!;
      const m = 1 << (i & 31);
      if ((v & m) !== 0) this.revisit(lo, hi);
      bits[i >>> 5] = v | m;
    } else this.visitSlow(view, o, lo, hi);
  }

  private visitSlow(view: DataView, o: number, lo: number, hi: number): void {
    if (!this.visited.add(this.segment, o, view.byteLength, lo, hi)) this.revisit(lo, hi);
  }

  private revisit(lo: number, hi: number): never {
    throw new WalkError('revisit', joinHalves(lo, hi), this.count, 'reached twice (a cycle or a shared block)');
  }

  /** Whether reset() must forget the visited blocks (exact mode, unless the walk will not check them). */
  protected clearsVisits(): boolean {
    return true;
  }

  /** Exact mode: whether a slot-aligned position of the current block's segment was visited. */
  visitedAt(offset: number): boolean {
    return this.visited.hasAligned(this.segment, offset);
  }

  /** Cache miss: locate through the image (into `loc`), refresh the cache, or throw for a pointer outside it. */
  protected miss(lo: number, hi: number, layer: number): number {
    const loc = this.loc;
    this.missLayer = layer;
    this.missLo = lo;
    this.missHi = hi;
    if (!this.image!.locateHalves(lo, hi, this.blockSize, loc)) {
      throw new AddressError(joinHalves(lo, hi), this.blockSize, this.count === 0 ? 'root' : `the tree (block ${this.count})`, this.image!.explain(joinHalves(lo, hi), this.blockSize));
    }
    this.segment = loc.gathered ? -1 : loc.segment;
    this.gathered = loc.gathered;
    const segs = this.segments;
    if (segs && !loc.gathered && loc.segment >= 0) {
      const s = segs.segments[loc.segment]!;
      this.cacheLo = lo32(s.base);
      this.cacheHi = hi32(s.base);
      this.cacheLength = s.bytes.length;
      this.cacheSegment = loc.segment;
      this.cacheSkip = loc.imageOffset - loc.offset;
      this.cacheView = loc.view;
      this.visitBits = this.exact ? this.visited.bitmapOf(loc.segment, s.bytes.length) : undefined;
    } else {
      this.cacheLength = -1;
      this.cacheSegment = -1;
      this.visitBits = undefined;
    }
    return loc.offset;
  }

  protected overLimit(lo: number, hi: number): never {
    const address = joinHalves(lo, hi);
    if (this.limitIsCapacity) {
      throw new WalkError('revisit', address, this.count, `more blocks than the image can hold (${this.limit}): a block reached twice (a cycle or a shared block) or blocks that overlap`);
    }
    throw new WalkError('limit', address, this.count, `more than ${this.limit} blocks`);
  }
}

/**
 * The exact-mode walker (`new TreeWalker({ revisits: 'exact' })` makes one): next() is the same as
 * TreeWalker's, plus the visited-bitmap test.
 */
export class ExactTreeWalker extends TreeWalker {
  /**
   * False: skip the visited set (for a caller that proves by other means that no block repeats,
   * as the StatusWriter does by checking that blocks come in address order). Read by reset().
   */
  checkVisits = true;
  private checking = true;

  constructor(options: TreeWalkerOptions = {}) {
    super({ ...options, revisits: 'exact' });
  }

  override resetHalves(image: MemoryImage, lo: number, hi: number, layer = 0): this {
    this.checking = this.checkVisits;
    return super.resetHalves(image, lo, hi, layer);
  }

  protected override clearsVisits(): boolean {
    return this.checking;
  }

  override next(): boolean {
    const st = this.stack;
    let sp = this.sp;
    if (sp === 0) {
      this.layer = -1;
      return false;
    }
    sp -= 3;
    const lo = st[sp]!;
    const hi = st[sp + 1]!;
    const layer = st[sp + 2]!;
    let view = this.cacheView;
    let o = (hi - this.cacheHi) * 4294967296 + (lo - this.cacheLo);
    if (!(o >= 0 && o + this.blockSize <= this.cacheLength)) {
      o = this.miss(lo, hi, layer);
      view = this.loc.view;
    }
    if (this.checking) this.visit(view, o, lo, hi);
    const count = this.count;
    if (count >= this.limit) this.overLimit(lo, hi);
    this.count = count + 1;
    this.view = view;
    this.offset = o;
    this.layer = layer;
    const scale = this.hiScale;
    let at = o + this.nextAt;
    let pLo = view.getUint32(at, true);
    let pHi = view.getUint32(at + 4, true) * scale;
    if (pLo !== 0 || pHi !== 0) {
      st[sp] = pLo;
      st[sp + 1] = pHi;
      st[sp + 2] = layer;
      sp += 3;
    }
    if (layer < 2) {
      at = o + this.dependentAt;
      pLo = view.getUint32(at, true);
      pHi = view.getUint32(at + 4, true) * scale;
      if (pLo !== 0 || pHi !== 0) {
        st[sp] = pLo;
        st[sp + 1] = pHi;
        st[sp + 2] = layer + 1;
        sp += 3;
      }
    }
    this.sp = sp;
    return true;
  }
}

const EMPTY = new DataView(new ArrayBuffer(0));
