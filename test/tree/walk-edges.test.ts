/**
 * TreeWalker where the common case does not go: paged images (no segment cache, blocks gathered
 * across pages, the exact mode's hash of visited addresses), addresses that carry across 2^32,
 * locateAfter/stateAt past the segment, visitedAt, one walker reused across images, and the
 * errors' reasons and messages. Mutation testing found these unasserted.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildAddressSpace, writeRawPhysical } from '../../src/codec/dump-writer.js';
import { PagedImage } from '../../src/codec/paged.js';
import { BufferSource, RawPhysicalMemory } from '../../src/codec/physical.js';
import {
  ExactTreeWalker,
  Location,
  SegmentImage,
  TreeWalker,
  VisitedBlocks,
  WalkError,
  X64,
  decodeTree,
  encodeTree,
  layoutOf,
  type MemoryImage,
} from '../../src/index.js';
import { placeTree } from '../support/dump-trees.js';
import { errorOf } from '../support/errors.js';

const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
const SIZE = block.size;
const off = (name: string): number => block.fields.find((f) => f.name === name)!.offset;

/** A paged image (raw physical memory, frames scattered) holding `bytes` at `address`. */
function paged(address: bigint, bytes: Uint8Array): PagedImage {
  const space = buildAddressSpace([{ address, bytes }], { scatter: 5 });
  return new PagedImage(new RawPhysicalMemory(new BufferSource(writeRawPhysical(space).toBytes())), space.dtb);
}

/** Every block's address and layer, through `w`. */
function walk(w: TreeWalker, image: MemoryImage, root: bigint): string[] {
  const out: string[] = [];
  w.reset(image, root);
  while (w.next()) out.push(`${w.layer}:${w.address().toString(16)}`);
  return out;
}
const decoded = (image: MemoryImage, root: bigint): string[] => {
  const out: string[] = [];
  const visit = (bs: ReturnType<typeof decodeTree>['blocks'], layer: number): void => {
    for (const b of bs) {
      out.push(`${layer}:${BigInt(b.address).toString(16)}`);
      visit(b.dependents, layer + 1);
    }
  };
  visit(decodeTree(image, root).blocks, 0);
  return out;
};
describe('on a paged image', () => {
  // The sample at its base + 0xf80: the root straddles a page boundary, frames are scattered.
  const t = placeTree('sample-x64');
  const image = paged(t.root, t.bytes);
  const region = SegmentImage.region(t.bytes, t.root);

  it('visits what decodeTree visits, in both modes, gathering the blocks that straddle pages', () => {
    const want = decoded(region, t.root);
    expect(want.length).toBe(10);
    for (const w of [new TreeWalker(), new TreeWalker({ revisits: 'exact' })]) {
      expect(walk(w, image, t.root)).toEqual(want);
      w.reset(image, t.root);
      let gathered = 0;
      while (w.next()) {
        expect(w.segment).toBe(-1); // no segments: nothing to cache
        if (w.gathered) gathered++;
        // The block's bytes are the region's, whichever way they were found.
        expect(Buffer.from(new Uint8Array(w.view.buffer, w.view.byteOffset + w.offset, SIZE))).toEqual(Buffer.from(t.bytes.subarray(Number(w.address() - t.root), Number(w.address() - t.root) + SIZE)));
        const at = w.stateAt(8);
        expect(at).toBeGreaterThanOrEqual(0);
        const o = Number(w.address() - t.root) + SIZE;
        expect(w.stateView.getUint32(at, true)).toBe(new DataView(t.bytes.buffer, t.bytes.byteOffset).getUint32(o, true));
      }
      expect(gathered).toBe(1); // the root
    }
  });

  it('in exact mode refuses the second visit of a block through its hash of addresses; bound mode stops at maxBlocks', () => {
    const bytes = t.bytes.slice();
    // The root's NextBlock back to the root: a self-loop after its subtree.
    new DataView(bytes.buffer).setBigUint64(off('NextBlock'), t.root, true);
    const loop = paged(t.root, bytes);
    const n = decoded(SegmentImage.region(bytes, t.root), t.root).length;
    const exact = errorOf<WalkError>(() => walk(new TreeWalker({ revisits: 'exact' }), loop, t.root));
    expect(exact).toBeInstanceOf(WalkError);
    expect([exact.reason, exact.code, exact.address, exact.blocks]).toEqual(['revisit', 'CYCLE', t.root, n]);
    expect(exact.message).toContain('reached twice (a cycle or a shared block)');
    // No capacity to bound a paged walk: the limit does.
    const bound = new TreeWalker({ maxBlocks: 25 });
    const e = errorOf<WalkError>(() => walk(bound, loop, t.root));
    expect([e.reason, e.code, e.blocks]).toEqual(['limit', 'LIMIT_BLOCKS', 25]);
    expect(e.message).toMatch(/more than 25 blocks$/);
    // Reset forgets the visits: the same exact walker walks the intact tree again.
    const w = new TreeWalker({ revisits: 'exact' });
    expect(() => walk(w, loop, t.root)).toThrow(WalkError);
    expect(walk(w, image, t.root)).toEqual(decoded(region, t.root));
    expect(() => walk(w, loop, t.root)).toThrow(WalkError);
  });
});

