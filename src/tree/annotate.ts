/**
 * Labels every byte of a decoded tree: which block, structure and member it belongs to, and which
 * bytes are padding. The hexdump command prints these; a test can check that they tile exactly.
 */
import type { Abi } from '../layout/abi.js';
import { stateType } from '../layout/constants.js';
import type { NdisRevision } from '../layout/descriptor.js';
import type { PlacedField, StructLayout } from '../layout/msvc.js';
import { layoutOf } from '../layout/registry.js';
import type { BlockStream } from './decode.js';
import type { BlockFields, BlockJson, TreeDocument } from './document.js';
import { stateParts, stateSize } from './state.js';

export interface ByteRange {
  /** Virtual address of the first byte. */
  address: bigint;
  size: number;
  /** `blocks[0].dependents[1]`: the block the range belongs to. */
  path: string;
  /** `NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock`, `TCP_OFFLOAD_STATE_CONST.Header.Length`, `*SourceAddress`. */
  label: string;
  padding: boolean;
}

/** A range of a structure, relative to its start (see structRanges). */
interface RelativeRange {
  offset: number;
  size: number;
  label: string;
  padding: boolean;
}
const templates = new WeakMap<StructLayout, RelativeRange[]>();

/** The member ranges of a layout relative to its start, computed once per layout. */
function rangeTemplate(layout: StructLayout): RelativeRange[] {
  let t = templates.get(layout);
  if (t) return t;
  const leaves: { offset: number; size: number; name: string }[] = [];
  const walk = (fields: readonly PlacedField[], prefix: string): void => {
    for (const f of fields) {
      if (f.fields) walk(f.fields, `${prefix}${f.name}.`);
      else leaves.push({ offset: f.offset, size: f.size, name: `${prefix}${f.name}` });
    }
  };
  walk(layout.fields, '');
  // Union alternatives and bit-fields share bytes: merge ranges that overlap into one label.
  leaves.sort((a, b) => a.offset - b.offset || b.size - a.size);
  const merged: { offset: number; size: number; names: string[] }[] = [];
  for (const l of leaves) {
    const last = merged[merged.length - 1];
    if (last && l.offset < last.offset + last.size) {
      if (!last.names.includes(l.name)) last.names.push(l.name);
      last.size = Math.max(last.size, l.offset + l.size - last.offset);
    } else merged.push({ offset: l.offset, size: l.size, names: [l.name] });
  }
  t = [];
  let at = 0;
  const pad = (to: number): void => {
    if (to > at) t!.push({ offset: at, size: to - at, label: `${layout.name} padding`, padding: true });
  };
  for (const m of merged) {
    pad(m.offset);
    t.push({ offset: m.offset, size: m.size, label: `${layout.name}.${m.names.join(' | ')}`, padding: false });
    at = m.offset + m.size;
  }
  pad(layout.size);
  templates.set(layout, t);
  return t;
}

/** The member ranges of one structure, padding included, in address order. */
export function structRanges(layout: StructLayout, address: bigint, path: string): ByteRange[] {
  return rangeTemplate(layout).map((r) => ({ address: address + BigInt(r.offset), size: r.size, path, label: r.label, padding: r.padding }));
}

/** The members of PATH_OFFLOAD_STATE_CONST that point at IP address bytes, in the order they are labelled. */
const POINTEES = ['SourceAddress', 'DestinationAddress'] as const;

/** What labelling one block needs, however it was decoded. */
export interface BlockAnnotation {
  address: bigint;
  /** Header.Type. */
  type: number;
  /** MiniportOffloadContext, when the cell it points to was read (`*MiniportOffloadContext`). */
  cell?: bigint;
  /**
   * The state parts decoded, by name (`state` of the document), each with the addresses its
   * pointers hold when the bytes behind them were read (`*SourceAddress`, `*DestinationAddress`).
   */
  state?: Record<string, { SourceAddress?: bigint; DestinationAddress?: bigint }>;
}

