/**
 * The hot-path status writer: completes an operation in place by writing the Status of every block.
 *
 * Built on the TreeWalker (exact revisit detection: a cycle or a shared block is refused) and on
 * reusable typed arrays, no object per block. Every block is read, and every status decided and
 * checked against the operation, before the first Status word is written: a refused status, a
 * dangling pointer or a cycle leaves the image exactly as it was.
 */
import { AddressError, OffloadError } from '../errors.js';
import { Location, type MemoryImage, SegmentImage, hi32, lo32 } from '../codec/image.js';
import { X64, type Abi } from '../layout/abi.js';
import {
  ALLOWED_STATUS,
  NDIS_STATUS_VALUES,
  type NdisStatusName,
  type Operation,
  describeStatus,
  isStatusAllowed,
} from '../layout/constants.js';
import type { Role } from './document.js';
import { ExactTreeWalker, type TreeWalker, WalkError, blockOffsets } from './walk.js';

const SUCCESS = NDIS_STATUS_VALUES.NDIS_STATUS_SUCCESS;
const PARTIAL = NDIS_STATUS_VALUES.NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS;
const FAILURE = NDIS_STATUS_VALUES.NDIS_STATUS_FAILURE;
const ROLE_PLACEHOLDER = 0;
const ROLE_LINKER = 1;
const ROLE_NEW = 2;
const ROLE_NAMES: readonly Role[] = ['placeholder', 'linker', 'new-offload'];

/** A status the operation does not allow: nothing was written. */
export class StatusNotAllowedError extends OffloadError {
  constructor(
    readonly operation: Operation,
    readonly status: number,
    readonly address: bigint,
    readonly role: Role,
  ) {
    super(
      'STATUS_NOT_ALLOWED',
      `${describeStatus(status)} is not a status ${operation} allows (${ALLOWED_STATUS[operation].join(', ')}); ` +
        `refused for the ${role} block at 0x${address.toString(16)}: nothing was written`,
    );
  }
}

/** A tree the writer cannot complete (a dangling pointer, a cycle, a read-only image). */
export class CompletionError extends OffloadError {
  constructor(
    readonly address: bigint,
    detail: string,
  ) {
    super('COMPLETION', `block at 0x${address.toString(16)}: ${detail}`);
  }
}

/**
 * `statusByAddress` named an address where no block of the tree starts: nothing was written (a
 * decision for no block would otherwise be dropped without a word).
 */
export class NoSuchBlockError extends OffloadError {
  constructor(
    /** The addresses that match no block, in the order given. */
    readonly addresses: readonly bigint[],
  ) {
    super(
      'NO_SUCH_BLOCK',
      `${addresses.map((a) => `0x${a.toString(16)}`).join(', ')}: no block of the tree starts ${addresses.length === 1 ? 'there' : 'at these addresses'}; nothing was written`,
    );
  }
}

export type StatusValue = number | NdisStatusName;

export interface CompleteOptions {
  operation: Operation;
  abi?: Abi;
  /** Status of every new-offload block (and every non-placeholder block outside initiate); default SUCCESS. */
  status?: StatusValue;
  /** Per-block decision; return undefined to use `status`. Called once per deciding block. */
  decide?: (address: bigint, layer: number) => StatusValue | undefined;
  /**
   * Per-block decision by block address; wins over `decide` and `status`. Every address must be
   * where a block of the tree starts: otherwise NoSuchBlockError, and nothing is written.
   */
  statusByAddress?: ReadonlyMap<bigint, StatusValue>;
  /** Most blocks (default 16,777,216). */
  maxBlocks?: number;
}

export interface CompletionSummary {
  blocks: number;
  byRole: Record<Role, number>;
  /** Blocks per status written, by name (or `unknown (0x…)`). */
  byStatus: Record<string, number>;
}

export function toStatus(v: StatusValue): number {
  if (typeof v === 'number') return v | 0;
  const n = NDIS_STATUS_VALUES[v];
  if (n === undefined) throw new OffloadError('USAGE', `unknown NDIS_STATUS name '${String(v)}'`);
  return n;
}

/** NT_SUCCESS: success and informational codes (PARTIAL_SUCCESS included) count as offloaded. */
const succeeded = (status: number): boolean => status >= 0;

/** Layers of a tree: the fast path keeps one open block per layer. */
const LAYER_COUNT = 3;