describe('addresses across 2^32', () => {
  // An x64 tree whose blocks run from below 2^32 to above it.
  const base = 0x1_0000_0000n - 0x200n;
  const enc = encodeTree({
    base: `0x${base.toString(16)}`,
    blocks: [{ role: 'placeholder', dependents: [{ role: 'placeholder' }, { role: 'placeholder', dependents: [{ role: 'placeholder' }] }] }, { role: 'placeholder' }],
  });
  const image = SegmentImage.region(enc.bytes, base);

  it('lo, hi and address() of every block, and state located across the carry', () => {
    const want = decoded(image, base);
    const w = new TreeWalker();
    w.reset(image, base);
    const seen: string[] = [];
    while (w.next()) {
      const a = w.address();
      expect(w.lo).toBe(Number(a & 0xffffffffn));
      expect(w.hi).toBe(Number(a >> 32n));
      seen.push(`${w.layer}:${a.toString(16)}`);
      // locateAfter through the image (past the block) reads what the bytes hold there.
      const o = Number(a - base);
      for (const delta of [0, SIZE - 4, SIZE]) {
        const at = w.locateAfter(delta, 4);
        if (o + delta + 4 <= enc.bytes.length) expect(w.stateView.getUint32(at, true)).toBe(new DataView(enc.bytes.buffer).getUint32(o + delta, true));
        else expect(at).toBe(-1);
      }
    }
    expect(seen).toEqual(want);
    expect(seen.some((s) => BigInt(`0x${s.slice(2)}`) >= 0x1_0000_0000n)).toBe(true);
    expect(seen.some((s) => BigInt(`0x${s.slice(2)}`) < 0x1_0000_0000n)).toBe(true);
  });

  it('across two segments: the cache misses, locate() and inSegment() agree with the image', () => {
    const cut = SIZE * 2;
    const two = new SegmentImage([
      { base, bytes: enc.bytes.subarray(0, cut) },
      { base: base + BigInt(cut), bytes: enc.bytes.subarray(cut) },
    ]);
    const w = new TreeWalker();
    expect(walk(w, two, base)).toEqual(decoded(image, base));
    w.reset(two, base);
    const out = new Location();
    const viaImage = new Location();
    while (w.next()) {
      const lo = w.lo;
      const hi = w.hi;
      expect(w.segment).toBe(w.address() < base + BigInt(cut) ? 0 : 1);
      expect(w.inSegment(lo, hi, SIZE)).toBe(w.offset);
      // One byte past the segment's end is not in it; the walker's locate then asks the image.
      const end = w.segment === 0 ? base + BigInt(cut) : base + BigInt(enc.bytes.length);
      expect(w.inSegment(Number(end & 0xffffffffn), Number(end >> 32n), 1)).toBe(-1);
      for (const a of [w.address(), base, base + BigInt(cut), end - 1n, end]) {
        const got = w.locate(Number(a & 0xffffffffn), Number(a >> 32n), 1, out);
        expect(got).toBe(two.locate(a, 1, viaImage));
        if (got) expect(out.view.getUint8(out.offset)).toBe(viaImage.view.getUint8(viaImage.offset));
      }
    }
  });
});

