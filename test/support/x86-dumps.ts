/**
 * Synthetic 32-bit x86 machines for the tests: page tables (PAE 3-level with the PDPT at a
 * 32-byte offset inside its frame, or non-PAE 2-level), data frames scattered over physical
 * memory, large pages (2 MiB PAE, 4 MiB non-PAE, the PAT bit set), transition, missing, paged out
 * and not stored pages, a Windows self-map; written as 32-bit crash dumps (DumpType 1 and 5).
 * Encoded x86 trees to put in them come from placeX86Tree.
 */
import type { PhysicalRun } from '../../src/codec/dump-pages.js';
import { SerialisedImage } from '../../src/codec/dump-writer.js';
import { dateToFiletime } from '../../src/codec/dump.js';
import { SegmentImage } from '../../src/codec/image.js';
import { PAGE_SIZE } from '../../src/codec/physical.js';
import type { X86Paging } from '../../src/capture/address-spaces/x86-paging.js';
import { BMP32, HDR32 } from '../../src/capture/sources/dump32.js';
import { decodeTree, type DecodeOptions } from '../../src/tree/decode.js';
import type { TreeDocument } from '../../src/tree/document.js';
import { buildFixture, decodeOptionsOf, readDescription } from '../../scripts/fixtures.js';

export interface X86Region {
  readonly address: number;
  readonly bytes: Uint8Array;
  /** Mapped by large pages (2 MiB PAE, 4 MiB non-PAE) instead of 4 KiB ones. */
  readonly large?: boolean;
}

export interface X86SpaceOptions {
  readonly paging: X86Paging;
  /** Seed: frames picked at random from a physical memory much larger than needed. */
  readonly scatter?: number;
  /** Virtual pages mapped by transition PTEs (still readable). */
  readonly transition?: readonly number[];
  /** Virtual pages left not present (PTE 0). */
  readonly missing?: readonly number[];
  /** Virtual pages with a software (page file) PTE. */
  readonly pagedOut?: readonly number[];
  /** Virtual pages mapped to a frame no dump stores. */
  readonly notStored?: readonly number[];
  /** The Windows self-map at 0xC0000000: non-PAE PD[0x300] = the PD; PAE PD3[i] = PD i (so PD3[3] = PD3). */
  readonly selfMap?: boolean;
  /** PAE: offset of the PDPT in its frame (a multiple of 32; default 0x5a0). */
  readonly pdptOffset?: number;
  /** Low CR3 bits to put in the DTB (PWT 0x8, PCD 0x10). */
  readonly dtbFlags?: number;
  /** PAE: put the 4 KiB frames above 4 GiB (PFNs from 0x140000). */
  readonly high?: boolean;
  /** Minimum physical memory in pages. */
  readonly physicalPages?: number;
}

export interface X86Space {
  readonly paging: X86Paging;
  readonly dtb: bigint;
  readonly frames: Map<number, Uint8Array>;
  /** The RAM: [1, 0x9f) and [0x100, physicalPages). */
  readonly runs: readonly PhysicalRun[];
  readonly physicalPages: number;
  readonly largePage: number;
  /** Where the entry mapping `address` at `level` is (0 = PDPTE (PAE) or PDE (non-PAE)). */
  entryOf(address: number, level: number): { pfn: number; offset: number; width: 4 | 8 } | undefined;
}

type Kind = 'data' | 'transition' | 'missing' | 'pagedOut' | 'notStored';
interface Leaf {
  va: number;
  size: number;
  kind: Kind;
  data: Map<number, Uint8Array>;
  pfn: number;
}