const viewsOf = new WeakMap<SegmentImage, DataView[]>();

/** Views of every segment of an image, by segment index (the immediate writes go through them). */
function segmentViews(image: SegmentImage, out: DataView[]): void {
  let views = viewsOf.get(image);
  if (!views) {
    views = image.segments.map((s) => new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength));
    viewsOf.set(image, views);
  }
  for (let i = 0; i < views.length; i++) out[i] = views[i]!;
}

/**
 * walkRegion's pointer at `at`: the offset in the region of the block it points to, -1 for NULL,
 * -2 when the block would not lie wholly inside the region (0 .. last).
 */
function linkAt(v: DataView, at: number, baseLo: number, baseHi: number, scale: number, last: number): number {
  const lo = v.getUint32(at, true);
  const hi = v.getUint32(at + 4, true) * scale; // x86: the next member's bytes times 0
  if (lo === 0 && hi === 0) return -1;
  const o = (hi - baseHi) * 4294967296 + (lo - baseLo);
  return o >= 0 && o <= last ? o : -2;
}

/**
 * walkRegion's role of the block at `o` from its MiniportOffloadContext at `at`: -1 when the cell
 * lies before the block (an earlier write might have reached it). A cell outside the region is
 * outside the image: a new offload (the target decides), as cellRole has it.
 */
function roleAt(v: DataView, at: number, o: number, baseLo: number, baseHi: number, scale: number, lastCell: number, ptr: number): number {
  const lo = v.getUint32(at, true);
  const hi = v.getUint32(at + 4, true) * scale;
  if (lo === 0 && hi === 0) return ROLE_PLACEHOLDER;
  const c = (hi - baseHi) * 4294967296 + (lo - baseLo);
  if (!(c >= 0 && c <= lastCell)) return ROLE_NEW;
  if (c < o) return -1;
  return v.getUint32(c, true) !== 0 || (ptr === 8 && v.getUint32(c + 4, true) !== 0) ? ROLE_LINKER : ROLE_NEW;
}

function copyInto<T extends Int32Array | Float64Array | Uint8Array>(to: T, from: T): T {
  to.set(from.subarray(0, Math.min(from.length, to.length)));
  return to;
}

/**
 * Completes trees. Keep one per thread of work and reuse it: its buffers grow to the largest tree
 * seen and are reused, so steady-state completion allocates nothing per block.
 *
 * Two paths, one result. When every status is known up front (no `decide`, no `statusByAddress`,
 * and `status` is one the operation allows, so nothing can be refused), one walk decides each
 * block as it goes: placeholders and new offloads at once, linkers when the walk leaves their
 * subtree (a block at a layer <= theirs comes next, or the walk ends). On a region or segment
 * image whose blocks lie in address order it writes each Status as it is decided, keeping the old
 * words to undo on a late error (on a region, in three nested loops: walkRegion); elsewhere it
 * records every status and a second loop writes them, so that every read of the tree happens
 * before the first write. Either way a completion that fails leaves the image as it was.
 * Otherwise the general path walks
 * (recording role, layer and parent per block), decides bottom-up with the callbacks, checks
 * every status and only then writes.
 */
/**
 * How a completion ran (StatusWriter.lastPass), for tests and for anyone timing the writer:
 * - `immediate`: one walk of a region or segment image whose blocks lie in address order, each
 *   Status written as it is decided, the old words kept to undo on a late error;
 * - `walk-then-write`: one walk, then the writes (a paged image, or blocks out of address order);
 * - `decided`: the blocks recorded, decided bottom-up (decide, statusByAddress, or a status the
 *   operation may refuse) and checked before the first write.
 */
export type CompletionPass = 'immediate' | 'walk-then-write' | 'decided';