describe('exact mode on a region', () => {
  const bytes = new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
  const root = 0xffffc70a12340000n;
  const image = SegmentImage.region(bytes, root);

  it('visitedAt: the slots of the blocks visited so far, nothing else', () => {
    const w = new ExactTreeWalker();
    w.reset(image, root);
    const visited: number[] = [];
    while (w.next()) {
      visited.push(w.offset);
      for (const o of visited) expect(w.visitedAt(o)).toBe(true);
      expect(w.visitedAt(w.offset + 8)).toBe(false); // a slot inside the block, never a block start here
      expect(w.visitedAt(w.offset + 4)).toBe(false); // not slot-aligned
      expect(w.visitedAt(-8)).toBe(false);
    }
    expect(visited.length).toBe(10);
  });

  it('checkVisits = false walks without the visited set (a cycle then ends only at the limit)', () => {
    const loop = bytes.slice();
    new DataView(loop.buffer).setBigUint64(off('NextBlock'), root, true);
    const w = new ExactTreeWalker({ maxBlocks: 40 });
    w.checkVisits = false;
    expect(errorOf<WalkError>(() => walk(w, SegmentImage.region(loop, root), root)).reason).toBe('limit');
    w.checkVisits = true;
    expect(errorOf<WalkError>(() => walk(w, SegmentImage.region(loop, root), root)).reason).toBe('revisit');
  });

  it('bound mode names the image capacity it stopped at', () => {
    const loop = bytes.slice();
    new DataView(loop.buffer).setBigUint64(off('NextBlock'), root, true);
    const e = errorOf<WalkError>(() => walk(new TreeWalker(), SegmentImage.region(loop, root), root));
    const capacity = Math.floor(bytes.length / SIZE);
    expect([e.reason, e.code, e.blocks]).toEqual(['revisit', 'CYCLE', capacity]);
    expect(e.message).toBe(
      `block at 0x${e.address.toString(16)} (after ${capacity} blocks): more blocks than the image can hold (${capacity}): a block reached twice (a cycle or a shared block) or blocks that overlap`,
    );
    // The block it refused is one of the tree's (the loop goes round the tree).
    expect(decoded(SegmentImage.region(loop, root), root).map((s) => BigInt(`0x${s.slice(2)}`))).toContain(e.address);
    // A maxBlocks below the capacity is the limit instead.
    expect(errorOf<WalkError>(() => walk(new TreeWalker({ maxBlocks: 3 }), SegmentImage.region(loop, root), root)).message).toMatch(/more than 3 blocks$/);
  });

  it('one walker over several images in turn: each walk is the image\'s own', () => {
    const t = placeTree('sample-x64');
    const pagedImage = paged(t.root, t.bytes);
    const small = encodeTree({ blocks: [{ role: 'placeholder' }, { role: 'placeholder' }] });
    const smallImage = SegmentImage.region(small.bytes, small.base);
    for (const w of [new TreeWalker(), new TreeWalker({ revisits: 'exact' })]) {
      for (let round = 0; round < 2; round++) {
        expect(walk(w, image, root)).toEqual(decoded(image, root));
        expect(walk(w, pagedImage, t.root)).toEqual(decoded(SegmentImage.region(t.bytes, t.root), t.root));
        expect(walk(w, smallImage, small.base)).toEqual(decoded(smallImage, small.base));
      }
    }
  });

  it('a root given at a layer walks from that layer; a NULL root or a layer past TCP walks nothing', () => {
    const w = new TreeWalker();
    const path = decodeTree(image, root).blocks[0]!.dependents[0]!;
    w.reset(image, BigInt(path.address), 1);
    expect(w.next()).toBe(true);
    expect(w.layer).toBe(1);
    expect(w.reset(image, 0n).next()).toBe(false);
    expect(w.layer).toBe(-1);
    expect(w.reset(image, root, 3).next()).toBe(false);
    expect(w.reset(image, root, -1).next()).toBe(false);
  });
});