const LOW_RUN: PhysicalRun = { basePage: 1, pageCount: 0x9e };
const HIGH_BASE = 0x100;
const HIGH_POOL = 0x140000;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function buildX86Space(regions: readonly X86Region[], options: X86SpaceOptions): X86Space {
  const pae = options.paging === 'pae';
  const largePage = pae ? 0x200000 : 0x400000;
  const width = pae ? 8 : 4;
  // Bits of the address indexing each level: PAE 2/9/9, non-PAE 10/10.
  const shifts = pae ? [30, 21, 12] : [22, 12];
  const idx = (va: number, level: number): number => Math.floor(va / 2 ** shifts[level]!) & (pae ? (level === 0 ? 3 : 0x1ff) : 0x3ff);
  const leaves = new Map<number, Leaf>();
  const sizeAt = new Map<number, number>(); // large-page prefix -> page size used inside
  const leafAt = (va: number, size: number): Leaf => {
    if (!(va >= 0 && va < 2 ** 32)) throw new Error(`0x${va.toString(16)} is not a 32-bit address`);
    const base = va - (va % size);
    const prefix = va - (va % largePage);
    if ((sizeAt.get(prefix) ?? size) !== size) throw new Error(`0x${va.toString(16)} is mapped with two page sizes`);
    sizeAt.set(prefix, size);
    let leaf = leaves.get(base);
    if (!leaf) leaves.set(base, (leaf = { va: base, size, kind: 'data', data: new Map(), pfn: -1 }));
    return leaf;
  };
  for (const r of regions) {
    const size = r.large ? largePage : PAGE_SIZE;
    for (let off = 0; off < r.bytes.length; ) {
      const va = r.address + off;
      const leaf = leafAt(va, size);
      const sub = Math.floor((va - leaf.va) / PAGE_SIZE);
      const at = va % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - at, r.bytes.length - off);
      let frame = leaf.data.get(sub);
      if (!frame) leaf.data.set(sub, (frame = new Uint8Array(PAGE_SIZE)));
      frame.set(r.bytes.subarray(off, off + n), at);
      off += n;
    }
  }
  const mark = (list: readonly number[] | undefined, kind: Kind): void => {
    for (const va of list ?? []) leafAt(va, PAGE_SIZE).kind = kind;
  };
  mark(options.transition, 'transition');
  mark(options.missing, 'missing');
  mark(options.pagedOut, 'pagedOut');
  mark(options.notStored, 'notStored');

  // Tables by (level, prefix). PAE level 0 is the PDPT, inside a frame of its own at pdptOffset.
  const tables = new Map<string, { level: number; pfn: number; bytes: Uint8Array }>();
  const key = (va: number, level: number): string => (level === 0 ? 'L0' : `L${level}:${Math.floor(va / 2 ** shifts[level - 1]!)}`);
  const need = (va: number, level: number): void => {
    const k = key(va, level);
    if (!tables.has(k)) tables.set(k, { level, pfn: -1, bytes: new Uint8Array(PAGE_SIZE) });
  };
  const sorted = [...leaves.values()].sort((a, b) => a.va - b.va);
  const depth = (leaf: Leaf): number => (leaf.size === PAGE_SIZE ? shifts.length - 1 : shifts.length - 2);
  need(0, 0);
  for (const leaf of sorted) for (let level = 0; level <= depth(leaf); level++) need(leaf.va, level);
  if (options.selfMap && pae) for (let i = 0; i < 4; i++) need(i * 2 ** 30, 1);

  // Large pages on aligned blocks first, then the 4 KiB frames, scattered.
  let cursor = HIGH_BASE;
  const block = largePage / PAGE_SIZE;
  for (const leaf of sorted.filter((l) => l.size === largePage)) {
    cursor = Math.ceil(cursor / block) * block;
    leaf.pfn = cursor;
    cursor += block;
  }
  const small = [...tables.values(), ...sorted.filter((l) => l.size === PAGE_SIZE && (l.kind === 'data' || l.kind === 'transition'))];
  const area = options.scatter === undefined ? small.length : Math.max(small.length * 64, 0x800);
  const poolBase = options.high ? HIGH_POOL : cursor;
  const pool: number[] = [];
  if (options.scatter !== undefined && !options.high) for (let p = LOW_RUN.basePage; p < LOW_RUN.basePage + LOW_RUN.pageCount; p++) pool.push(p);
  for (let p = poolBase; p < poolBase + area; p++) pool.push(p);
  if (options.scatter !== undefined) {
    const random = prng(options.scatter);
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
  }
  // The PDPT's frame stays below 4 GiB: CR3 is 32 bits.
  const root = tables.get('L0')!;
  if (options.high) {
    root.pfn = cursor++;
    small.filter((x) => x !== root).forEach((x, i) => (x.pfn = pool[i]!));
  } else small.forEach((x, i) => (x.pfn = pool[i]!));
  const physicalPages = Math.max(options.physicalPages ?? 0, poolBase + area, cursor, HIGH_BASE + 1);
  let spare = physicalPages + 0x100;
  for (const leaf of sorted) if (leaf.kind === 'notStored') leaf.pfn = spare++;

  const frames = new Map<number, Uint8Array>();
  for (const t of tables.values()) frames.set(t.pfn, t.bytes);
  const pdptOffset = options.pdptOffset ?? 0x5a0;
  if (pae && (pdptOffset % 32 !== 0 || pdptOffset > 0xfe0)) throw new Error(`pdptOffset 0x${pdptOffset.toString(16)} is not a 32-byte slot`);
  const put = (table: Uint8Array, offset: number, value: bigint): void => {
    const v = new DataView(table.buffer);
    if (pae) v.setBigUint64(offset, value, true);
    else v.setUint32(offset, Number(value), true);
  };
  const slot = (level: number, i: number): number => (pae && level === 0 ? pdptOffset : 0) + i * width;
  const frameBits = (pfn: number): bigint => BigInt(pfn) * 4096n;
  if (pae) {
    // Other processes' PDPTs share the frame: decoys a reader at offset 0 would follow.
    for (let s = 0; s < PAGE_SIZE; s += 32) if (s !== pdptOffset) for (let i = 0; i < 4; i++) put(root.bytes, s + i * 8, frameBits(0x7000 + i) | 1n);
  }
  const pointer = (level: number, pfn: number): bigint => frameBits(pfn) | (pae && level === 0 ? 1n : 0x63n);
  for (const leaf of sorted) {
    const d = depth(leaf);
    for (let level = 0; level < d; level++) {
      put(tables.get(key(leaf.va, level))!.bytes, slot(level, idx(leaf.va, level)), pointer(level, tables.get(key(leaf.va, level + 1))!.pfn));
    }
    const table = tables.get(key(leaf.va, d))!.bytes;
    const at = slot(d, idx(leaf.va, d));
    const frame = frameBits(leaf.pfn);
    const nx = pae ? 1n << 63n : 0n;
    if (leaf.kind === 'missing') put(table, at, 0n);
    else if (leaf.kind === 'pagedOut') {
      const file = BigInt(0x1234 + ((leaf.va >>> 12) & 0xfff));
      put(table, at, pae ? (file << 32n) | 0x80n : (file << 12n) | 0x80n);
    } else if (leaf.kind === 'transition') put(table, at, frame | 0x880n);
    else if (leaf.size !== PAGE_SIZE) {
      // PAT (bit 12) set: a reader must clear it before forming the address. PSE-36 bits for non-PAE.
      const high = pae ? 0n : BigInt((Math.floor(leaf.pfn / 2 ** 20) & 0xff) << 13);
      put(table, at, nx | (pae ? frame : frame & 0xffc00000n) | high | 0x10e3n);
    } else put(table, at, nx | frame | 0x963n);
    if (leaf.kind === 'data' || leaf.kind === 'transition') {
      if (leaf.size === PAGE_SIZE) frames.set(leaf.pfn, leaf.data.get(0) ?? new Uint8Array(PAGE_SIZE));
      else for (const [sub, bytes] of leaf.data) frames.set(leaf.pfn + sub, bytes);
    }
  }
  if (options.selfMap) {
    if (pae) {
      const pd3 = tables.get(key(3 * 2 ** 30, 1))!;
      for (let i = 0; i < 4; i++) {
        const pd = tables.get(key(i * 2 ** 30, 1))!;
        put(root.bytes, slot(0, i), pointer(0, pd.pfn));
        put(pd3.bytes, i * 8, pointer(1, pd.pfn));
      }
    } else put(root.bytes, 0x300 * 4, pointer(0, root.pfn));
  }
  const dtb = BigInt(root.pfn * PAGE_SIZE + (pae ? pdptOffset : 0) + (options.dtbFlags ?? 0));
  return {
    paging: options.paging,
    dtb,
    frames,
    runs: [LOW_RUN, { basePage: HIGH_BASE, pageCount: physicalPages - HIGH_BASE }],
    physicalPages,
    largePage,
    entryOf(address: number, level: number) {
      let pfn = root.pfn;
      for (let l = 0; l < level; l++) {
        const t = frames.get(pfn);
        if (!t) return undefined;
        const v = new DataView(t.buffer);
        const o = slot(l, idx(address, l));
        const e = pae ? v.getBigUint64(o, true) : BigInt(v.getUint32(o, true));
        if ((e & 1n) === 0n || (l > 0 || !pae ? (e & 0x80n) !== 0n : false)) return undefined;
        pfn = Number((e >> 12n) & 0xffffffffffn);
      }
      return frames.has(pfn) ? { pfn, offset: slot(level, idx(address, level)), width: width as 4 | 8 } : undefined;
    },
  };
}

