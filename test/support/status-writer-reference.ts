/**
 * The status writer as it was before it was rebuilt on the TreeWalker (three passes, a hash set
 * of visited blocks): kept as the oracle the rebuilt one must agree with, byte for byte.
 */
import { AddressError } from '../../src/errors.js';
import { Location, type MemoryImage, SegmentImage, joinHalves } from '../../src/codec/image.js';
import { X64 } from '../../src/layout/abi.js';
import { NDIS_STATUS_VALUES, describeStatus, isStatusAllowed } from '../../src/layout/constants.js';
import { layoutOf } from '../../src/layout/registry.js';
import type { Role } from '../../src/tree/document.js';
import {
  CompletionError,
  StatusNotAllowedError,
  toStatus,
  type CompleteOptions,
  type CompletionSummary,
} from '../../src/tree/status-writer.js';

const SUCCESS = NDIS_STATUS_VALUES.NDIS_STATUS_SUCCESS;
const PARTIAL = NDIS_STATUS_VALUES.NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS;
const FAILURE = NDIS_STATUS_VALUES.NDIS_STATUS_FAILURE;
const ROLE_PLACEHOLDER = 0;
const ROLE_LINKER = 1;
const ROLE_NEW = 2;
const ROLE_NAMES: readonly Role[] = ['placeholder', 'linker', 'new-offload'];
const succeeded = (status: number): boolean => status >= 0;

/**
 * Completes trees. Keep one per thread of work and reuse it: its buffers grow to the largest tree
 * seen and are reused, so steady-state completion allocates nothing per block.
 */
export class ReferenceStatusWriter {
  private cap = 0;
  private seg = new Int32Array(0);
  private off = new Float64Array(0);
  private parent = new Int32Array(0);
  private role = new Uint8Array(0);
  private layer = new Uint8Array(0);
  private status = new Int32Array(0);
  private okCount = new Int32Array(0);
  private depCount = new Int32Array(0);
  private stack = new Float64Array(0);
  private seen = new Float64Array(0);
  private readonly loc = new Location();
  private readonly cell = new Location();
  private views: DataView[] = [];

  private grow(n: number): void {
    if (n <= this.cap) return;
    const cap = Math.max(n, this.cap * 2, 1024);
    const copy = <T extends Int32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.seg = copy(this.seg, (k) => new Int32Array(k));
    this.off = copy(this.off, (k) => new Float64Array(k));
    this.parent = copy(this.parent, (k) => new Int32Array(k));
    this.role = copy(this.role, (k) => new Uint8Array(k));
    this.layer = copy(this.layer, (k) => new Uint8Array(k));
    this.status = new Int32Array(cap);
    this.okCount = new Int32Array(cap);
    this.depCount = new Int32Array(cap);
    this.cap = cap;
  }

  /** Open-addressing set of block keys (segment * 2^40 + offset); false when already present. */
  private addSeen(key: number, mask: number): boolean {
    let h = (Math.imul(key | 0, 0x9e3779b1) ^ Math.imul((key / 4294967296) | 0, 0x85ebca6b)) & mask;
    for (;;) {
      const v = this.seen[h]!;
      if (v === 0) {
        this.seen[h] = key + 1; // 0 marks an empty slot
        return true;
      }
      if (v === key + 1) return false;
      h = (h + 1) & mask;
    }
  }

  /** Completes the tree at `root` in `image` for `options.operation`; returns what was written. */
  complete(image: MemoryImage, root: bigint, options: CompleteOptions): CompletionSummary {
    if (!image.writable) throw new CompletionError(root, 'the image is read-only (a crash dump?): complete a region instead');
    const abi = options.abi ?? X64;
    const op = options.operation;
    const ptr = abi.pointerSize;
    const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi);
    const size = block.size;
    const at = (name: string): number => block.fields.find((f) => f.name === name)!.offset;
    const NEXT = at('NextBlock');
    const DEP = at('DependentBlockList');
    const CTX = at('MiniportOffloadContext');
    const STATUS = at('Status');
    const maxBlocks = options.maxBlocks ?? 1 << 24;
    const defaultStatus = toStatus(options.status ?? 'NDIS_STATUS_SUCCESS');
    const loc = this.loc;
    const cell = this.cell;
    const views = this.views;
    views.length = 0;

    // Decisions by address, resolved once to block keys so the walk compares numbers, not BigInts.
    const byKey = new Map<number, number>();
    if (options.statusByAddress) {
      for (const [address, s] of options.statusByAddress) {
        if (image.locate(address, size, cell)) byKey.set(cell.segment * 2 ** 40 + cell.offset, toStatus(s));
      }
    }