export class StatusWriter {
  /** How the last call to complete() ran (undefined before the first, or when it threw before walking). */
  lastPass: CompletionPass | undefined;
  private cap = 0;
  private fullCap = 0;
  private seg = new Int32Array(0);
  private off = new Float64Array(0);
  private parent = new Int32Array(0);
  private role = new Uint8Array(0);
  private layer = new Uint8Array(0);
  private status = new Int32Array(0);
  private okCount = new Int32Array(0);
  private depCount = new Int32Array(0);
  private readonly cell = new Location();
  private views: DataView[] = [];
  /**
   * Blocks of an image without segments (a writable image of the caller's, say of pages): each
   * one's view and address, since its offset alone does not say where it is.
   */
  private blockView: DataView[] = [];
  private blockAddress: bigint[] = [];
  private walker: ExactTreeWalker | undefined;
  // Fast path: the open (not yet decided) block of each layer, and its dependents' outcomes.
  private readonly openIndex = new Int32Array(LAYER_COUNT);
  private readonly pendingAt = new Uint8Array(LAYER_COUNT);
  private immediate = false;
  private statusAt = 0;
  /** Immediate writes: the status words as they were (the undo log). */
  private old = new Int32Array(0);
  private readonly openOk = new Int32Array(LAYER_COUNT);
  private readonly openDeps = new Int32Array(LAYER_COUNT);
  // Fast path summary: blocks per role, and linkers per outcome (SUCCESS, PARTIAL, FAILURE).
  private readonly roleCount = new Float64Array(3);
  private readonly linkerStatus = new Float64Array(3);

  /** Grows the arrays both paths use (where each block is, its status) to hold `n` blocks. */
  private grow(n: number): void {
    if (n <= this.cap) return;
    const cap = Math.max(n, this.cap * 2, 1024);
    this.seg = copyInto(new Int32Array(cap), this.seg);
    this.off = copyInto(new Float64Array(cap), this.off);
    this.status = copyInto(new Int32Array(cap), this.status);
    this.old = copyInto(new Int32Array(cap), this.old);
    this.cap = cap;
  }

  /** Grows the arrays only the general path uses (role, layer, owner, dependents' outcomes). */
  private growFull(n: number): void {
    this.grow(n);
    if (n <= this.fullCap) return;
    const cap = this.cap;
    this.parent = copyInto(new Int32Array(cap), this.parent);
    this.role = copyInto(new Uint8Array(cap), this.role);
    this.layer = copyInto(new Uint8Array(cap), this.layer);
    this.okCount = new Int32Array(cap);
    this.depCount = new Int32Array(cap);
    this.fullCap = cap;
  }

  /**
   * The writer's walker: an ExactTreeWalker, whose next() is its own function, so that a program
   * that also walks with TreeWalker keeps V8's feedback for its loops apart from the writer's (one
   * next() shared by both made the walks measurably slower).
   */
  private walkerFor(abi: Abi, maxBlocks: number): ExactTreeWalker {
    let w = this.walker;
    if (!w || w.abi !== abi) w = this.walker = new ExactTreeWalker({ abi });
    w.maxBlocks = maxBlocks;
    return w;
  }