/** A block's annotation from its members in the document. */
export function blockAnnotation(b: BlockFields): BlockAnnotation {
  const a: BlockAnnotation = { address: BigInt(b.address), type: b.Header.Type };
  if (b['*MiniportOffloadContext'] !== undefined) a.cell = BigInt(b.MiniportOffloadContext as string);
  if (b.state) {
    a.state = {};
    for (const [name, json] of Object.entries(b.state)) {
      const part: { SourceAddress?: bigint; DestinationAddress?: bigint } = {};
      for (const m of POINTEES) if (typeof json[`*${m}`] === 'string') part[m] = BigInt(json[m] as string);
      a.state[name] = part;
    }
  }
  return a;
}

/**
 * A range and where it comes in its block's labelling: `outOfLine` is 0 for the bytes of the block
 * and its state, k > 0 for the k-th range elsewhere (the context cell, then the IP address bytes).
 */
interface PlacedRange extends ByteRange {
  outOfLine: number;
}

/**
 * The ranges of one block in the order they are labelled (the block, the context cell, each state
 * part with the padding before it and the address bytes it points at, the tail padding): not
 * sorted. annotateTree sorts them with every other block's; a stable sort keeps this order for
 * ranges that start at the same address.
 */
function placedRanges(a: BlockAnnotation, path: string, abi: Abi, ndis: NdisRevision): PlacedRange[] {
  const out: PlacedRange[] = [];
  const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis);
  const add = (t: readonly RelativeRange[], at: bigint): void => {
    for (const r of t) out.push({ address: at + BigInt(r.offset), size: r.size, path, label: r.label, padding: r.padding, outOfLine: 0 });
  };
  let elsewhere = 0;
  add(rangeTemplate(block), a.address);
  if (a.cell !== undefined) out.push({ address: a.cell, size: abi.pointerSize, path, label: '*MiniportOffloadContext', padding: false, outOfLine: ++elsewhere });
  const type = stateType(a.type);
  if (a.state && type) {
    const parts = stateParts(type, abi, ndis);
    let end = 0;
    for (const part of parts) {
      const json = a.state[part.name];
      if (!json) continue;
      if (part.offset > end) out.push({ address: a.address + BigInt(block.size + end), size: part.offset - end, path, label: `${type.combined} padding`, padding: true, outOfLine: 0 });
      add(rangeTemplate(part.layout), a.address + BigInt(block.size + part.offset));
      end = part.offset + part.layout.size;
      for (const m of POINTEES) {
        const to = json[m];
        if (to !== undefined) out.push({ address: to, size: type.addressBytes!, path, label: `*${m}`, padding: false, outOfLine: ++elsewhere });
      }
    }
    // The combined structure's tail padding, after its last part (when that part is there).
    const size = stateSize(type, abi, ndis);
    const last = parts[parts.length - 1]; // (a Type with no parts has no state to pad)
    if (last && a.state[last.name] && size > end) {
      out.push({ address: a.address + BigInt(block.size + end), size: size - end, path, label: `${type.combined} padding`, padding: true, outOfLine: 0 });
    }
  }
  return out;
}

const plainRange = (r: PlacedRange): ByteRange => ({ address: r.address, size: r.size, path: r.path, label: r.label, padding: r.padding });

/** The labelled ranges of one block, in the order they are labelled (see annotateTree for the whole tree in address order). */
export function blockRanges(a: BlockAnnotation, path: string, abi: Abi, ndis: NdisRevision = '6.1'): ByteRange[] {
  return placedRanges(a, path, abi, ndis).map(plainRange);
}

const byAddress = (a: ByteRange, b: ByteRange): number => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);

/**
 * Every labelled range of a decoded tree, in address order (ranges at the same address in the
 * order the blocks are taken: each list of `blocks` first to last, each list of dependents last
 * to first, a block before its dependents). annotateBlocks gives the same ranges without the
 * document.
 */
export function annotateTree(doc: TreeDocument, abi: Abi): ByteRange[] {
  const ndis = doc.ndis as NdisRevision;
  const out: ByteRange[] = [];
  const stack: { b: BlockJson; path: string }[] = doc.blocks.map((b, i) => ({ b, path: `blocks[${i}]` })).reverse();
  while (stack.length) {
    const { b, path } = stack.pop()!;
    for (const r of placedRanges(blockAnnotation(b), path, abi, ndis)) out.push(plainRange(r));
    b.dependents.forEach((d, i) => stack.push({ b: d, path: `${path}.dependents[${i}]` })); // order: sorted below
  }
  return out.sort(byAddress);
}

