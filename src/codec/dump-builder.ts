/**
 * Synthetic x64 address spaces for the dump writer: page tables, frames and the RAM layout of a
 * machine whose virtual memory holds the given regions. Deterministic for a given input and seed;
 * `scatter` puts frames far apart in random order so that readers cannot get away with assuming
 * virtual and physical contiguity.
 */
import { UsageError } from '../errors.js';
import type { PhysicalRun } from './dump-pages.js';
import { PAGE_SIZE } from './physical.js';

export type PageSize = 0x1000 | 0x200000 | 0x40000000;

export interface WriterRegion {
  readonly address: bigint;
  readonly bytes: Uint8Array;
  /** Page size that maps the region (default 4 KiB). */
  readonly pageSize?: PageSize;
}

export interface AddressSpaceOptions {
  /** Seed: frames are picked at random from a physical memory much larger than needed. */
  scatter?: number;
  /** Virtual pages mapped by transition PTEs (Present 0, Transition 1): still readable. */
  transition?: readonly bigint[];
  /** Virtual pages left not present (PTE 0). */
  missing?: readonly bigint[];
  /** Virtual pages with a software (page file) PTE. */
  pagedOut?: readonly bigint[];
  /** Virtual pages mapped to a frame that no dump stores. */
  notStored?: readonly bigint[];
  /** PML4 index of a Windows-style self-map entry (the PML4 maps itself). */
  selfMap?: number;
  /** Minimum physical memory size in pages. */
  physicalPages?: number;
  /** Low bits of CR3 (PCID/flags) to put in the DirectoryTableBase. */
  dtbFlags?: number;
  /** The PML4's frame (a RAM page): where a DTB search should find it. Otherwise placed like any table. */
  rootPfn?: number;
}

export interface AddressSpace {
  readonly dtb: bigint;
  /** Frames with content (page tables and data), by PFN. Frames not listed are zero. */
  readonly frames: Map<number, Uint8Array>;
  /** The machine's RAM: two runs with a gap, [1, 0x9f) and [0x100, physicalPages). */
  readonly runs: readonly PhysicalRun[];
  readonly physicalPages: number;
  /** Where the entry mapping `address` at the given level (0 = PML4E .. 3 = PTE) is: for tests that corrupt tables. */
  entryOf(address: bigint, level: number): { pfn: number; offset: number } | undefined;
}

interface Leaf {
  va: bigint;
  size: PageSize;
  kind: 'data' | 'transition' | 'missing' | 'pagedOut' | 'notStored';
  data: Map<number, Uint8Array>;
  pfn: number;
}

const MASK48 = 0xffffffffffffn;
const SHIFT = [39n, 30n, 21n, 12n] as const;
const idx = (va: bigint, level: number): number => Number((va >> SHIFT[level]!) & 0x1ffn);
const LOW_RUN: PhysicalRun = { basePage: 1, pageCount: 0x9e };
const HIGH_BASE = 0x100;

