/**
 * The tree as nested loops over its chains, with the walk in the caller's locals: for a hot loop
 * over a tree that lies in one segment (a region captured with .writemem, a fixture).
 *
 *     const c = new BlockChains(image, { abi: X64 });
 *     const STATE = viewsFor(X64).TCP_OFFLOAD_STATE_CONST.size;
 *     for (let n = c.root(rootAddress); n >= 0; n = c.next(n))          // neighbors
 *       for (let p = c.dependents(n); p >= 0; p = c.next(p))            // their paths
 *         for (let t = c.dependents(p); t >= 0; t = c.next(t)) {        // their TCP blocks
 *           const at = c.stateAt(t, STATE);                             // -1: not captured
 *           if (at >= 0) sum += tcp.at(c.view, at).LocalPort;
 *         }
 *
 * A block is its offset in `c.view` (a plain number); -1 is a NULL link. The cursor keeps no
 * position between calls, only the segment and a step count, so each loop's position lives in a
 * register, as in a walk written by hand for one layout. TreeWalker is the general cursor (any
 * image, blocks across segments or pages, the layer of each block); this is its fast path for the
 * common case, with the same answers and the same protections:
 * - a link to anywhere but a whole block inside the root's segment throws AddressError, naming
 *   the member, the block it is in (address and offset) and how many blocks came before;
 * - visiting more blocks than the segment can hold without overlapping (a cycle, a shared block,
 *   overlapping blocks) throws WalkError('revisit'), as TreeWalker's step bound does, after at
 *   most that many steps; `maxBlocks` lowers the bound (WalkError('limit')).
 * The caller chooses the depth: a TCP block's DependentBlockList is not a link to follow.
 */
import { AddressError, UsageError } from '../errors.js';
import { Location, type MemoryImage, type Segment, SegmentImage, hi32, joinHalves, lo32 } from '../codec/image.js';
import { X64, type Abi } from '../layout/abi.js';
import { WalkError, blockOffsets } from './walk.js';

const TWO32 = 4294967296;

export interface BlockChainsOptions {
  abi?: Abi;
  /** Most blocks one walk may visit (root() starts a walk). Default: as many as the segment can hold. */
  maxBlocks?: number;
}

export class BlockChains {
  /** The segment of the tree (the first one until root() finds the root in another): block offsets are offsets in it. */
  view!: DataView;
  /** Address of the first byte of `view`. */
  base = 0n;
  readonly abi: Abi;
  readonly blockSize: number;
  readonly maxBlocks: number | undefined;
  private readonly image: SegmentImage;
  private readonly nextAt: number;
  private readonly dependentAt: number;
  /** 1 for 8-byte pointers, 0 for 4-byte ones: multiplies the high half read after a pointer. */
  private readonly hiScale: number;
  // The segment's fields, set by enter(): once for a region (V8 may then treat them as constants),
  // again only when a root lies in another segment. The numbers start as numbers, so that V8
  // keeps them unboxed.
  private segment!: Segment;
  private baseLo = 0;
  private baseHi = 0;
  /** The last offset where a whole block fits in `view`. */
  private last = 0;
  /** Bytes in `view` (a field: reading DataView.byteLength in the loop costs its checks). */
  private length = 0;
  /** A tree whose blocks do not overlap has at most this many (at least 1: the root then fails to locate). */
  private capacity = 0;
  private count = 0;
  private limit = 0;
  private limitIsCapacity = false;

  constructor(image: MemoryImage, options: BlockChainsOptions = {}) {
    if (!(image instanceof SegmentImage)) {
      throw new UsageError(`BlockChains walks a tree in one segment of a region or segment image, not a ${image.kind} image: use TreeWalker`);
    }
    this.image = image;
    this.abi = options.abi ?? X64;
    this.maxBlocks = options.maxBlocks;
    const o = blockOffsets(this.abi);
    this.blockSize = o.size;
    this.nextAt = o.next;
    this.dependentAt = o.dependent;
    this.hiScale = this.abi.pointerSize === 8 ? 1 : 0;
    this.enter(image.segments[0]!);
  }