// ---- the same ranges from a stream of blocks --------------------------------------------------

/** A range of annotateBlocks: which block (its index in document order) and which of its ranges (in the order they are labelled). */
export interface IndexedRange extends ByteRange {
  block: number;
  seq: number;
}

/** The labelled ranges of a tree read from a stream of blocks (annotateBlocks). */
export interface TreeRanges extends Iterable<IndexedRange> {
  /** Blocks in the tree. */
  readonly blockCount: number;
  /** The ranges of one block (index in document order), in the order they are labelled. */
  rangesOf(block: number): IndexedRange[];
  /** The blocks at these paths (`blocks[0].dependents[1]`), by path; paths no block has are left out. */
  blocksAt(paths: Iterable<string>): Map<string, number>;
}

/** Typed arrays grown by doubling. */
class Column<T extends Uint32Array | Int32Array | Uint16Array | Uint8Array> {
  constructor(
    public a: T,
    private readonly make: (n: number) => T,
  ) {}
  set(i: number, v: number): void {
    if (i >= this.a.length) {
      const b = this.make(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[i] = v;
  }
}
const u32 = (n = 1024): Column<Uint32Array> => new Column(new Uint32Array(n), (k) => new Uint32Array(k));
const i32 = (n = 1024): Column<Int32Array> => new Column(new Int32Array(n), (k) => new Int32Array(k));

/** Flags of a block: its context cell read; state part i decoded; pointer j of part i read. */
const CELL = 1;
const PART = (i: number): number => 2 << i;
const POINTEE = (i: number, j: number): number => 16 << (2 * i + j);

/**
 * Annotates the blocks of `stream` as it is read (once: this reads it to its end, after which
 * its diagnostics are known), keeping per block only what its labels are rebuilt from (its
 * address, Header.Type, parent, index in its list and which parts and pointers were read: some 40
 * bytes in typed arrays, and 8 a pointer read; then 12 a run and 8 to sort them: some 75 bytes a
 * block in all), never the blocks or their ranges. `onBlock` sees
 * each block's ranges as the block is read, in the order they are labelled. The result yields
 * the ranges of annotateTree(decodeTree(...)) in the same order, rebuilding each block's as it is
 * reached: a merge of the blocks' runs (a block's own bytes in one run, each range elsewhere in
 * one more), sorted by address first (an LSD radix sort of one entry per run).
 */
export function annotateBlocks(stream: BlockStream, abi: Abi, ndis: NdisRevision, onBlock?: (ranges: readonly ByteRange[]) => void): TreeRanges {
  const hi = u32();
  const lo = u32();
  const parent = i32();
  const listIndex = i32();
  const firstExtra = i32();
  const types = new Column(new Uint8Array(1024), (k) => new Uint8Array(k));
  const flags = new Column(new Uint16Array(1024), (k) => new Uint16Array(k));
  /** The addresses of the ranges elsewhere (cells, IP address bytes), block after block. */
  const extraHi = u32();
  const extraLo = u32();
  let extras = 0;
  /** lastAt[d]: the last block at depth d; nextIndex[d]: the index in its list of the next block at depth d. */
  const lastAt: number[] = [];
  const nextIndex: number[] = [0];
  let n = 0;
  for (const { depth, block, path } of stream) {
    const a = blockAnnotation(block);
    const x = n++;
    hi.set(x, Number(a.address >> 32n));
    lo.set(x, Number(a.address & 0xffffffffn));
    parent.set(x, depth === 0 ? -1 : lastAt[depth - 1]!);
    listIndex.set(x, nextIndex[depth]!);
    nextIndex[depth]!++;
    lastAt[depth] = x;
    nextIndex[depth + 1] = 0;
    types.set(x, a.type);
    firstExtra.set(x, extras);
    const extra = (v: bigint): void => {
      extraHi.set(extras, Number(v >> 32n));
      extraLo.set(extras, Number(v & 0xffffffffn));
      extras++;
    };
    let f = 0;
    if (a.cell !== undefined) {
      f |= CELL;
      extra(a.cell);
    }
    const type = stateType(a.type);
    if (a.state && type) {
      stateParts(type, abi, ndis).forEach((part, i) => {
        const json = a.state![part.name];
        if (!json) return;
        f |= PART(i);
        POINTEES.forEach((m, j) => {
          if (json[m] === undefined) return;
          f |= POINTEE(i, j);
          extra(json[m]);
        });
      });
    }
    flags.set(x, f);
    if (onBlock) onBlock(blockRanges(a, path, abi, ndis));
  }
  // (the columns' arrays, now that they have stopped growing)
  const H = hi.a, L = lo.a, P = parent.a, I = listIndex.a, E = firstExtra.a, T = types.a, F = flags.a, EH = extraHi.a, EL = extraLo.a;

  /** size[x]: blocks in the subtree of x (x first in document order, then its dependents' subtrees). */
  const size = new Int32Array(n).fill(1);
  for (let x = n - 1; x > 0; x--) if (P[x]! >= 0) size[P[x]!]! += size[x]!;
  /**
   * order[x]: when annotateTree takes block x (the order of ranges at one address). `blocks` in
   * order, so a block of it is taken at its index in document order; the dependents of a block
   * from the last, so its i-th is taken after the block and the subtrees of the ones after it.
   */
  const order = new Int32Array(n);
  for (let x = 0; x < n; x++) {
    if (P[x]! < 0) order[x] = x;
    let before = 0;
    for (let c = x + 1; c < x + size[x]!; c += size[c]!) {
      order[c] = order[x]! + size[x]! - before - size[c]!;
      before += size[c]!;
    }
  }

  const annotation = (x: number): BlockAnnotation => {
    const a: BlockAnnotation = { address: (BigInt(H[x]!) << 32n) | BigInt(L[x]!), type: T[x]! };
    const f = F[x]!;
    let e = E[x]!;
    const next = (): bigint => {
      const v = (BigInt(EH[e]!) << 32n) | BigInt(EL[e]!);
      e++;
      return v;
    };
    if (f & CELL) a.cell = next();
    const type = stateType(a.type);
    if (type && f & (PART(0) | PART(1) | PART(2))) {
      a.state = {};
      stateParts(type, abi, ndis).forEach((part, i) => {
        if (!(f & PART(i))) return;
        const json: { SourceAddress?: bigint; DestinationAddress?: bigint } = {};
        POINTEES.forEach((m, j) => {
          if (f & POINTEE(i, j)) json[m] = next();
        });
        a.state![part.name] = json;
      });
    }
    return a;
  };
  const pathOf = (x: number): string => {
    let path = '';
    for (let w = x; w !== -1; w = P[w]!) path = `${P[w] === -1 ? 'blocks' : '.dependents'}[${I[w]}]${path}`;
    return path;
  };
  /** The ranges of block x, placed: the last block's kept, since its runs elsewhere often follow its own. */
  let cached = -1;
  let cachedRanges: (PlacedRange & IndexedRange)[] = [];
  const rangesOf = (x: number): (PlacedRange & IndexedRange)[] => {
    if (x !== cached) {
      cachedRanges = placedRanges(annotation(x), pathOf(x), abi, ndis).map((r, seq) => Object.assign(r, { block: x, seq }));
      cached = x;
    }
    return cachedRanges;
  };

  // One run per block (its own bytes: increasing addresses) and one per range elsewhere, listed in
  // the order annotateTree takes them, then sorted by the address of their first byte (stable).
  const m = n + extras;
  const runHi = new Uint32Array(m);
  const runLo = new Uint32Array(m);
  /** Block and run: block * 8 + k, k = 0 for the block's own bytes, k > 0 for its k-th range elsewhere. */
  const runRef = new Uint32Array(m);
  {
    const byOrder = new Int32Array(n);
    for (let x = 0; x < n; x++) byOrder[order[x]!] = x;
    let r = 0;
    for (let k = 0; k < n; k++) {
      const x = byOrder[k]!;
      runHi[r] = H[x]!;
      runLo[r] = L[x]!;
      runRef[r++] = x * 8;
      const end = x + 1 < n ? E[x + 1]! : extras;
      for (let e = E[x]!; e < end; e++) {
        runHi[r] = EH[e]!;
        runLo[r] = EL[e]!;
        runRef[r++] = x * 8 + (e - E[x]! + 1);
      }
    }
  }
  const sorted = radixOrder(runHi, runLo);

  return {
    blockCount: n,
    rangesOf: (x) => rangesOf(x).map(({ outOfLine: _, ...r }) => r),
    blocksAt(paths: Iterable<string>): Map<string, number> {
      const wanted = new Set(paths);
      const found = new Map<string, number>();
      if (wanted.size === 0) return found;
      // Each block's path from its parent's, in document order (a stack of the open blocks).
      const open: { x: number; path: string }[] = [];
      for (let x = 0; x < n; x++) {
        while (open.length > 0 && open[open.length - 1]!.x !== P[x]) open.pop();
        const path = open.length === 0 ? `blocks[${I[x]}]` : `${open[open.length - 1]!.path}.dependents[${I[x]}]`;
        if (wanted.has(path)) found.set(path, x);
        open.push({ x, path });
      }
      return found;
    },
    *[Symbol.iterator](): Generator<IndexedRange> {
      /** The runs being read: their ranges and the next one's position, a heap by (address, order, seq). */
      interface Cursor {
        ranges: (PlacedRange & IndexedRange)[];
        at: number;
        order: number;
      }
      const heap: Cursor[] = [];
      const less = (a: Cursor, b: Cursor): boolean => {
        const x = a.ranges[a.at]!;
        const y = b.ranges[b.at]!;
        if (x.address !== y.address) return x.address < y.address;
        if (a.order !== b.order) return a.order < b.order;
        return x.seq < y.seq;
      };
      const push = (c: Cursor): void => {
        heap.push(c);
        for (let i = heap.length - 1; i > 0; ) {
          const up = (i - 1) >> 1;
          if (!less(heap[i]!, heap[up]!)) break;
          [heap[i], heap[up]] = [heap[up]!, heap[i]!];
          i = up;
        }
      };
      const pop = (): Cursor => {
        const top = heap[0]!;
        const last = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = last;
          for (let i = 0; ; ) {
            const l = 2 * i + 1;
            const r = l + 1;
            let min = i;
            if (l < heap.length && less(heap[l]!, heap[min]!)) min = l;
            if (r < heap.length && less(heap[r]!, heap[min]!)) min = r;
            if (min === i) break;
            [heap[i], heap[min]] = [heap[min]!, heap[i]!];
            i = min;
          }
        }
        return top;
      };
      let p = 0;
      for (;;) {
        // Every run that may start before the heap's first range joins the heap (one that starts at
        // the same address is placed by its order and seq there).
        while (p < m) {
          const e = sorted[p]!;
          if (heap.length > 0) {
            const top = heap[0]!.ranges[heap[0]!.at]!.address;
            if (((BigInt(runHi[e]!) << 32n) | BigInt(runLo[e]!)) > top) break;
          }
          p++;
          const ref = runRef[e]!;
          const x = Math.floor(ref / 8);
          const k = ref % 8;
          const all = rangesOf(x);
          const ranges = k === 0 ? all.filter((r) => r.outOfLine === 0) : all.filter((r) => r.outOfLine === k);
          push({ ranges, at: 0, order: order[x]! });
        }
        if (heap.length === 0) return;
        const c = pop();
        const { outOfLine: _, ...r } = c.ranges[c.at]!;
        yield r;
        if (++c.at < c.ranges.length) push(c);
      }
    },
  };
}

/** The indices of the 64-bit keys hi:lo in increasing order, equal keys in index order (LSD radix, 16 bits a pass). */
function radixOrder(hi: Uint32Array, lo: Uint32Array): Uint32Array {
  const m = hi.length;
  let from = new Uint32Array(m);
  for (let i = 0; i < m; i++) from[i] = i;
  let to = new Uint32Array(m);
  const count = new Uint32Array(1 << 16);
  for (const [keys, shift] of [[lo, 0], [lo, 16], [hi, 0], [hi, 16]] as const) {
    count.fill(0);
    for (let i = 0; i < m; i++) count[(keys[i]! >>> shift) & 0xffff]!++;
    // (a digit all keys share moves nothing)
    if (m === 0 || count[(keys[0]! >>> shift) & 0xffff] === m) continue;
    let sum = 0;
    for (let d = 0; d < count.length; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < m; i++) {
      const e = from[i]!;
      to[count[(keys[e]! >>> shift) & 0xffff]!++] = e;
    }
    [from, to] = [to, from];
  }
  return from;
}
