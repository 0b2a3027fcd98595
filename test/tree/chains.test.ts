/**
 * BlockChains, the nested-loop cursor: it visits what decodeTree and TreeWalker visit, reads state
 * where they find it, and refuses what TreeWalker refuses (a root or link outside the segment, a
 * cycle past the segment's capacity, maxBlocks), with errors that name the member and the block.
 * The hostile property (random link mutations, truncations) is in test/fuzz/hostile.property.test.ts.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildAddressSpace, writeRawPhysical } from '../../src/codec/dump-writer.js';
import { PagedImage } from '../../src/codec/paged.js';
import { BufferSource, RawPhysicalMemory } from '../../src/codec/physical.js';
import {
  AddressError,
  BlockChains,
  SegmentImage,
  UsageError,
  WalkError,
  X64,
  X86,
  decodeTree,
  encodeTree,
  layoutOf,
  viewsFor,
  type BlockJson,
  type MemoryImage,
} from '../../src/index.js';
import { fcParams, treeCaseArb, type TreeCase } from '../support/arbitraries.js';
import { STATE_PROBE, chainsTrace, walkerTrace } from '../support/chain-walks.js';
import { errorOf } from '../support/errors.js';

const BASE = 0xffffc70a12340000n;
const sample = (): Uint8Array => new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
const off = (name: string): number => block.fields.find((f) => f.name === name)!.offset;
const setPtr = (bytes: Uint8Array, at: number, v: bigint): void => new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(at, v, true);

/** What decodeTree finds, in the traces' form: every block in pre-order with its state probe. */
function decodedTrace(image: MemoryImage, root: bigint, length: number, abi = X64): string[] {
  const size = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi).size;
  const out: string[] = [];
  const visit = (bs: readonly BlockJson[], layer: number): void => {
    for (const b of bs) {
      const state = b.offset! + size + STATE_PROBE <= length ? b.offset! + size : -1;
      out.push(`${layer}:0x${BigInt(b.address).toString(16)}:${state}`);
      visit(b.dependents, layer + 1);
    }
  };
  visit(decodeTree(image, root, { abi }).blocks, 0);
  return out;
}

/** The first TCP block of the walk, through BlockChains. */
const firstTcp = (c: BlockChains, root: bigint): number => c.dependents(c.dependents(c.root(root)));