export interface Dump32HeaderOptions {
  minorVersion?: number;
  processors?: number;
  bugCheckCode?: number;
  bugCheckParameters?: readonly [number, number, number, number];
  systemTime?: Date;
  systemUpTime?: bigint;
  comment?: string;
}

export const HEADER32: Dump32HeaderOptions = {
  minorVersion: 7601,
  processors: 2,
  bugCheckCode: 0xe2,
  bugCheckParameters: [0, 0, 0, 0],
  systemTime: new Date('2011-05-06T07:08:09.123Z'),
  systemUpTime: 36_000_000_000n,
  comment: 'ndis-offload x86 test dump',
};

const runPages = (space: X86Space): number => space.runs.reduce((n, r) => n + r.pageCount, 0);
const inRuns = (space: X86Space, pfn: number): boolean => space.runs.some((r) => pfn >= r.basePage && pfn < r.basePage + r.pageCount);

/** The 0x1000-byte DUMP_HEADER32, unused bytes "PAGE" as Windows leaves them. */
function header32(space: X86Space, dumpType: number, size: number, o: Dump32HeaderOptions): Uint8Array {
  const b = new Uint8Array(HDR32.Size);
  for (let i = 0; i < b.length; i += 4) b.set([0x50, 0x41, 0x47, 0x45], i);
  const v = new DataView(b.buffer);
  const u32 = (at: number, x: number): void => v.setUint32(at, x, true);
  b.set([0x44, 0x55, 0x4d, 0x50], HDR32.ValidDump); // DUMP
  u32(HDR32.MajorVersion, 0xf);
  u32(HDR32.MinorVersion, o.minorVersion ?? 7601);
  u32(HDR32.DirectoryTableBase, Number(space.dtb));
  u32(HDR32.PfnDataBase, 0x84000000);
  u32(HDR32.PsLoadedModuleList, 0x82b7a850);
  u32(HDR32.PsActiveProcessHead, 0x82b72e98);
  u32(HDR32.MachineImageType, 0x14c);
  u32(HDR32.NumberProcessors, o.processors ?? 2);
  u32(HDR32.BugCheckCode, o.bugCheckCode ?? 0xe2);
  (o.bugCheckParameters ?? [0, 0, 0, 0]).forEach((p, i) => u32(HDR32.BugCheckParameters + 4 * i, p));
  b[HDR32.PaeEnabled] = space.paging === 'pae' ? 1 : 0;
  b[HDR32.KdSecondaryVersion] = 0;
  u32(HDR32.KdDebuggerDataBlock, 0x82b5cc28);
  u32(HDR32.NumberOfRuns, space.runs.length);
  u32(HDR32.NumberOfPages, runPages(space));
  space.runs.forEach((r, k) => {
    u32(HDR32.Runs + 8 * k, r.basePage);
    u32(HDR32.Runs + 8 * k + 4, r.pageCount);
  });
  u32(HDR32.DumpType, dumpType);
  v.setBigUint64(HDR32.RequiredDumpSpace, BigInt(size), true);
  v.setBigUint64(HDR32.SystemUpTime, o.systemUpTime ?? 36_000_000_000n, true);
  v.setBigUint64(HDR32.SystemTime, dateToFiletime(o.systemTime ?? new Date(Date.UTC(2011, 0, 2, 3, 4, 5))), true);
  if (o.comment !== undefined) {
    b.fill(0, HDR32.Comment, HDR32.Comment + 128);
    b.set(Buffer.from(o.comment.slice(0, 127), 'latin1'), HDR32.Comment);
  }
  return b;
}

