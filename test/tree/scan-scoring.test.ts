/**
 * scanImage on small crafted images: trees encoded with the library's own encoder at chosen
 * offsets of a zero-filled capture, some of their words patched to make the cases scan must judge.
 * Every expectation is the whole candidate list: which roots, how many blocks per layer and role,
 * the score and the order.
 *
 * Scoring (src/tree/scan.ts): each block reached from a root scores 1, +2 when it is a new offload
 * followed by a Header.Length its Type's first state structure has (either NDIS revision), +1 when
 * its Type belongs to the layer it is found at; -2 for every link to something that is not a
 * candidate block or to a block already counted, and for a TCP block with dependents. Roots are
 * ranked by score, then blocks, then address.
 */
import { describe, expect, it } from 'vitest';
import { buildAddressSpace, writeRawPhysical } from '../../src/codec/dump-writer.js';
import { PagedImage } from '../../src/codec/paged.js';
import { RawPhysicalMemory } from '../../src/codec/physical.js';
import { SegmentImage, X64, X86, encodeTree, layoutOf, scanImage, type Abi, type BlockInput, type ScanCandidate } from '../../src/index.js';

const K = 0xffffc70a00000000n;

/** Offsets of the block list members the tests patch. */
function fieldsOf(abi: Abi): { type: number; size: number; next: number; dep: number; ctx: number; block: number } {
  const l = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi);
  const at = (n: string): number => l.fields.find((f) => f.name === n)!.offset;
  return { type: 0, size: 2, next: at('NextBlock'), dep: at('DependentBlockList'), ctx: at('MiniportOffloadContext'), block: l.size };
}

/** A zero-filled capture at `base` with trees encoded at given offsets, and pointer patches. */
class Capture {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  readonly f: ReturnType<typeof fieldsOf>;
  constructor(
    size: number,
    readonly base = K,
    readonly abi: Abi = X64,
  ) {
    this.bytes = new Uint8Array(size);
    this.dv = new DataView(this.bytes.buffer);
    this.f = fieldsOf(abi);
  }
  /** Encodes `blocks` (a top-level list) at `offset`; returns the address of its root. */
  put(offset: number, blocks: BlockInput[]): bigint {
    const e = encodeTree({ abi: this.abi.name, blocks }, { base: this.base + BigInt(offset) });
    this.bytes.set(e.bytes, offset);
    return e.root;
  }
  /** Writes a pointer member of the block at `offset`. */
  link(offset: number, member: 'next' | 'dep' | 'ctx', to: bigint): void {
    const at = offset + this.f[member];
    if (this.abi.pointerSize === 8) this.dv.setBigUint64(at, to, true);
    else this.dv.setUint32(at, Number(to), true);
  }
  read(offset: number, member: 'next' | 'dep' | 'ctx'): bigint {
    const at = offset + this.f[member];
    return this.abi.pointerSize === 8 ? this.dv.getBigUint64(at, true) : BigInt(this.dv.getUint32(at, true));
  }
  image(): SegmentImage {
    return SegmentImage.region(this.bytes, this.base);
  }
}

type Counts = [neighbor: number, path: number, tcp: number];
type RoleCounts = [placeholder: number, linker: number, newOffload: number];
const cand = (address: bigint, score: number, layers: Counts, roles: RoleCounts): ScanCandidate => ({
  address,
  blocks: layers[0] + layers[1] + layers[2],
  layers: { neighbor: layers[0], path: layers[1], tcp: layers[2] },
  roles: { placeholder: roles[0], linker: roles[1], 'new-offload': roles[2] },
  score,
});

/** A fresh object each time: the encoder places one block object met twice at one address. */
const ph = (): BlockInput => ({ role: 'placeholder' });
const NEIGHBOR_LINKER: BlockInput = { role: 'linker', type: 'NeighborOffloadState' };
/** Neighbor linker → new IPv4 path (state, addresses) → [TCP placeholder, new TCP offload with its const state]. */
const FOUR_BLOCKS: BlockInput[] = [
  {
    ...NEIGHBOR_LINKER,
    dependents: [
      {
        role: 'new-offload',
        type: 'Ip4OffloadState',
        state: {
          PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': '10.0.0.1', '*DestinationAddress': '10.0.0.2' },
          PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1500 },
          PATH_OFFLOAD_STATE_DELEGATED: {},
        },
        dependents: [ph(), { role: 'new-offload', type: 'TcpOffloadConstState', state: { TCP_OFFLOAD_STATE_CONST: {} } }],
      },
    ],
  },
];
// linker at its layer 1+1, new path with a matching Length 1+2+1, placeholder (Type 0) 1, new TCP 1+2+1.
const FOUR_BLOCKS_SCORE = 11;