  /** Completes the tree at `root` in `image` for `options.operation`; returns what was written. */
  complete(image: MemoryImage, root: bigint, options: CompleteOptions): CompletionSummary {
    if (!image.writable) throw new CompletionError(root, `the image is read-only (${image.readOnlyReason ?? 'a crash dump?'}): complete a region instead`);
    const abi = options.abi ?? X64;
    const op = options.operation;
    const maxBlocks = options.maxBlocks ?? 1 << 24;
    const defaultStatus = toStatus(options.status ?? 'NDIS_STATUS_SUCCESS');
    const w = this.walkerFor(abi, maxBlocks);
    this.views.length = 0;
    this.blockView.length = 0;
    this.blockAddress.length = 0;
    this.lastPass = undefined;

    // Decisions by address, resolved once to block keys so the walk compares numbers, not BigInts.
    // (An image without segments is keyed by the address itself.)
    const byKey = new Map<number | bigint, number>();
    /** The key of each address given, undefined where the address is outside the image. */
    const keyOf = new Map<bigint, number | bigint | undefined>();
    if (options.statusByAddress) {
      const size = w.blockSize;
      for (const [address, s] of options.statusByAddress) {
        const status = toStatus(s);
        if (!image.locate(address, size, this.cell)) {
          keyOf.set(address, undefined);
          continue;
        }
        const key = this.cell.segment < 0 ? address : this.cell.segment * 2 ** 40 + this.cell.offset;
        keyOf.set(address, key);
        byKey.set(key, status);
      }
    }

    const initiate = op === 'initiate';
    if (keyOf.size === 0 && !options.decide && isStatusAllowed(op, defaultStatus)) {
      // Nothing can be refused: one walk, writing as it goes where that reads the same bytes.
      let n = -1;
      if (image instanceof SegmentImage) {
        // Anything out of the way (a block out of order, a cell before its block, any error)
        // undoes the writes and returns -1.
        // Blocks in strictly increasing, non-overlapping order cannot repeat: no visited set.
        segmentViews(image, this.views);
        if (image.segments.length === 1) n = this.walkRegion(image, root, initiate, defaultStatus, maxBlocks, abi);
        else {
          w.checkVisits = false;
          w.reset(image, root);
          w.checkVisits = true;
          n = this.walkFast(w, initiate, defaultStatus, true);
        }
        if (n >= 0) this.lastPass = 'immediate';
      }
      if (n < 0) {
        this.views.length = 0;
        w.reset(image, root);
        n = this.run(() => this.walkFast(w, initiate, defaultStatus, false), w);
        this.write(n, w.offsets.status);
        this.lastPass = 'walk-then-write';
      }
      return this.fastSummary(n, initiate, defaultStatus);
    }
    w.reset(image, root);
    const n = this.run(() => this.walkFull(w), w);
    this.lastPass = 'decided';
    if (keyOf.size) this.checkTargets(n, keyOf);

    // ---- decide bottom-up (reverse pre-order visits every dependent before its owner) ----
    this.okCount.fill(0, 0, n);
    this.depCount.fill(0, 0, n);
    for (let i = n - 1; i >= 0; i--) {
      const role = this.role[i]!;
      let s: number;
      if (role === ROLE_PLACEHOLDER) s = SUCCESS;
      else if (role === ROLE_LINKER && op === 'initiate') {
        const deps = this.depCount[i]!;
        const ok = this.okCount[i]!;
        s = ok === deps ? SUCCESS : ok === 0 ? FAILURE : PARTIAL;
      } else s = this.decision(i, image, byKey, options, defaultStatus);
      if (!isStatusAllowed(op, s)) {
        throw new StatusNotAllowedError(op, s, this.addressOf(i, image), ROLE_NAMES[role]!);
      }
      this.status[i] = s;
      const p = this.parent[i]!;
      if (p >= 0) {
        this.depCount[p]!++;
        if (succeeded(s)) this.okCount[p]!++;
      }
    }

    // ---- write, 4 bytes a block ----
    this.write(n, w.offsets.status);

    // Count with numbers; names are made once per distinct status, not once per block.
    const roles = [0, 0, 0];
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      roles[this.role[i]!]!++;
      const s = this.status[i]!;
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    const byStatus: Record<string, number> = {};
    for (const [s, c] of counts) byStatus[describeStatus(s)] = c;
    return { blocks: n, byRole: { placeholder: roles[0]!, linker: roles[1]!, 'new-offload': roles[2]! }, byStatus };
  }

  /** Runs a walk, turning the walker's errors into the writer's (nothing has been written yet). */
  private run(walk: () => number, w: TreeWalker): number {
    try {
      return walk();
    } catch (e) {
      if (e instanceof WalkError) {
        throw new CompletionError(e.address, e.reason === 'revisit' ? 'reached twice (a cycle or a shared block)' : `more than ${w.maxBlocks} blocks`);
      }
      if (e instanceof AddressError) throw new AddressError(e.address, e.size, w.blocks === 0 ? 'root' : `the tree (block ${w.blocks})`, e.detail);
      throw e;
    }
  }

  /** The role of the current block: from MiniportOffloadContext and the PVOID it points to. */
  private roleOf(w: TreeWalker): number {
    const v = w.view;
    const at = w.offset + w.offsets.context;
    const cLo = v.getUint32(at, true);
    const cHi = w.abi.pointerSize === 8 ? v.getUint32(at + 4, true) : 0;
    if (cLo === 0 && cHi === 0) return ROLE_PLACEHOLDER;
    const c = w.inSegment(cLo, cHi, w.abi.pointerSize);
    if (c >= 0) return v.getUint32(c, true) === 0 && (w.abi.pointerSize === 4 || v.getUint32(c + 4, true) === 0) ? ROLE_NEW : ROLE_LINKER;
    return this.cellRole(w, cLo, cHi);
  }