/** DumpType 1: every page of every run, run after run, from 0x1000. */
export function writeFullDump32(space: X86Space, options: Dump32HeaderOptions = HEADER32): SerialisedImage {
  const size = HDR32.Size + runPages(space) * PAGE_SIZE;
  const chunks = [{ offset: 0, bytes: header32(space, 1, size, options) }];
  let filePage = 0;
  for (const r of space.runs) {
    for (const [pfn, bytes] of space.frames) {
      if (pfn >= r.basePage && pfn < r.basePage + r.pageCount) chunks.push({ offset: HDR32.Size + (filePage + pfn - r.basePage) * PAGE_SIZE, bytes });
    }
    filePage += r.pageCount;
  }
  return new SerialisedImage(size, chunks);
}

/** DumpType 5 (SDMP): the frames with content, in PFN order from FirstPage. */
export function writeBitmapDump32(space: X86Space, options: Dump32HeaderOptions = HEADER32): SerialisedImage {
  const bits = space.physicalPages;
  const bitmap = new Uint8Array(Math.ceil(bits / 8));
  const stored = [...space.frames.keys()].filter((p) => p < bits && inRuns(space, p)).sort((a, b) => a - b);
  for (const p of stored) bitmap[p >>> 3]! |= 1 << (p & 7);
  const firstPage = Math.ceil((BMP32.Bitmap + bitmap.length) / PAGE_SIZE) * PAGE_SIZE;
  const size = firstPage + stored.length * PAGE_SIZE;
  const bh = new Uint8Array(BMP32.Bitmap - BMP32.Signature);
  const v = new DataView(bh.buffer);
  bh.set(Buffer.from('SDMPDUMP', 'latin1'), 0);
  v.setBigUint64(BMP32.FirstPage - BMP32.Signature, BigInt(firstPage), true);
  v.setBigUint64(BMP32.TotalPresentPages - BMP32.Signature, BigInt(stored.length), true);
  v.setBigUint64(BMP32.Pages - BMP32.Signature, BigInt(bits), true);
  const chunks = [
    { offset: 0, bytes: header32(space, 5, size, options) },
    { offset: BMP32.Signature, bytes: bh },
    { offset: BMP32.Bitmap, bytes: bitmap },
    ...stored.map((pfn, i) => ({ offset: firstPage + i * PAGE_SIZE, bytes: space.frames.get(pfn)! })),
  ];
  return new SerialisedImage(size, chunks);
}