describe('scan: scores and ranking', () => {
  it('ranks by score, then by block count, then by address', () => {
    const c = new Capture(0x5000);
    const e = c.put(0x0000, [NEIGHBOR_LINKER]); // 1 + 1 (Type of its layer)
    const cc = c.put(0x1000, [NEIGHBOR_LINKER]); // the same, at a higher address
    const d = c.put(0x2000, [ph(), ph()]); // two untyped placeholders: 1 + 1
    // A new TCP offload found at the neighbor layer: its Length matches (+2), its Type does not fit the layer.
    const b = c.put(0x3000, [{ role: 'new-offload', type: 'TcpOffloadConstState', state: { TCP_OFFLOAD_STATE_CONST: {} } }]);
    const a = c.put(0x4000, FOUR_BLOCKS);
    expect(scanImage(c.image())).toEqual([
      cand(a, FOUR_BLOCKS_SCORE, [1, 1, 2], [1, 1, 2]),
      cand(b, 3, [1, 0, 0], [0, 0, 1]),
      cand(d, 2, [2, 0, 0], [2, 0, 0]),
      cand(e, 2, [1, 0, 0], [0, 1, 0]),
      cand(cc, 2, [1, 0, 0], [0, 1, 0]),
    ]);
  });

  it('gives the state bonus only to new offloads followed by a Length of their Type, either NDIS revision', () => {
    const c = new Capture(0x1000);
    const konst = { NEIGHBOR_OFFLOAD_STATE_CONST: {} };
    const n1 = c.put(0x000, [{ role: 'new-offload', type: 'NeighborOffloadConstState', state: konst }]);
    // A linker carrying its state (as in a query): the Length matches, but only new offloads earn the bonus.
    const n2 = c.put(0x200, [{ role: 'linker', type: 'NeighborOffloadConstState', state: konst }]);
    // A new offload whose Length is not the structure's.
    const n3 = c.put(0x400, [{ role: 'new-offload', type: 'NeighborOffloadConstState', state: { NEIGHBOR_OFFLOAD_STATE_CONST: { Header: { Length: 45 } } } }]);
    // TCP delegated state with the NDIS 6.0 Length (120) in an x64 capture scanned without a revision.
    const n4 = c.put(0x600, [{ role: 'new-offload', type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { Header: { Length: 120 } } } }]);
    expect(c.dv.getUint32(0x600 + c.f.block, true)).toBe(120);
    expect(c.dv.getUint32(0x400 + c.f.block, true)).toBe(45);
    expect(scanImage(c.image())).toEqual([
      cand(n1, 4, [1, 0, 0], [0, 0, 1]),
      cand(n4, 3, [1, 0, 0], [0, 0, 1]),
      cand(n2, 2, [1, 0, 0], [0, 1, 0]),
      cand(n3, 2, [1, 0, 0], [0, 0, 1]),
    ]);
  });

  it('takes 2 off for a link to no block, a TCP block with dependents, a loop and a block another root counted', () => {
    const c = new Capture(0x4000);
    const f = c.f;
    // A linker whose NextBlock is aligned and in the capture, but zeros are there: 2 - 2.
    const p1 = c.put(0x0000, [NEIGHBOR_LINKER]);
    c.link(0x0000, 'next', K + 0x800n);
    // neighbor → path → TCP placeholders; the TCP block's DependentBlockList points at a valid block.
    const p2 = c.put(0x1000, [{ role: 'placeholder', dependents: [{ role: 'placeholder', dependents: [ph()] }] }]);
    const q = c.put(0x1800, [ph()]);
    const tcpAt = Number(c.read(Number(c.read(0x1000, 'dep') - K), 'dep') - K);
    expect(tcpAt).toBe(0x1000 + 2 * f.block);
    c.link(tcpAt, 'dep', q);
    // A linker followed by a placeholder whose NextBlock points at itself.
    const p3 = c.put(0x2000, [NEIGHBOR_LINKER, ph()]);
    const loopAt = Number(c.read(0x2000, 'next') - K);
    c.link(loopAt, 'next', K + BigInt(loopAt));
    // Two roots sharing one path block: the lower one counts it, the higher one loses 2.
    const s1 = c.put(0x3000, [{ role: 'placeholder', dependents: [ph()] }]);
    const s2 = c.put(0x3800, [ph()]);
    c.link(0x3800, 'dep', c.read(0x3000, 'dep'));
    expect(scanImage(c.image())).toEqual([
      cand(s1, 2, [1, 1, 0], [2, 0, 0]),
      cand(p2, 3 - 2, [1, 1, 1], [3, 0, 0]), // q is not counted, nor a root: a TCP block points to it
      cand(p3, 2 + 1 - 2, [2, 0, 0], [1, 1, 0]),
      cand(p1, 2 - 2, [1, 0, 0], [0, 1, 0]),
      cand(s2, 1 - 2, [1, 0, 0], [1, 0, 0]),
    ]);
  });

  it('rejects blocks whose links are outside the capture or misaligned, and typed blocks of no layer', () => {
    const c = new Capture(0x1000);
    const ok = c.put(0x000, [ph()]);
    const far = K + 0x10000000n;
    c.put(0x100, [ph()]);
    c.link(0x100, 'next', far);
    c.put(0x200, [ph()]);
    c.link(0x200, 'next', K + 0xf04n); // inside, not 8-aligned
    c.put(0x300, [ph()]);
    c.link(0x300, 'dep', far);
    c.put(0x400, [ph()]);
    c.link(0x400, 'dep', K + 0xf04n);
    c.put(0x500, [NEIGHBOR_LINKER]);
    c.link(0x500, 'ctx', far);
    c.put(0x600, [NEIGHBOR_LINKER]);
    c.link(0x600, 'ctx', c.read(0x600, 'ctx') + 4n); // the cell, misaligned
    c.put(0x700, [NEIGHBOR_LINKER]);
    c.bytes[0x700 + c.f.type] = 99; // no such OFFLOAD_STATE_TYPE
    c.put(0x800, [NEIGHBOR_LINKER]);
    c.bytes[0x800 + c.f.type] = 0xfe; // FilterReservedOffloadState: no layer
    c.put(0x900, [{ role: 'new-offload', state: { NEIGHBOR_OFFLOAD_STATE_CONST: {} }, type: 'NeighborOffloadConstState' }]);
    c.bytes[0x900 + c.f.type] = 0; // a new offload of Type 0
    c.put(0xa00, [ph()]);
    c.dv.setUint16(0xa00 + c.f.size, c.f.block + 8, true); // Header.Size of no ABI
    expect(scanImage(c.image())).toEqual([cand(ok, 1, [1, 0, 0], [1, 0, 0])]);
  });
});