    // ---- pass 1: walk (pre-order: a block, its dependents, then its next sibling) ----
    let n = 0;
    let sp = 0;
    const push = (lo: number, hi: number, layer: number, parent: number): void => {
      if (sp + 4 > this.stack.length) {
        const s = new Float64Array(Math.max(64, this.stack.length * 2));
        s.set(this.stack);
        this.stack = s;
      }
      this.stack[sp++] = lo;
      this.stack[sp++] = hi;
      this.stack[sp++] = layer;
      this.stack[sp++] = parent;
    };
    this.seen = this.seen.length >= 2048 ? this.seen.fill(0) : new Float64Array(2048);
    let seenMask = this.seen.length - 1;
    let seenCount = 0;
    const read32 = (v: DataView, o: number): number => v.getUint32(o, true);

    push(Number(root & 0xffffffffn), Number(root >> 32n), 0, -1);
    while (sp > 0) {
      const parent = this.stack[--sp]!;
      const layer = this.stack[--sp]!;
      const hi = this.stack[--sp]!;
      const lo = this.stack[--sp]!;
      if (!image.locateHalves(lo, hi, size, loc)) {
        // (The image's reason is kept, as the writer has done since it stopped replacing it.)
        const address = joinHalves(lo, hi);
        throw new AddressError(address, size, n === 0 ? 'root' : `the tree (block ${n})`, image.explain(address, size));
      }
      const key = loc.segment * 2 ** 40 + loc.offset;
      if (seenCount * 2 >= seenMask) {
        this.rehash((seenMask + 1) * 2);
        seenMask = this.seen.length - 1;
      }
      if (!this.addSeen(key, seenMask)) throw new CompletionError(joinHalves(lo, hi), 'reached twice (a cycle or a shared block)');
      seenCount++;
      if (n >= maxBlocks) throw new CompletionError(joinHalves(lo, hi), `more than ${maxBlocks} blocks`);
      // (After the bound, as the writer's walker counts a block before the writer places it.)
      if (loc.gathered) throw new CompletionError(joinHalves(lo, hi), 'the block straddles two pages or segments: its Status is written in place only in a block that lies whole in one');
      this.grow(n + 1);
      const v = loc.view;
      const o = loc.offset;
      views[loc.segment] = v;
      this.seg[n] = loc.segment;
      this.off[n] = o;
      this.parent[n] = parent;
      this.layer[n] = layer;
      // Role: from MiniportOffloadContext and the PVOID it points to.
      const cLo = read32(v, o + CTX);
      const cHi = ptr === 8 ? read32(v, o + CTX + 4) : 0;
      let role = ROLE_PLACEHOLDER;
      if (cLo !== 0 || cHi !== 0) {
        role = ROLE_NEW; // a cell outside the image: the target's own decision applies
        if (image.locateHalves(cLo, cHi, ptr, cell)) {
          const empty = read32(cell.view, cell.offset) === 0 && (ptr === 4 || read32(cell.view, cell.offset + 4) === 0);
          role = empty ? ROLE_NEW : ROLE_LINKER;
        }
      }
      this.role[n] = role;
      const index = n++;
      const nLo = read32(v, o + NEXT);
      const nHi = ptr === 8 ? read32(v, o + NEXT + 4) : 0;
      if (nLo !== 0 || nHi !== 0) push(nLo, nHi, layer, parent);
      const dLo = read32(v, o + DEP);
      const dHi = ptr === 8 ? read32(v, o + DEP + 4) : 0;
      if ((dLo !== 0 || dHi !== 0) && layer < 2) push(dLo, dHi, layer + 1, index);
    }

    // ---- pass 2: decide bottom-up (reverse pre-order visits every dependent before its owner) ----
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

    // ---- pass 3: write, 4 bytes a block ----
    for (let i = 0; i < n; i++) views[this.seg[i]!]!.setInt32(this.off[i]! + STATUS, this.status[i]!, true);

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

  private rehash(size: number): void {
    const old = this.seen;
    this.seen = new Float64Array(size);
    const mask = size - 1;
    for (const v of old) if (v !== 0) this.addSeen(v - 1, mask);
  }

  private decision(i: number, image: MemoryImage, byKey: Map<number, number>, options: CompleteOptions, fallback: number): number {
    if (byKey.size) {
      const s = byKey.get(this.seg[i]! * 2 ** 40 + this.off[i]!);
      if (s !== undefined) return s;
    }
    if (options.decide) {
      const s = options.decide(this.addressOf(i, image), this.layer[i]!);
      if (s !== undefined) return toStatus(s);
    }
    return fallback;
  }

  /** The virtual address of block i (only on slow paths: decisions and errors). */
  private addressOf(i: number, image: MemoryImage): bigint {
    const seg = this.seg[i]!;
    // (Segments, not ranges: segments that touch are one range.)
    const segment = image instanceof SegmentImage ? image.segments[seg] : undefined;
    return (segment?.base ?? 0n) + BigInt(this.off[i]!);
  }
}