  /**
   * Starts a walk at the root block: its offset in `view` (which becomes the root's segment), or
   * -1 for a NULL root. Throws AddressError when the root is not a whole block of the image.
   */
  root(address: bigint): number {
    if (address === 0n) return -1;
    const size = BigInt(this.blockSize);
    for (const s of this.image.segments) {
      const at = address - s.base;
      if (at >= 0n && at + size <= BigInt(s.bytes.length)) {
        if (s !== this.segment) this.enter(s);
        const max = this.maxBlocks;
        this.limitIsCapacity = max === undefined || this.capacity < max;
        this.limit = this.limitIsCapacity ? this.capacity : max!;
        this.count = 1;
        return Number(at);
      }
    }
    const detail = this.image.locate(address, this.blockSize, new Location())
      ? `${this.image.explain(address, this.blockSize)}: BlockChains walks one segment (TreeWalker walks any image)`
      : this.image.explain(address, this.blockSize);
    throw new AddressError(address, this.blockSize, 'root', detail);
  }

  private enter(s: Segment): void {
    this.segment = s;
    this.view = new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength);
    this.base = s.base;
    this.baseLo = lo32(s.base);
    this.baseHi = hi32(s.base);
    this.length = s.bytes.length;
    this.last = s.bytes.length - this.blockSize;
    this.capacity = Math.max(1, Math.floor(s.bytes.length / this.blockSize));
  }

  /** The block NextBlock of the block at `block` points to: its offset, or -1 for NULL. */
  next(block: number): number {
    return this.follow(block, block + this.nextAt);
  }

  /** The first block of the DependentBlockList of the block at `block`: its offset, or -1 for NULL. */
  dependents(block: number): number {
    return this.follow(block, block + this.dependentAt);
  }

  /**
   * Offset in `view` of `size` bytes of state right after the block at `block`, or -1 when they
   * are not all in the segment (a capture that ends inside the state).
   */
  stateAt(block: number, size: number): number {
    const at = block + this.blockSize;
    return at + size <= this.length ? at : -1;
  }

  /** Address of the block at `block` (allocates a BigInt: for messages and slow paths). */
  address(block: number): bigint {
    return this.base + BigInt(block);
  }

  /** Blocks visited since root(), root included. */
  get blocks(): number {
    return this.count;
  }

  // Kept small so that it inlines into the caller's loops: the rare cases are calls.
  private follow(block: number, at: number): number {
    const v = this.view;
    const lo = v.getUint32(at, true);
    const hi = v.getUint32(at + 4, true) * this.hiScale; // x86: the next member's bytes times 0
    if (lo === 0 && hi === 0) return -1;
    const o = (hi - this.baseHi) * TWO32 + (lo - this.baseLo);
    if (!(o >= 0 && o <= this.last)) this.outside(block, at, lo, hi);
    const count = this.count;
    if (count >= this.limit) this.overLimit(lo, hi);
    this.count = count + 1;
    return o;
  }

  private outside(block: number, at: number, lo: number, hi: number): never {
    const address = joinHalves(lo, hi);
    const member = at - block === this.nextAt ? 'NextBlock' : 'DependentBlockList';
    const where = `${member} of the block at 0x${this.address(block).toString(16)} (offset 0x${block.toString(16)}, after ${this.count} blocks)`;
    const detail = this.image.locateHalves(lo, hi, this.blockSize, new Location())
      ? 'is in another segment than the root: BlockChains walks one segment (TreeWalker walks any image)'
      : this.image.explain(address, this.blockSize);
    throw new AddressError(address, this.blockSize, where, detail);
  }

  private overLimit(lo: number, hi: number): never {
    if (this.count === 0) throw new UsageError('BlockChains: root() starts a walk, before next() or dependents()');
    const address = joinHalves(lo, hi);
    if (this.limitIsCapacity) {
      throw new WalkError('revisit', address, this.count, `more blocks than the segment can hold (${this.limit}): a block reached twice (a cycle or a shared block) or blocks that overlap`);
    }
    throw new WalkError('limit', address, this.count, `more than ${this.limit} blocks`);
  }
}