describe('BlockChains on valid trees', () => {
  it('visits the blocks decodeTree and TreeWalker visit, in their order, with their state offsets (both ABIs, every shape)', () => {
    fc.assert(
      fc.property(treeCaseArb(), (tc: TreeCase) => {
        const enc = encodeTree(JSON.parse(JSON.stringify(tc.doc)));
        const image = SegmentImage.region(enc.bytes, enc.base);
        const chains = chainsTrace(image, enc.root, tc.abi);
        expect(chains.error).toBeUndefined();
        expect(chains.blocks).toEqual(decodedTrace(image, enc.root, enc.bytes.length, tc.abi));
        expect(chains).toEqual(walkerTrace(image, enc.root, tc.abi));
      }),
      fcParams({ numRuns: 120 }),
    );
  });

  it('reads the state through a view at the offsets it gives: the ports decodeTree decodes', () => {
    const bytes = sample();
    const image = SegmentImage.region(bytes, BASE);
    const V = viewsFor(X64);
    const tcp = new V.TCP_OFFLOAD_STATE_CONST();
    const c = new BlockChains(image, { abi: X64 });
    const got = new Map<number, number[]>();
    for (let n = c.root(BASE); n >= 0; n = c.next(n))
      for (let p = c.dependents(n); p >= 0; p = c.next(p))
        for (let t = c.dependents(p); t >= 0; t = c.next(t)) {
          const at = c.stateAt(t, V.TCP_OFFLOAD_STATE_CONST.size);
          expect(at).toBe(t + block.size);
          got.set(t, [tcp.at(c.view, at).LocalPort, tcp.RemotePort]);
        }
    // The TCP blocks that carry state (placeholders do not): their ports as decodeTree decodes them.
    const want = new Map<number, number[]>();
    for (const n of decodeTree(image, BASE).blocks)
      for (const p of n.dependents)
        for (const t of p.dependents) {
          const s = (t.state as Record<string, Record<string, number>> | undefined)?.TCP_OFFLOAD_STATE_CONST;
          if (s) want.set(t.offset!, [s.LocalPort!, s.RemotePort!]);
        }
    expect(want.size).toBeGreaterThan(1);
    for (const [t, ports] of want) expect(got.get(t), `TCP block at offset ${t}`).toEqual(ports);
    expect(c.blocks).toBe(10); // the whole sample, root included
    expect(c.base).toBe(BASE);
  });

  it('walks an x86 tree (4-byte pointers: the next member is not read as a high half)', () => {
    const bytes = new Uint8Array(readFileSync('fixtures/initiate-x86.bin'));
    const doc = JSON.parse(readFileSync('fixtures/initiate-x86.json', 'utf8')) as { base: string };
    const base = BigInt(doc.base);
    const image = SegmentImage.region(bytes, base);
    const trace = chainsTrace(image, base, X86);
    expect(trace.error).toBeUndefined();
    expect(trace.blocks.length).toBeGreaterThan(3);
    expect(trace.blocks).toEqual(decodedTrace(image, base, bytes.length, X86));
    // The x86 block is smaller: its offsets are not the x64 ones.
    const c = new BlockChains(image, { abi: X86 });
    expect(c.blockSize).toBe(layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X86).size);
    expect(c.blockSize).toBeLessThan(block.size);
  });

  it('a NULL root walks nothing; an empty dependents list or a NULL NextBlock is -1', () => {
    const c = new BlockChains(SegmentImage.region(sample(), BASE));
    expect(c.root(0n)).toBe(-1);
    const t = firstTcp(c, BASE);
    expect(t).toBeGreaterThan(0);
    // A TCP block's DependentBlockList is NULL in a valid tree (the caller does not follow it).
    expect(c.dependents(t)).toBe(-1);
  });

  it('finds the root in any segment of a segment image and walks there; block offsets are in that segment', () => {
    const bytes = sample();
    const lowBytes = new Uint8Array(4096).fill(0xcc);
    const image = new SegmentImage([{ base: 0x10000n, bytes: lowBytes }, { base: BASE, bytes }]);
    const c = new BlockChains(image);
    expect(c.base).toBe(0x10000n); // the first segment until a root says otherwise
    expect(c.root(BASE)).toBe(0);
    expect(c.base).toBe(BASE);
    expect(c.view.byteLength).toBe(bytes.length);
    expect(chainsTrace(image, BASE, X64)).toEqual(walkerTrace(image, BASE, X64));
    expect(chainsTrace(image, BASE, X64).blocks.length).toBe(10);
  });

  it('stateAt is -1 when the capture ends inside the state', () => {
    const bytes = sample();
    const image = SegmentImage.region(bytes, BASE);
    const c = new BlockChains(image);
    const n = c.root(BASE);
    expect(c.stateAt(n, bytes.length - block.size)).toBe(block.size);
    expect(c.stateAt(n, bytes.length - block.size + 1)).toBe(-1);
    // A capture cut right after the root block: its state is not there.
    const cut = new BlockChains(SegmentImage.region(bytes.subarray(0, block.size), BASE));
    expect(cut.stateAt(cut.root(BASE), 1)).toBe(-1);
  });
});