describe('VisitedBlocks, the exact mode\'s set of positions', () => {
  it('adds each position once: slot-aligned ones in a segment\'s bitmap, the rest by address', () => {
    const v = new VisitedBlocks(8);
    // In segment 0 (a 4 KiB view): aligned positions go to its bitmap.
    expect(v.add(0, 0, 4096, 0x1000, 0)).toBe(true);
    expect(v.add(0, 0, 4096, 0x1000, 0)).toBe(false);
    expect(v.add(0, 4088, 4096, 0x1ff8, 0)).toBe(true); // the last slot
    expect(v.add(0, 4088, 4096, 0x1ff8, 0)).toBe(false);
    expect(v.hasAligned(0, 0)).toBe(true);
    expect(v.hasAligned(0, 4088)).toBe(true);
    expect(v.hasAligned(0, 8)).toBe(false);
    expect(v.hasAligned(0, 4)).toBe(false); // not aligned: never in a bitmap
    expect(v.hasAligned(0, -8)).toBe(false);
    expect(v.hasAligned(1, 0)).toBe(false); // no bitmap for segment 1 yet
    expect(v.hasAligned(0, 4096 * 64)).toBe(false); // past the bitmap
    // The same offset in another segment is another position.
    expect(v.add(1, 0, 64, 0x9000, 0)).toBe(true);
    expect(v.hasAligned(1, 0)).toBe(true);
    // Misaligned, or outside any segment: by address (lo, hi), including the high half.
    expect(v.add(0, 4, 4096, 0x1004, 0)).toBe(true);
    expect(v.add(0, 4, 4096, 0x1004, 0)).toBe(false);
    expect(v.hasAligned(0, 4)).toBe(false);
    expect(v.add(-1, 0, 0, 0x1004, 1)).toBe(true); // another high half: another address
    expect(v.add(-1, 0, 0, 0x1004, 1)).toBe(false);
    expect(v.add(-1, 0, 0, 0xffffffff, 0xffffffff)).toBe(true);
    expect(v.add(-1, 0, 0, 0xffffffff, 0xffffffff)).toBe(false);
    // An offset past the bitmap of the view length given: by address too.
    expect(v.add(0, 8192, 4096, 0x3000, 0)).toBe(true);
    expect(v.add(0, 8192, 4096, 0x3000, 0)).toBe(false);
    expect(v.hasAligned(0, 8192)).toBe(false);
  });

  it('grows a segment\'s bitmap for a longer view, keeping what it held', () => {
    const v = new VisitedBlocks(8);
    const small = v.bitmapOf(0, 256); // 32 slots: one word
    expect(small.length).toBe(1);
    expect(v.add(0, 248, 256, 0, 0)).toBe(true);
    const big = v.bitmapOf(0, 8 * 32 * 3 + 8); // 97 slots: four words
    expect(big.length).toBe(4);
    expect(v.hasAligned(0, 248)).toBe(true);
    expect(v.add(0, 248, 8 * 32 * 4, 0, 0)).toBe(false);
    expect(v.add(0, 8 * 96, 8 * 32 * 4, 0, 0)).toBe(true);
    expect(v.bitmapOf(0, 64)).toBe(big); // never shrinks
  });

  it('holds thousands of addresses through rehashing, forgets them on clear(), drops them on forget()', () => {
    const v = new VisitedBlocks(8);
    const n = 5000;
    for (let i = 0; i < n; i++) expect(v.add(-1, 0, 0, i * 152 + 4, i >>> 3)).toBe(true);
    for (let i = 0; i < n; i++) expect(v.add(-1, 0, 0, i * 152 + 4, i >>> 3)).toBe(false);
    expect(v.add(0, 16, 4096, 0, 0)).toBe(true);
    v.clear();
    for (let i = 0; i < n; i += 7) expect(v.add(-1, 0, 0, i * 152 + 4, i >>> 3)).toBe(true);
    expect(v.hasAligned(0, 16)).toBe(false);
    expect(v.add(0, 16, 4096, 0, 0)).toBe(true);
    v.forget();
    expect(v.hasAligned(0, 16)).toBe(false);
    expect(v.add(-1, 0, 0, 4, 0)).toBe(true);
    expect(v.add(0, 16, 4096, 0, 0)).toBe(true);
  });
});

describe('a walker\'s state outside a walk', () => {
  it('before the first next() and after the last: no current block', () => {
    for (const w of [new TreeWalker(), new ExactTreeWalker()]) {
      expect([w.layer, w.segment, w.gathered, w.blocks, w.index]).toEqual([-1, -1, false, 0, -1]);
      const bytes = new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
      w.reset(SegmentImage.region(bytes, 0xffffc70a12340000n), 0xffffc70a12340000n);
      expect([w.layer, w.blocks]).toEqual([-1, 0]);
      while (w.next());
      expect([w.layer, w.blocks, w.index]).toEqual([-1, 10, 9]);
      expect(w.next()).toBe(false);
      expect(w.layer).toBe(-1);
    }
  });
});