  /**
   * The role from a cell outside the current block's segment (or outside the image). With
   * `after` >= 0 (immediate writes), -1 when the cell lies before that position (segment * 2^33 +
   * offset): an earlier status write might have reached it.
   */
  private cellRole(w: TreeWalker, cLo: number, cHi: number, after = -1): number {
    const cell = this.cell;
    // A cell outside the image: the target's own decision applies.
    if (!w.locate(cLo, cHi, w.abi.pointerSize, cell)) return ROLE_NEW;
    if (after >= 0 && (cell.segment < 0 || cell.segment * 8589934592 + cell.offset < after)) return -1;
    const empty = cell.view.getUint32(cell.offset, true) === 0 && (w.abi.pointerSize === 4 || cell.view.getUint32(cell.offset + 4, true) === 0);
    return empty ? ROLE_NEW : ROLE_LINKER;
  }

  /** Records where block i is (its view, by segment). */
  private place(w: TreeWalker, i: number): void {
    if (w.gathered) throw new CompletionError(w.address(), 'the block straddles two pages or segments: its Status is written in place only in a block that lies whole in one');
    const seg = w.segment;
    this.seg[i] = seg;
    this.off[i] = w.offset;
    if (seg < 0) {
      this.blockView[i] = w.view;
      this.blockAddress[i] = w.address();
    } else if (this.views[seg] !== w.view) this.views[seg] = w.view;
  }

  /**
   * The fast path's walk: records where every block is and its status. Placeholders and new
   * offloads are decided as they are met; a linker (initiate) waits, counting how its dependents
   * fared, until a block at its layer or below comes next or the walk ends. Returns the blocks.
   *
   * `immediate`: also writes each status as soon as it is decided, keeping the old words as an
   * undo log, so that the bytes are touched once while they are in the cache. That is only the
   * same as reading everything first when no read can see an earlier write: it holds while every
   * block lies after the blocks met before it (pre-order is address order, as in the images the
   * encoder lays out) and every context cell after the start of its block. The first block or
   * cell that breaks the order, and any error, undoes the writes and returns -1: the caller walks
   * again without writing, and that walk throws what there is to throw.
   */
  private walkFast(w: TreeWalker, initiate: boolean, defaultStatus: number, immediate: boolean): number {
    const ok = this.openOk;
    const deps = this.openDeps;
    this.linkerStatus.fill(0);
    this.pendingAt.fill(0);
    this.immediate = immediate;
    this.statusAt = w.offsets.status;
    const ctxAt = w.offsets.context;
    const statusAt = w.offsets.status;
    const size = w.blockSize;
    const ptr = w.abi.pointerSize;
    const scale = ptr === 8 ? 1 : 0;
    // One segment (a region): where a block is is its offset alone.
    const oneSegment = immediate && (w.image as SegmentImage).segments.length === 1;
    let placeholders = 0;
    let linkers = 0;
    let pending = -1; // deepest layer with an undecided linker
    let end = 0; // immediate: where the blocks met so far end, as segment * 2^33 + offset
    let n = 0;
    try {
      while (w.next()) {
        const layer = w.layer;
        // Linkers at this layer and deeper are done: all their dependents have been met.
        if (pending >= layer) pending = this.closeLinkers(pending, layer);
        if (n >= this.cap) this.grow(n + 1);
        const v = w.view;
        const o = w.offset;
        this.off[n] = o;
        if (immediate) {
          // Segment views are registered up front; a block must come after every block before it.
          let key = o;
          if (!oneSegment) key += (this.seg[n] = w.segment) * 8589934592;
          if (key < end) return this.undo(n, statusAt);
          end = key + size;
          this.old[n] = v.getInt32(o + statusAt, true);
        } else this.place(w, n);
        // The role (roleOf, written out here to keep the loop within V8's inlining budget).
        let role = ROLE_NEW;
        const cLo = v.getUint32(o + ctxAt, true);
        const cHi = v.getUint32(o + ctxAt + 4, true) * scale;
        if (cLo === 0 && cHi === 0) role = ROLE_PLACEHOLDER;
        else {
          const c = w.inSegment(cLo, cHi, ptr);
          if (c < 0) role = this.cellRole(w, cLo, cHi, immediate ? w.segment * 8589934592 + o : -1);
          else if (immediate && c < o) role = -1;
          else if (v.getUint32(c, true) !== 0 || (ptr === 8 && v.getUint32(c + 4, true) !== 0)) role = ROLE_LINKER;
          if (role < 0) return this.undo(n, statusAt);
        }
        if (role === ROLE_LINKER) {
          linkers++;
          if (initiate) {
            this.openIndex[layer] = n;
            ok[layer] = 0;
            deps[layer] = 0;
            this.pendingAt[layer] = 1;
            pending = layer;
            n++;
            continue;
          }
        }
        let s = defaultStatus;
        if (role === ROLE_PLACEHOLDER) {
          s = SUCCESS;
          placeholders++;
        }
        if (immediate) v.setInt32(o + statusAt, s, true);
        else this.status[n] = s;
        // Only a waiting linker counts its dependents' outcomes.
        if (pending === layer - 1 && layer > 0) {
          deps[layer - 1]!++;
          if (s >= 0) ok[layer - 1]!++;
        }
        n++;
      }
      if (pending >= 0) this.closeLinkers(pending, 0);
    } catch (e) {
      // The general walk (exact, reading before writing) throws the error the caller should see.
      if (immediate) return this.undo(n, statusAt);
      throw e;
    }
    this.roleCount[0] = placeholders;
    this.roleCount[1] = linkers;
    this.roleCount[2] = n - placeholders - linkers;
    return n;
  }