/** mulberry32: small, fast, and the same on every platform. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function buildAddressSpace(regions: readonly WriterRegion[], options: AddressSpaceOptions = {}): AddressSpace {
  const leaves = new Map<bigint, Leaf>();
  // Per 2 MiB and 1 GiB prefix: the large leaf there, or 'split' when smaller pages live inside.
  const mid = new Map<bigint, Leaf | 'split'>();
  const big = new Map<bigint, Leaf | 'split'>();
  const leafAt = (va: bigint, size: PageSize): Leaf => {
    const top = va >> 47n;
    if (va < 0n || (top !== 0n && top !== 0x1ffffn)) throw new UsageError(`0x${va.toString(16)} is not a canonical x64 address`);
    const base = va & ~BigInt(size - 1);
    const g = va & ~0x3fffffffn;
    const m = va & ~0x1fffffn;
    const clash = (x: Leaf | 'split' | undefined, allowSplit: boolean): boolean =>
      x !== undefined && (x === 'split' ? !allowSplit : x.va !== base || x.size !== size);
    if (clash(big.get(g), size < 0x40000000) || (size < 0x40000000 && clash(mid.get(m), size < 0x200000))) {
      throw new UsageError(`0x${va.toString(16)} is mapped with two page sizes`);
    }
    let leaf = leaves.get(base);
    if (!leaf) {
      leaf = { va: base, size, kind: 'data', data: new Map(), pfn: -1 };
      leaves.set(base, leaf);
      if (size === 0x40000000) big.set(g, leaf);
      else big.set(g, 'split');
      if (size === 0x200000) mid.set(m, leaf);
      else if (size === 0x1000) mid.set(m, 'split');
    }
    return leaf;
  };

  for (const r of regions) {
    const size = r.pageSize ?? 0x1000;
    for (let off = 0; off < r.bytes.length; ) {
      const va = r.address + BigInt(off);
      const leaf = leafAt(va, size);
      const sub = Number((va - leaf.va) >> 12n);
      const at = Number(va & 0xfffn);
      const n = Math.min(PAGE_SIZE - at, r.bytes.length - off);
      let frame = leaf.data.get(sub);
      if (!frame) leaf.data.set(sub, (frame = new Uint8Array(PAGE_SIZE)));
      frame.set(r.bytes.subarray(off, off + n), at);
      off += n;
    }
  }
  const mark = (list: readonly bigint[] | undefined, kind: Leaf['kind']): void => {
    for (const va of list ?? []) leafAt(va, 0x1000).kind = kind;
  };
  mark(options.transition, 'transition');
  mark(options.missing, 'missing');
  mark(options.pagedOut, 'pagedOut');
  mark(options.notStored, 'notStored');

  // Page tables: one per (level, prefix) that some leaf needs.
  const tables = new Map<string, { level: number; pfn: number; bytes: Uint8Array }>();
  const tableKey = (va: bigint, level: number): string => (level === 0 ? 'L0' : `L${level}:${(va & MASK48) >> SHIFT[level - 1]!}`);
  const sorted = [...leaves.values()].sort((a, b) => (a.va < b.va ? -1 : 1));
  for (const leaf of sorted) {
    const depth = leaf.size === 0x40000000 ? 1 : leaf.size === 0x200000 ? 2 : 3;
    for (let level = 0; level <= depth; level++) {
      const key = tableKey(leaf.va, level);
      if (!tables.has(key)) tables.set(key, { level, pfn: -1, bytes: new Uint8Array(PAGE_SIZE) });
    }
  }
  if (!tables.has('L0')) tables.set('L0', { level: 0, pfn: -1, bytes: new Uint8Array(PAGE_SIZE) });

  // Physical placement: large pages first (aligned blocks), then 4 KiB frames.
  let cursor = HIGH_BASE;
  for (const size of [0x40000000, 0x200000] as const) {
    const frames = size / PAGE_SIZE;
    for (const leaf of sorted.filter((l) => l.size === size)) {
      cursor = Math.ceil(cursor / frames) * frames;
      leaf.pfn = cursor;
      cursor += frames;
    }
  }
  const small = [...tables.values(), ...sorted.filter((l) => l.size === 0x1000 && (l.kind === 'data' || l.kind === 'transition'))];
  const scatter = options.scatter;
  const area = scatter === undefined ? small.length : Math.max(small.length * 64, 0x800);
  const pool: number[] = [];
  if (scatter !== undefined) for (let p = LOW_RUN.basePage; p < LOW_RUN.basePage + LOW_RUN.pageCount; p++) pool.push(p);
  for (let p = cursor; p < cursor + area; p++) pool.push(p);
  if (scatter !== undefined) {
    const random = prng(scatter);
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
  }
  small.forEach((x, i) => (x.pfn = pool[i]!));
  const physicalPages = Math.max(options.physicalPages ?? 0, cursor + area, HIGH_BASE + 1);
  if (options.rootPfn !== undefined) {
    const want = options.rootPfn;
    const inRam = (want >= LOW_RUN.basePage && want < LOW_RUN.basePage + LOW_RUN.pageCount) || (want >= HIGH_BASE && want < physicalPages);
    const l0 = tables.get('L0')!;
    const large = sorted.some((l) => l.size > 0x1000 && want >= l.pfn && want < l.pfn + l.size / PAGE_SIZE);
    if (!Number.isInteger(want) || !inRam || large) throw new UsageError(`rootPfn 0x${want.toString(16)} is not a free RAM page of this space`);
    // Whatever had that frame takes the root's.
    const other = small.find((x) => x.pfn === want);
    if (other) other.pfn = l0.pfn;
    l0.pfn = want;
  }
  let spare = physicalPages + 0x100;
  for (const leaf of sorted) if (leaf.kind === 'notStored') leaf.pfn = spare++;

  // Entries. Valid leaves carry Windows-like software bits (52..58, 11) that readers must mask.
  const frames = new Map<number, Uint8Array>();
  for (const t of tables.values()) frames.set(t.pfn, t.bytes);
  const root = tables.get('L0')!;
  const put = (table: Uint8Array, i: number, value: bigint): void => new DataView(table.buffer).setBigUint64(i * 8, value, true);
  const pointer = (pfn: number): bigint => (BigInt(pfn) << 12n) | 0x63n;
  for (const leaf of sorted) {
    const depth = leaf.size === 0x40000000 ? 1 : leaf.size === 0x200000 ? 2 : 3;
    for (let level = 1; level <= depth; level++) {
      const parent = tables.get(tableKey(leaf.va, level - 1))!;
      put(parent.bytes, idx(leaf.va, level - 1), pointer(tables.get(tableKey(leaf.va, level))!.pfn));
    }
    const table = tables.get(tableKey(leaf.va, depth))!.bytes;
    const i = idx(leaf.va, depth);
    const frame = BigInt(leaf.pfn) << 12n;
    const soft = (5n << 52n) | 0x800n;
    if (leaf.kind === 'missing') put(table, i, 0n);
    else if (leaf.kind === 'pagedOut') put(table, i, ((0x1234n + (leaf.va >> 12n & 0xffffn)) << 32n) | 0x80n);
    else if (leaf.kind === 'transition') put(table, i, frame | 0x800n | 0x80n);
    else if (depth < 3) put(table, i, (1n << 63n) | frame | soft | 0xe3n);
    else put(table, i, (1n << 63n) | frame | soft | 0x163n);
    if (leaf.kind === 'data' || leaf.kind === 'transition') {
      if (leaf.size === 0x1000) frames.set(leaf.pfn, leaf.data.get(0) ?? new Uint8Array(PAGE_SIZE));
      else for (const [sub, bytes] of leaf.data) frames.set(leaf.pfn + sub, bytes);
    }
  }
  if (options.selfMap !== undefined) {
    if (new DataView(root.bytes.buffer).getBigUint64(options.selfMap * 8, true) !== 0n) {
      throw new UsageError(`self-map index ${options.selfMap} is already in use`);
    }
    put(root.bytes, options.selfMap, pointer(root.pfn));
  }

  return {
    dtb: (BigInt(root.pfn) << 12n) | BigInt((options.dtbFlags ?? 0) & 0xfff),
    frames,
    runs: [LOW_RUN, { basePage: HIGH_BASE, pageCount: physicalPages - HIGH_BASE }],
    physicalPages,
    entryOf(address: bigint, level: number) {
      let pfn = root.pfn;
      for (let l = 0; l < level; l++) {
        const e = frames.get(pfn);
        if (!e) return undefined;
        const v = new DataView(e.buffer).getBigUint64(idx(address, l) * 8, true);
        if ((v & 1n) === 0n || (l > 0 && (v & 0x80n) !== 0n)) return undefined;
        pfn = Number((v >> 12n) & 0xffffffffffn);
      }
      return frames.has(pfn) ? { pfn, offset: idx(address, level) * 8 } : undefined;
    },
  };
}