describe('BlockChains refuses what TreeWalker refuses', () => {
  it('a root outside the image: AddressError at the root', () => {
    const c = new BlockChains(SegmentImage.region(sample(), BASE));
    const e = errorOf(() => c.root(0xffff800000000000n));
    expect(e).toBeInstanceOf(AddressError);
    expect(e).toMatchObject({ address: 0xffff800000000000n, path: 'root', size: block.size });
    // A root whose block would run past the end.
    const bytes = sample();
    expect(errorOf(() => c.root(BASE + BigInt(bytes.length - block.size + 1)))).toBeInstanceOf(AddressError);
    expect(c.root(BASE + BigInt(bytes.length - block.size))).toBe(bytes.length - block.size);
  });

  it('a link outside the segment: AddressError naming the member, the block (address and offset) and the blocks before it', () => {
    const bytes = sample();
    const image = SegmentImage.region(bytes, BASE);
    const t = firstTcp(new BlockChains(image), BASE);
    setPtr(bytes, t + off('NextBlock'), BASE + 0x100000n);
    const c = new BlockChains(image);
    const e = errorOf(() => {
      for (let x = firstTcp(c, BASE); x >= 0; x = c.next(x));
    }) as AddressError;
    expect(e).toBeInstanceOf(AddressError);
    expect(e.address).toBe(BASE + 0x100000n);
    expect(e.path).toBe(`NextBlock of the block at 0x${(BASE + BigInt(t)).toString(16)} (offset 0x${t.toString(16)}, after 3 blocks)`);
    expect(e.message).toContain('outside the captured memory');
    expect(walkerTrace(image, BASE, X64).error).toBe(`AddressError 0x${(BASE + 0x100000n).toString(16)}`);

    // DependentBlockList of the root, past the end by one byte.
    const bytes2 = sample();
    setPtr(bytes2, off('DependentBlockList'), BASE + BigInt(bytes2.length - block.size + 1));
    const c2 = new BlockChains(SegmentImage.region(bytes2, BASE));
    const e2 = errorOf(() => c2.dependents(c2.root(BASE))) as AddressError;
    expect(e2.path).toBe(`DependentBlockList of the block at 0x${BASE.toString(16)} (offset 0x0, after 1 blocks)`);
  });

  it('a link into another segment: AddressError saying so (TreeWalker follows it)', () => {
    const bytes = sample();
    const other = 0xffffc70a20000000n;
    const image = new SegmentImage([{ base: BASE, bytes }, { base: other, bytes: sample() }]);
    setPtr(bytes, off('NextBlock'), other);
    const c = new BlockChains(image);
    const e = errorOf(() => c.next(c.root(BASE))) as AddressError;
    expect(e).toBeInstanceOf(AddressError);
    expect(e.address).toBe(other);
    expect(e.message).toContain('is in another segment than the root');
    // TreeWalker follows the link into the other segment.
    expect(walkerTrace(image, BASE, X64).blocks).toContain(`0:0x${other.toString(16)}:${block.size}`);
  });

  it('a self-loop: WalkError(revisit) within the segment\'s capacity, as TreeWalker', () => {
    const bytes = sample();
    setPtr(bytes, off('NextBlock'), BASE); // the root's NextBlock back to the root
    const image = SegmentImage.region(bytes, BASE);
    const capacity = Math.floor(bytes.length / block.size);
    const trace = chainsTrace(image, BASE, X64);
    // The walk goes round the loop until the bound: the block it refuses is wherever that falls.
    expect(trace.error).toMatch(new RegExp(`^WalkError revisit 0x[0-9a-f]+ after ${capacity}$`));
    expect(trace.blocks.length).toBe(capacity);
    expect(trace).toEqual(walkerTrace(image, BASE, X64));
    const c = new BlockChains(image);
    const e = errorOf(() => {
      for (let n = c.root(BASE); n >= 0; n = c.next(n));
    }) as WalkError;
    expect(e).toBeInstanceOf(WalkError);
    expect([e.reason, e.code, e.blocks]).toEqual(['revisit', 'CYCLE', capacity]);
    expect(e.message).toContain(`more blocks than the segment can hold (${capacity})`);
    // root() starts a new walk: the count starts again.
    expect(c.root(BASE)).toBe(0);
    expect(c.blocks).toBe(1);
  });

  it('maxBlocks: WalkError(limit) past it, the same as TreeWalker\'s; above the capacity the capacity bounds the walk', () => {
    const image = SegmentImage.region(sample(), BASE);
    const trace = chainsTrace(image, BASE, X64, 4);
    expect(trace.blocks.length).toBe(4);
    expect(trace.error).toMatch(/^WalkError limit 0x[0-9a-f]+ after 4$/);
    expect(trace).toEqual(walkerTrace(image, BASE, X64, 4));
    expect(chainsTrace(image, BASE, X64, 10).error).toBeUndefined();
    expect(chainsTrace(image, BASE, X64, 9).error).toMatch(/^WalkError limit .* after 9$/);
    const loop = sample();
    setPtr(loop, off('NextBlock'), BASE);
    const big = chainsTrace(SegmentImage.region(loop, BASE), BASE, X64, 1 << 30);
    expect(big.error).toMatch(/^WalkError revisit /);
  });

  it('next() before root() is a UsageError, not a walk of nothing', () => {
    const c = new BlockChains(SegmentImage.region(sample(), BASE));
    expect(errorOf(() => c.next(0))).toBeInstanceOf(UsageError);
  });

  it('an image without segments (a crash dump\'s pages) is a UsageError that points to TreeWalker', () => {
    const bytes = sample();
    const space = buildAddressSpace([{ address: BASE, bytes }], { scatter: 3 });
    const paged = new PagedImage(new RawPhysicalMemory(new BufferSource(writeRawPhysical(space).toBytes())), space.dtb);
    const e = errorOf(() => new BlockChains(paged));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain('use TreeWalker');
  });
});