/** A raw physical image of the space's frames (file offset = physical address). */
export function writeRawPhysical32(space: X86Space): SerialisedImage {
  const chunks = [...space.frames].filter(([pfn]) => pfn < space.physicalPages).map(([pfn, bytes]) => ({ offset: pfn * PAGE_SIZE, bytes }));
  return new SerialisedImage(space.physicalPages * PAGE_SIZE, chunks);
}

export interface PlacedX86Tree {
  readonly name: string;
  readonly root: number;
  readonly bytes: Uint8Array;
  readonly options: DecodeOptions;
  readonly large: boolean;
}

/** 32-bit kernel addresses for a 64-bit fixture's pointers: the low 32 bits with bit 31 set. */
function to32(value: unknown): unknown {
  if (typeof value === 'string') {
    const m = /^0xffff[0-9a-f]{4}([0-9a-f]{8})$/.exec(value);
    return m ? `0x${((parseInt(m[1]!, 16) | 0x80000000) >>> 0).toString(16)}` : value;
  }
  if (Array.isArray(value)) return value.map(to32);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, to32(v)]));
  return value;
}

/**
 * An x86 fixture encoded at `root` (default its base + 0xfe0, so that its first block straddles a
 * page boundary). `large-x64` is taken as an x86 tree too: the same document, encoded with the
 * x86 ABI (its pointers cut to 32-bit kernel addresses), about 190 blocks over many pages.
 */
export function placeX86Tree(name: string, root?: number, large = false): PlacedX86Tree {
  let d = readDescription(name);
  if (d.abi !== 'x86') d = { ...(to32(d) as typeof d), abi: 'x86', decodeOptions: { ...d.decodeOptions, abi: 'x86' } };
  const at = root ?? Number(BigInt(d.base!)) + 0xfe0;
  const { bytes } = buildFixture({ ...d, base: `0x${at.toString(16)}` });
  return { name, root: at, bytes, options: decodeOptionsOf(d), large };
}

export const regionDoc32 = (t: PlacedX86Tree): TreeDocument => decodeTree(SegmentImage.region(t.bytes, BigInt(t.root)), BigInt(t.root), t.options);

/** The trees of the x86 suites: 4 KiB pages, one on a large page, and a big one straddling many pages. */
export function x86Trees(): PlacedX86Tree[] {
  return [
    placeX86Tree('initiate-x86'),
    placeX86Tree('ipv6-x86', 0x8b000fe0, true),
    placeX86Tree('large-x64', 0x9c300fe0),
  ];
}

export const x86Regions = (trees: readonly PlacedX86Tree[]): X86Region[] => trees.map((t) => ({ address: t.root, bytes: t.bytes, large: t.large }));

/** fixtures/initiate-x86-pae.dmp: the bundled 32-bit sample (scripts/x86-fixture.ts writes it). */
export const SAMPLE_DUMP32 = { file: 'fixtures/initiate-x86-pae.dmp', root: 0x8a400fe0 } as const;

/**
 * A PAE bitmap dump holding the initiate-x86 tree at SAMPLE_DUMP32.root: its first block straddles
 * two pages whose frames lie far apart, the second page is mapped by a transition PTE, the PDPT
 * sits at a 32-byte slot in the middle of its frame.
 */
export function buildSampleDump32(): Uint8Array {
  const tree = placeX86Tree('initiate-x86', SAMPLE_DUMP32.root);
  const space = buildX86Space(x86Regions([tree]), { paging: 'pae', scatter: 7, transition: [((SAMPLE_DUMP32.root & ~0xfff) >>> 0) + 0x1000], selfMap: true });
  return writeBitmapDump32(space).toBytes();
}