  /**
   * walkFast(immediate) over a region (one segment), written as the hand loop is: the three layers
   * as three nested loops, the walk's state in locals, pointers as u32 halves translated against
   * the one segment. The same blocks in the same order, the same reads before the same writes, the
   * same counts; -1, everything undone, wherever walkFast would give up (a block out of address
   * order or outside the region, a cell before its block, more than maxBlocks blocks), and the
   * caller's slower walk then throws what there is to throw.
   */
  private walkRegion(image: SegmentImage, root: bigint, initiate: boolean, defaultStatus: number, maxBlocks: number, abi: Abi): number {
    const v = this.views[0]!;
    const segment = image.segments[0]!;
    const baseLo = lo32(segment.base);
    const baseHi = hi32(segment.base);
    const length = segment.bytes.length;
    const { next: nextAt, dependent: depAt, context: ctxAt, status: statusAt, size } = blockOffsets(abi);
    const ptr = abi.pointerSize;
    const scale = ptr === 8 ? 1 : 0;
    const last = length - size; // a block fits at 0 .. last
    this.immediate = true;
    this.statusAt = statusAt;
    this.linkerStatus.fill(0);
    const rootAt = (hi32(root) - baseHi) * 4294967296 + (lo32(root) - baseLo);
    this.roleCount.fill(0);
    if (root === 0n) return 0; // an empty tree
    if (!(rootAt >= 0 && rootAt <= last)) return -1; // the walk says what is wrong
    let n = 0;
    let end = 0; // where the blocks met so far end
    let placeholders = 0;
    let linkers = 0;
    let s = 0;
    for (let a = rootAt; a !== -1; a = linkAt(v, a + nextAt, baseLo, baseHi, scale, last)) {
      // Layer 0. (-2, a pointer out of the region, is below any end.)
      if (a < end || n >= maxBlocks) return this.undo(n, statusAt);
      end = a + size;
      this.record(n, a, v, statusAt);
      const r0 = roleAt(v, a + ctxAt, a, baseLo, baseHi, scale, length - ptr, ptr);
      if (r0 < 0) return this.undo(n, statusAt);
      const i0 = n++;
      const wait0 = initiate && r0 === ROLE_LINKER;
      let ok0 = 0;
      let deps0 = 0;
      if (r0 === ROLE_PLACEHOLDER) placeholders++;
      else if (r0 === ROLE_LINKER) linkers++;
      if (!wait0) v.setInt32(a + statusAt, r0 === ROLE_PLACEHOLDER ? SUCCESS : defaultStatus, true);
      for (let b = linkAt(v, a + depAt, baseLo, baseHi, scale, last); b !== -1; b = linkAt(v, b + nextAt, baseLo, baseHi, scale, last)) {
        // Layer 1.
        if (b < end || n >= maxBlocks) return this.undo(n, statusAt);
        end = b + size;
        this.record(n, b, v, statusAt);
        const r1 = roleAt(v, b + ctxAt, b, baseLo, baseHi, scale, length - ptr, ptr);
        if (r1 < 0) return this.undo(n, statusAt);
        n++;
        const wait1 = initiate && r1 === ROLE_LINKER;
        let ok1 = 0;
        let deps1 = 0;
        if (r1 === ROLE_PLACEHOLDER) placeholders++;
        else if (r1 === ROLE_LINKER) linkers++;
        if (!wait1) v.setInt32(b + statusAt, (s = r1 === ROLE_PLACEHOLDER ? SUCCESS : defaultStatus), true);
        for (let c = linkAt(v, b + depAt, baseLo, baseHi, scale, last); c !== -1; c = linkAt(v, c + nextAt, baseLo, baseHi, scale, last)) {
          // Layer 2 (its DependentBlockList is not followed, as by the walker).
          if (c < end || n >= maxBlocks) return this.undo(n, statusAt);
          end = c + size;
          this.record(n, c, v, statusAt);
          const r2 = roleAt(v, c + ctxAt, c, baseLo, baseHi, scale, length - ptr, ptr);
          if (r2 < 0) return this.undo(n, statusAt);
          n++;
          // A linker without dependents completes as SUCCESS.
          let s2 = defaultStatus;
          if (r2 === ROLE_PLACEHOLDER) {
            placeholders++;
            s2 = SUCCESS;
          } else if (r2 === ROLE_LINKER) {
            linkers++;
            if (initiate) {
              s2 = SUCCESS;
              this.linkerStatus[0]!++;
            }
          }
          v.setInt32(c + statusAt, s2, true);
          deps1++;
          if (s2 >= 0) ok1++;
        }
        if (wait1) {
          const kind = ok1 === deps1 ? 0 : ok1 === 0 ? 2 : 1;
          v.setInt32(b + statusAt, (s = kind === 0 ? SUCCESS : kind === 2 ? FAILURE : PARTIAL), true);
          this.linkerStatus[kind]!++;
        }
        deps0++;
        if (s >= 0) ok0++;
      }
      if (wait0) {
        const kind = ok0 === deps0 ? 0 : ok0 === 0 ? 2 : 1;
        v.setInt32(this.off[i0]! + statusAt, kind === 0 ? SUCCESS : kind === 2 ? FAILURE : PARTIAL, true);
        this.linkerStatus[kind]!++;
      }
    }
    this.roleCount[0] = placeholders;
    this.roleCount[1] = linkers;
    this.roleCount[2] = n - placeholders - linkers;
    return n;
  }