describe('scan: where it looks', () => {
  it('finds blocks straddling a page, in a last partial page, and stops at the end of a capture of odd length', () => {
    const c = new Capture(0x1802);
    const straddling = c.put(0xf80, [NEIGHBOR_LINKER]);
    const tree = c.put(0x1400, FOUR_BLOCKS);
    expect(scanImage(c.image())).toEqual([cand(tree, FOUR_BLOCKS_SCORE, [1, 1, 2], [1, 1, 2]), cand(straddling, 2, [1, 0, 0], [0, 1, 0])]);
  });

  it('finds the same blocks whether the capture starts at an even or an odd byte of its buffer (Header.Size read as a word or through the DataView)', () => {
    for (const abi of [X64, X86]) {
      const c = new Capture(0x3003, abi === X86 ? 0x80000000n : K, abi);
      c.put(0xf80, [NEIGHBOR_LINKER]); // straddles the first page
      c.put(0x1400, FOUR_BLOCKS);
      c.put(0x2f40, [NEIGHBOR_LINKER]); // straddles into the last, partial page
      const want = scanImage(c.image(), { abi });
      expect(want.length).toBe(3);
      for (const shift of [1, 2, 3]) {
        const buffer = new Uint8Array(c.bytes.length + shift);
        buffer.set(c.bytes, shift);
        expect(scanImage(SegmentImage.region(buffer.subarray(shift), c.base), { abi }), `${abi.name}, bytes at offset ${shift}`).toEqual(want);
      }
    }
  });

  it('x86: a block whose Header ends exactly at a page end, found at 4-byte alignment', () => {
    const base = 0x80000000n;
    const c = new Capture(0x2000, base, X86);
    const at = c.put(0xffc, [NEIGHBOR_LINKER]);
    const tree = c.put(0x1400, FOUR_BLOCKS);
    expect(scanImage(c.image(), { abi: X86 })).toEqual([
      cand(tree, FOUR_BLOCKS_SCORE, [1, 1, 2], [1, 1, 2]),
      cand(at, 2, [1, 0, 0], [0, 1, 0]),
    ]);
  });

  it('a region in the user half of an x64 address space is scanned whole by default', () => {
    const c = new Capture(0x1000, 0x10000n);
    const at = c.put(0x100, FOUR_BLOCKS);
    expect(scanImage(c.image())).toEqual([cand(at, FOUR_BLOCKS_SCORE, [1, 1, 2], [1, 1, 2])]);
  });

  it('paged x64 images: the kernel half only by default (from 0xffff800000000000 on), all with kernelOnly false', () => {
    const tree = (address: bigint, abi: Abi = X64): Uint8Array => encodeTree({ abi: abi.name, blocks: FOUR_BLOCKS }, { base: address }).bytes;
    const kernel = 0xffff800000000000n;
    const user = 0x10000n;
    const x86 = 0x80000000n; // an x86 kernel address: in the user half of an x64 space
    const space = buildAddressSpace([
      { address: user, bytes: tree(user) },
      { address: x86, bytes: tree(x86, X86) },
      { address: kernel, bytes: tree(kernel) },
    ]);
    const image = new PagedImage(RawPhysicalMemory.fromBytes(writeRawPhysical(space).toBytes()), space.dtb, { userHalf: true });
    expect([...image.ranges()].map((r) => r.address)).toEqual([user, x86, kernel]);
    const four = (a: bigint): ScanCandidate => cand(a, FOUR_BLOCKS_SCORE, [1, 1, 2], [1, 1, 2]);
    expect(scanImage(image)).toEqual([four(kernel)]);
    expect(scanImage(image, { kernelOnly: false })).toEqual([four(user), four(kernel)]);
    expect(scanImage(image, { kernelOnly: true })).toEqual([four(kernel)]);
    // The default is for 64-bit trees: scanning for x86 blocks looks everywhere.
    expect(scanImage(image, { abi: X86 })).toEqual([four(x86)]);
    expect(scanImage(image, { abi: X86, kernelOnly: true })).toEqual([]);
  });

  it('keeps at most maxCandidates candidates, the first in address order', () => {
    const c = new Capture(0x1000);
    const roots = [0, 1, 2, 3, 4].map((i) => c.put(i * 0x100, [ph()]));
    const one = (a: bigint): ScanCandidate => cand(a, 1, [1, 0, 0], [1, 0, 0]);
    expect(scanImage(c.image())).toEqual(roots.map(one));
    expect(scanImage(c.image(), { maxCandidates: 3 })).toEqual(roots.slice(0, 3).map(one));
    expect(scanImage(c.image(), { maxCandidates: 1 })).toEqual([one(roots[0]!)]);
  });

  it('maxCandidates bounds the whole image, not each page', () => {
    const c = new Capture(0x4000);
    const roots = [0, 1, 2, 3].map((i) => c.put(i * 0x1000, [ph()]));
    const one = (a: bigint): ScanCandidate => cand(a, 1, [1, 0, 0], [1, 0, 0]);
    expect(scanImage(c.image())).toEqual(roots.map(one));
    expect(scanImage(c.image(), { maxCandidates: 1 })).toEqual([one(roots[0]!)]);
    expect(scanImage(c.image(), { maxCandidates: 2 })).toEqual(roots.slice(0, 2).map(one));
    for (const bad of [0, -1, Number.NaN]) {
      expect(() => scanImage(c.image(), { maxCandidates: bad })).toThrow(`maxCandidates must be at least 1, not ${bad}`);
    }
  });

  it('reports progress every 16 MiB scanned and once at the end, over all ranges', () => {
    const MiB = 1 << 20;
    const image = new SegmentImage([
      { base: K, bytes: new Uint8Array(16 * MiB) },
      { base: K + 0x10000000n, bytes: new Uint8Array(MiB + 0x800) },
    ]);
    const total = 17 * MiB + 0x800;
    const calls: [number, number][] = [];
    expect(scanImage(image, { progress: (done, n) => calls.push([done, n]) })).toEqual([]);
    expect(calls).toEqual([
      [16 * MiB, total],
      [total, total],
    ]);
    expect(scanImage(image)).toEqual([]); // no callback: nothing to call
    const small: [number, number][] = [];
    scanImage(SegmentImage.region(new Uint8Array(0x1234), K), { progress: (done, n) => small.push([done, n]) });
    expect(small).toEqual([[0x1234, 0x1234]]);
  });
});