  /** walkRegion's undo log: block n is at `o`; keeps its offset and its Status word as it was. */
  private record(n: number, o: number, v: DataView, statusAt: number): void {
    if (n >= this.cap) this.grow(n + 1);
    this.off[n] = o;
    this.old[n] = v.getInt32(o + statusAt, true);
  }

  /** Puts back the status words of the first n blocks met (immediate mode); returns -1. */
  private undo(n: number, statusAt: number): -1 {
    const views = this.views;
    if (views.length === 1) for (let i = n - 1; i >= 0; i--) views[0]!.setInt32(this.off[i]! + statusAt, this.old[i]!, true);
    else for (let i = n - 1; i >= 0; i--) views[this.seg[i]!]!.setInt32(this.off[i]! + statusAt, this.old[i]!, true);
    return -1;
  }

  /** Decides the waiting linkers of layers `from` down to `to`; returns the deepest still waiting. */
  private closeLinkers(from: number, to: number): number {
    for (let layer = from; layer >= to; layer--) {
      if (this.pendingAt[layer] !== 1) continue;
      this.pendingAt[layer] = 0;
      const ok = this.openOk[layer]!;
      const deps = this.openDeps[layer]!;
      const kind = ok === deps ? 0 : ok === 0 ? 2 : 1;
      const s = kind === 0 ? SUCCESS : kind === 2 ? FAILURE : PARTIAL;
      const i = this.openIndex[layer]!;
      if (this.immediate) this.views[this.views.length === 1 ? 0 : this.seg[i]!]!.setInt32(this.off[i]! + this.statusAt, s, true);
      else this.status[i] = s;
      this.linkerStatus[kind]!++;
      if (layer > 0) {
        this.openDeps[layer - 1]!++;
        if (succeeded(s)) this.openOk[layer - 1]!++;
      }
    }
    let deepest = to - 1;
    while (deepest >= 0 && this.pendingAt[deepest] !== 1) deepest--;
    return deepest;
  }

  /** The summary of the fast path, statuses in order of first appearance (as the general path gives them). */
  private fastSummary(n: number, initiate: boolean, defaultStatus: number): CompletionSummary {
    const [placeholders, linkers, news] = this.roleCount as unknown as [number, number, number];
    const counts = new Map<number, number>();
    const add = (s: number, c: number): void => {
      if (c > 0) counts.set(s, (counts.get(s) ?? 0) + c);
    };
    add(SUCCESS, placeholders + this.linkerStatus[0]!);
    add(defaultStatus, news + (initiate ? 0 : linkers));
    add(PARTIAL, this.linkerStatus[1]!);
    add(FAILURE, this.linkerStatus[2]!);
    // Where each status first appears: a scan that stops once every one is found.
    const first = new Map<number, number>();
    const views = this.views;
    for (let i = 0; i < n && first.size < counts.size; i++) {
      const s = this.immediate ? views[views.length === 1 ? 0 : this.seg[i]!]!.getInt32(this.off[i]! + this.statusAt, true) : this.status[i]!;
      if (!first.has(s)) first.set(s, i);
    }
    const byStatus: Record<string, number> = {};
    for (const s of [...counts.keys()].sort((a, b) => first.get(a)! - first.get(b)!)) byStatus[describeStatus(s)] = counts.get(s)!;
    return { blocks: n, byRole: { placeholder: placeholders, linker: linkers, 'new-offload': news }, byStatus };
  }

  /** The general path's walk: where each block is, its role, layer and owner. */
  private walkFull(w: TreeWalker): number {
    const lastAt = this.openIndex.fill(-1); // the owner of a block is the last block met a layer down
    let n = 0;
    while (w.next()) {
      if (n >= this.fullCap) this.growFull(n + 1);
      this.place(w, n);
      this.parent[n] = w.layer > 0 ? lastAt[w.layer - 1]! : -1;
      lastAt[w.layer] = n;
      this.layer[n] = w.layer;
      this.role[n] = this.roleOf(w);
      n++;
    }
    return n;
  }

  /** Writes the recorded statuses: 4 bytes a block. */
  private write(n: number, statusAt: number): void {
    const views = this.views;
    const off = this.off;
    const status = this.status;
    if (views.length === 1) {
      const v = views[0]!;
      for (let i = 0; i < n; i++) v.setInt32(off[i]! + statusAt, status[i]!, true);
      return;
    }
    const seg = this.seg;
    for (let i = 0; i < n; i++) {
      const s = seg[i]!;
      (s < 0 ? this.blockView[i]! : views[s]!).setInt32(off[i]! + statusAt, status[i]!, true);
    }
  }

  private decision(i: number, image: MemoryImage, byKey: Map<number | bigint, number>, options: CompleteOptions, fallback: number): number {
    if (byKey.size) {
      const seg = this.seg[i]!;
      const s = byKey.get(seg < 0 ? this.blockAddress[i]! : seg * 2 ** 40 + this.off[i]!);
      if (s !== undefined) return s;
    }
    if (options.decide) {
      const s = options.decide(this.addressOf(i, image), this.layer[i]!);
      if (s !== undefined) return toStatus(s);
    }
    return fallback;
  }

  /** Every address of statusByAddress must be a block of the tree just walked (n blocks). */
  private checkTargets(n: number, keyOf: ReadonlyMap<bigint, number | bigint | undefined>): void {
    const keys = new Set<number | bigint>();
    for (let i = 0; i < n; i++) {
      const seg = this.seg[i]!;
      keys.add(seg < 0 ? this.blockAddress[i]! : seg * 2 ** 40 + this.off[i]!);
    }
    const missing = [...keyOf].filter(([, key]) => key === undefined || !keys.has(key)).map(([address]) => address);
    if (missing.length) throw new NoSuchBlockError(missing);
  }

  /** The virtual address of block i (only on slow paths: decisions and errors). */
  private addressOf(i: number, image: MemoryImage): bigint {
    const seg = this.seg[i]!;
    if (seg < 0) return this.blockAddress[i]!;
    const segment = image instanceof SegmentImage ? image.segments[seg] : undefined;
    return (segment?.base ?? 0n) + BigInt(this.off[i]!);
  }
}

/** Completes a tree with a fresh writer (for one-off use; reuse a StatusWriter in loops). */
export function completeTree(image: MemoryImage, root: bigint, options: CompleteOptions): CompletionSummary {
  return new StatusWriter().complete(image, root, options);
}
