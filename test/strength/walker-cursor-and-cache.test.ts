/**
 * TreeWalker and ExactTreeWalker pinned where mutation testing left them unasserted: the cursor's
 * fields (lo, hi, address(), missLayer, visitBits, visitedAt) at addresses whose low half is 0 or
 * whose high half is far from the segment's, locate()/inSegment() against the image itself, the
 * capacity bound against maxBlocks, the walker's own AddressError messages, state located across
 * 2^32 on segments and on a paged image, a TCP block's DependentBlockList, misaligned blocks in
 * exact mode, and VisitedBlocks at its bitmap's end and through rehashing. Images are built by
 * hand, block by block, so that every offset and expected value here is computed, not decoded.
 */
import { describe, expect, it } from 'vitest';
import { buildAddressSpace, writeRawPhysical } from '../../src/codec/dump-writer.js';
import { PagedImage } from '../../src/codec/paged.js';
import { StatusWriter } from '../../src/tree/status-writer.js';
import { BufferSource, RawPhysicalMemory } from '../../src/codec/physical.js';
import {
  AddressError,
  ExactTreeWalker,
  Location,
  SegmentImage,
  TreeWalker,
  VisitedBlocks,
  WalkError,
  X64,
  X86,
  blockOffsets,
  type Abi,
  type MemoryImage,
} from '../../src/index.js';
import { errorOf } from '../support/errors.js';

// NDIS_MINIPORT_OFFLOAD_BLOCK_LIST (its sizes are checked against C in test/layout).
const SIZE = blockOffsets(X64).size;
const X86_SIZE = blockOffsets(X86).size;
const TWO32 = 0x1_0000_0000n;

interface Block {
  at: number;
  next?: bigint;
  dep?: bigint;
  ctx?: bigint;
  status?: number;
}

/** `length` zero bytes holding the given blocks (pointers as the ABI stores them). */
function bytesWith(length: number, blocks: Block[], abi: Abi = X64): Uint8Array {
  const bytes = new Uint8Array(length);
  const dv = new DataView(bytes.buffer);
  const o = blockOffsets(abi);
  const ptr = (at: number, v: bigint): void => {
    if (abi.pointerSize === 8) dv.setBigUint64(at, v, true);
    else dv.setUint32(at, Number(v), true);
  };
  for (const b of blocks) {
    dv.setUint32(b.at + o.header, 0x0098_0101, true); // a Header that is not all zero
    ptr(b.at + o.next, b.next ?? 0n);
    ptr(b.at + o.dependent, b.dep ?? 0n);
    ptr(b.at + o.context, b.ctx ?? 0n);
    dv.setInt32(b.at + o.status, b.status ?? 0, true);
  }
  return bytes;
}

/** Every block as `layer:address` (hex), through `w`. */
function walk(w: TreeWalker, image: MemoryImage, root: bigint, layer = 0): string[] {
  const out: string[] = [];
  w.reset(image, root, layer);
  while (w.next()) out.push(`${w.layer}:${w.address().toString(16)}`);
  return out;
}

const both = (options: { maxBlocks?: number } = {}): TreeWalker[] => [new TreeWalker(options), new ExactTreeWalker(options)];

describe('blockOffsets', () => {
  it('gives the block-list member offsets of each ABI, one frozen object per ABI, shared with the walkers', () => {
    expect(blockOffsets(X64)).toEqual({ size: 152, align: 8, header: 0, next: 8, dependent: 16, status: 24, context: 48 });
    expect(blockOffsets(X86)).toEqual({ size: 76, align: 4, header: 0, next: 4, dependent: 8, status: 12, context: 24 });
    expect(Object.isFrozen(blockOffsets(X64))).toBe(true);
    expect(blockOffsets(X64)).toBe(blockOffsets(X64));
    expect(blockOffsets(X86)).toBe(blockOffsets(X86));
    expect(new TreeWalker().offsets).toBe(blockOffsets(X64));
    expect(new ExactTreeWalker({ abi: X86 }).offsets).toBe(blockOffsets(X86));
  });
});

describe('a fresh walker, and a walker moved to another image', () => {
  it('before any walk: no block was located, nothing is in the current segment', () => {
    for (const w of both()) {
      expect(w.missLayer).toBe(-1);
      expect([w.lo, w.hi]).toEqual([0, 0]);
      expect(w.inSegment(0, 0, 1)).toBe(-1);
      expect(w.inSegment(0, 0, 0)).toBe(-1);
    }
  });

  it('after reset() to another image, locate() and inSegment() no longer answer from the old image\'s segment', () => {
    const a = SegmentImage.region(bytesWith(0x200, [{ at: 0 }]), 0x10000n);
    const b = SegmentImage.region(bytesWith(0x200, [{ at: 0 }]), 0x90000n);
    for (const w of both()) {
      expect(walk(w, a, 0x10000n)).toEqual(['0:10000']);
      const out = new Location();
      expect(w.locate(0x10000, 0, 1, out)).toBe(true); // still a's segment
      w.reset(b, 0x90000n);
      expect(w.locate(0x10000, 0, 1, out)).toBe(false); // what b says
      expect(b.locateHalves(0x10000, 0, 1, new Location())).toBe(false);
      expect(w.inSegment(0x10000, 0, 1)).toBe(-1);
      expect(walk(w, b, 0x90000n)).toEqual(['0:90000']);
    }
  });
});

describe('locate() and inSegment() give the image\'s own answer, whatever the address', () => {
  /** Images whose segments have a far high half, a low half just below 2^32, a small low half. */
  const images: [string, SegmentImage, bigint][] = [
    ['kernel region', SegmentImage.region(bytesWith(0x300, [{ at: 0, next: 0xffffc70a12340098n }, { at: 0x98 }]), 0xffffc70a12340000n), 0xffffc70a12340000n],
    ['region at 0x1ffffff00', SegmentImage.region(bytesWith(0x400, [{ at: 0, dep: 0x2_0000_0010n }, { at: 0x110 }]), 0x1_ffff_ff00n), 0x1_ffff_ff00n],
    [
      'two segments above 2^32 with small low halves',
      new SegmentImage([
        { base: 0x1_0000_0040n, bytes: bytesWith(0x300, [{ at: 0, next: 0x1_0000_0400n }]) },
        { base: 0x1_0000_0400n, bytes: bytesWith(0x200, [{ at: 0 }]) },
      ]),
      0x1_0000_0040n,
    ],
  ];

  for (const [name, image, root] of images) {
    it(name, () => {
      // Probes around and inside every segment, and the same low halves with other high halves.
      const probes: [number, number][] = [];
      for (const s of image.segments) {
        const n = s.bytes.length;
        for (const k of [-16, -8, -1, 0, 8, 0x40, 0x110, n - 9, n - 8, n - 1, n, n + 8]) {
          const a = (s.base + BigInt(k)) & 0xffff_ffff_ffff_ffffn;
          const lo = Number(a & 0xffff_ffffn);
          const hi = Number(a >> 32n);
          for (const h of [hi, 0, hi ^ 1, (hi + 1) >>> 0, (hi - 1) >>> 0]) probes.push([lo, h]);
        }
      }
      for (const w of both()) {
        w.reset(image, root);
        let blocks = 0;
        while (w.next()) {
          blocks++;
          for (const [lo, hi] of probes) {
            for (const size of [1, 8]) {
              const want = new Location();
              const ok = image.locateHalves(lo, hi, size, want);
              const got = new Location();
              got.gathered = true;
              got.segment = 99;
              const where = `${w.address().toString(16)}: ${hi.toString(16)}:${lo.toString(16)}+${size}`;
              expect(w.locate(lo, hi, size, got), where).toBe(ok);
              if (ok) {
                expect(got.view, where).toBe(want.view);
                expect([got.offset, got.segment, got.imageOffset, got.gathered], where).toEqual([want.offset, want.segment, want.imageOffset, false]);
              }
              expect(w.inSegment(lo, hi, size), where).toBe(ok && want.segment === w.segment ? want.offset : -1);
            }
          }
        }
        expect(blocks).toBe(2);
      }
    });
  }
});

describe('following pointers from a cached segment', () => {
  it('a pointer with the block\'s low half but high half 0 is outside a kernel region', () => {
    const base = 0xffffc70a12340000n;
    const image = SegmentImage.region(bytesWith(0x300, [{ at: 0, next: 0x12340098n }, { at: 0x98 }]), base);
    for (const w of both()) {
      const e = errorOf(() => walk(w, image, base));
      expect(e).toBeInstanceOf(AddressError);
      expect(e.message).toBe('the tree (block 1): 0x12340098 (+152 bytes) is outside the captured memory');
      expect([(e as AddressError).address, (e as AddressError).size, (e as AddressError).path]).toEqual([0x12340098n, 152, 'the tree (block 1)']);
      expect([w.blocks, w.missLayer]).toEqual([1, 0]);
    }
  });

  it('a low pointer from a segment whose low half is just below 2^32 is outside it', () => {
    const base = 0x1_ffff_ff00n;
    const image = SegmentImage.region(bytesWith(0x300, [{ at: 0, dep: 0x10n }, { at: 0x110 }]), base);
    for (const w of both()) {
      const e = errorOf(() => walk(w, image, base));
      expect(e).toBeInstanceOf(AddressError);
      expect(e.message).toBe('the tree (block 1): 0x10 (+152 bytes) is outside the captured memory');
      expect([w.blocks, w.missLayer]).toEqual([1, 1]); // the dependent's layer
    }
  });

  it('blocks of a segment whose base has a small low half are where their pointers say', () => {
    const base = 0x1_0000_0040n;
    const image = SegmentImage.region(
      bytesWith(0x300, [
        { at: 0, next: base + 0x100n, dep: base + 0x98n },
        { at: 0x98 },
        { at: 0x100 },
      ]),
      base,
    );
    for (const w of both()) {
      expect(walk(w, image, base)).toEqual(['0:100000040', '1:1000000d8', '0:100000140']);
      expect(w.missLayer).toBe(0); // only the root was located through the image
    }
  });

  it('pointers whose low half is 0 (2^32, 2^33) are followed, and lo/hi of those blocks are 0 and the high half', () => {
    // The root ends at 2^32; its dependent is at 2^32, its next block at 2^33 in a second segment.
    const root = TWO32 - 152n;
    const image = new SegmentImage([
      { base: root, bytes: bytesWith(2 * SIZE, [{ at: 0, dep: TWO32, next: 2n * TWO32 }, { at: SIZE }]) },
      { base: 2n * TWO32, bytes: bytesWith(SIZE, [{ at: 0 }]) },
    ]);
    for (const w of both()) {
      w.reset(image, root);
      const seen: [number, number, number, number, number][] = [];
      while (w.next()) seen.push([w.layer, w.segment, w.offset, w.lo, w.hi]);
      expect(seen).toEqual([
        [0, 0, 0, 0xffffff68, 0],
        [1, 0, 152, 0, 1],
        [0, 1, 0, 0, 2],
      ]);
      expect(walk(w, image, root)).toEqual(['0:ffffff68', '1:100000000', '0:200000000']);
    }
  });

  it('x86: a NULL 4-byte pointer is NULL whatever the member after it holds', () => {
    const base = 0x81230000n;
    // NextBlock 0 followed by a non-zero DependentBlockList; DependentBlockList 0 followed by a Status.
    const image = SegmentImage.region(
      bytesWith(4 * X86_SIZE, [{ at: 0, dep: base + BigInt(X86_SIZE) }, { at: X86_SIZE, status: 0xc0000001 | 0 }], X86),
      base,
    );
    for (const w of [new TreeWalker({ abi: X86 }), new ExactTreeWalker({ abi: X86 })]) {
      expect(walk(w, image, base)).toEqual(['0:81230000', '1:8123004c']);
    }
  });
});

describe('the segment cache, as missLayer and visitBits show it', () => {
  // The root at 152 (layer 0), its dependent at offset 0 (layer 1), whose dependent ends the segment (layer 2).
  const base = 0x40000n;
  const length = 0x300;
  const last = length - SIZE;
  const image = SegmentImage.region(bytesWith(length, [{ at: SIZE, dep: base }, { at: 0, dep: base + BigInt(last) }, { at: last }]), base);

  it('on a region every block after the root comes from the cache, the first and the last byte of the segment included', () => {
    for (const w of both()) {
      expect(walk(w, image, base + 152n)).toEqual(['0:40098', '1:40000', `2:${(base + BigInt(last)).toString(16)}`]);
      expect(w.missLayer).toBe(0);
    }
  });

  it('reset() on the same image keeps the cache and (exact mode) the visited bitmap; another image drops them', () => {
    const w = new TreeWalker();
    walk(w, image, base + 152n);
    expect(walk(w, image, base, 1)).toEqual(['1:40000', `2:${(base + BigInt(last)).toString(16)}`]);
    expect(w.missLayer).toBe(0); // the path block came from the cache
    const other = SegmentImage.region(image.segments[0]!.bytes, base);
    expect(walk(w, other, base, 1)).toEqual(['1:40000', `2:${(base + BigInt(last)).toString(16)}`]);
    expect(w.missLayer).toBe(1);

    const x = new ExactTreeWalker();
    walk(x, image, base + 152n);
    const bits = x.visitBits;
    expect(bits).toBeInstanceOf(Int32Array);
    walk(x, image, base + 152n);
    expect(x.visitBits).toBe(bits); // the same bitmap, cleared and reused
    walk(x, other, base + 152n);
    expect(x.visitBits).not.toBe(bits);
  });

  it('checkVisits = false: reset() leaves the visited set as the last checked walk left it; true clears it again', () => {
    const x = new ExactTreeWalker();
    walk(x, image, base + 152n);
    expect([x.visitedAt(0), x.visitedAt(152), x.visitedAt(last)]).toEqual([true, true, true]);
    x.checkVisits = false;
    x.reset(image, base + 152n);
    expect([x.visitedAt(0), x.visitedAt(152), x.visitedAt(last)]).toEqual([true, true, true]);
    while (x.next());
    expect(x.blocks).toBe(3);
    x.checkVisits = true;
    x.reset(image, base + 152n);
    expect([x.visitedAt(0), x.visitedAt(152), x.visitedAt(last)]).toEqual([false, false, false]);
  });

  it('a subclass of TreeWalker in exact mode that marks visits itself has them cleared by reset()', () => {
    class MarkingWalker extends TreeWalker {
      constructor() {
        super({ revisits: 'exact' });
      }
      override next(): boolean {
        if (!super.next()) return false;
        this.visit(this.view, this.offset, this.lo, this.hi);
        return true;
      }
    }
    const w = new MarkingWalker();
    expect(w).not.toBeInstanceOf(ExactTreeWalker);
    for (let round = 0; round < 2; round++) {
      w.reset(image, base + 152n);
      expect(w.visitedAt(0)).toBe(false);
      let n = 0;
      while (w.next()) n++;
      expect(n).toBe(3);
      expect(w.visitedAt(0)).toBe(true);
    }
    // A revisit is still refused within one walk.
    const loop = bytesWith(0x200, [{ at: 0, next: 0x40000n }]);
    const e = errorOf(() => walk(w, SegmentImage.region(loop, 0x40000n), 0x40000n));
    expect(e).toBeInstanceOf(WalkError);
    expect([(e as WalkError).reason, (e as WalkError).blocks]).toEqual(['revisit', 2]); // counted before this visit() ran
  });
});

describe('exact mode with blocks that are not slot-aligned', () => {
  it('a block at offset 164 is its own position: slot 160 stays free, and reaching 164 twice is refused', () => {
    const base = 0x50000n;
    const image = SegmentImage.region(bytesWith(0x200, [{ at: 0, next: base + 164n }, { at: 164 }]), base);
    const w = new ExactTreeWalker();
    expect(walk(w, image, base)).toEqual(['0:50000', '0:500a4']);
    expect([w.visitedAt(0), w.visitedAt(160), w.visitedAt(164), w.visitedAt(168)]).toEqual([true, false, false, false]);
    // Blocks at 160 and at 164 (overlapping, but two blocks) are both walked.
    const overlapping = SegmentImage.region(bytesWith(0x200, [{ at: 0, next: base + 164n, dep: base + 160n }]), base);
    expect(walk(w, overlapping, base)).toEqual(['0:50000', '1:500a0', '0:500a4']);
    const self = SegmentImage.region(bytesWith(0x200, [{ at: 0, next: base + 164n }, { at: 164, next: base + 164n }]), base);
    const e = errorOf(() => walk(w, self, base));
    expect(e).toBeInstanceOf(WalkError);
    expect([(e as WalkError).reason, (e as WalkError).address, (e as WalkError).blocks]).toEqual(['revisit', base + 164n, 2]);
  });
});

describe('a TCP block\'s DependentBlockList', () => {
  it('is never followed, whether it points at a block or outside the image', () => {
    const base = 0x60000n;
    for (const target of [base + 0x1c8n, 0xdead0000n]) {
      const image = SegmentImage.region(
        bytesWith(0x260, [{ at: 0, dep: base + 0x98n }, { at: 0x98, dep: base + 0x130n }, { at: 0x130, dep: target }, { at: 0x1c8 }]),
        base,
      );
      for (const w of both()) {
        expect(walk(w, image, base)).toEqual(['0:60000', '1:60098', '2:60130']);
        expect(w.blocks).toBe(3);
      }
    }
  });
});

describe('the capacity bound against maxBlocks (bound mode)', () => {
  const base = 0x70000n;
  const loop = SegmentImage.region(bytesWith(0x300, [{ at: 0, next: base }]), base); // room for 5 blocks
  const capacity = 5;

  it('a cycle ends at the capacity when maxBlocks is larger, at maxBlocks when it is not', () => {
    for (const [maxBlocks, reason, blocks] of [
      [undefined, 'revisit', capacity],
      [capacity + 1, 'revisit', capacity],
      [capacity, 'limit', capacity],
      [capacity - 1, 'limit', capacity - 1],
    ] as const) {
      const e = errorOf(() => walk(new TreeWalker({ maxBlocks }), loop, base)) as WalkError;
      expect(e).toBeInstanceOf(WalkError);
      expect([e.reason, e.code, e.address, e.blocks]).toEqual([reason, reason === 'revisit' ? 'CYCLE' : 'LIMIT_BLOCKS', base, blocks]);
      expect(e.message).toBe(
        reason === 'revisit'
          ? `block at 0x70000 (after ${capacity} blocks): more blocks than the image can hold (${capacity}): a block reached twice (a cycle or a shared block) or blocks that overlap`
          : `block at 0x70000 (after ${blocks} blocks): more than ${blocks} blocks`,
      );
    }
  });

  it('exact mode refuses the second visit at once, whatever maxBlocks', () => {
    for (const maxBlocks of [undefined, 2, capacity]) {
      const e = errorOf(() => walk(new ExactTreeWalker({ maxBlocks }), loop, base)) as WalkError;
      expect([e.reason, e.blocks]).toEqual(['revisit', 1]);
    }
    const e = errorOf(() => walk(new ExactTreeWalker({ maxBlocks: 1 }), SegmentImage.region(bytesWith(0x300, [{ at: 0, next: base + 0x98n }, { at: 0x98 }]), base), base)) as WalkError;
    expect(e.message).toBe('block at 0x70098 (after 1 blocks): more than 1 blocks');
  });
});

describe('the walker\'s AddressError', () => {
  const base = 0x80000n;

  it('names the root, or the tree with the blocks met so far, and why the bytes are not there', () => {
    const image = SegmentImage.region(bytesWith(0x300, [{ at: 0, next: base + 0x98n }, { at: 0x98, dep: base + 0x130n }, { at: 0x130, next: base + 0x2f8n }]), base);
    for (const w of both()) {
      let e = errorOf(() => walk(w, image, base - 0x1000n)) as AddressError;
      expect(e).toBeInstanceOf(AddressError);
      expect(e.message).toBe('root: 0x7f000 (+152 bytes) is outside the captured memory');
      expect([e.path, w.blocks, w.missLayer]).toEqual(['root', 0, 0]);
      e = errorOf(() => walk(w, image, base + 0x2f0n)) as AddressError;
      expect(e.message).toBe('root: 0x802f0 (+152 bytes) runs past the end of the captured memory at 0x80300 (16 of 152 bytes captured)');
      e = errorOf(() => walk(w, image, base)) as AddressError;
      expect(e.message).toBe('the tree (block 3): 0x802f8 (+152 bytes) runs past the end of the captured memory at 0x80300 (8 of 152 bytes captured)');
      expect([e.address, e.path, w.blocks, w.missLayer]).toEqual([base + 0x2f8n, 'the tree (block 3)', 3, 1]); // a path block's NextBlock
    }
  });

  it('reaches the StatusWriter\'s caller with the image\'s reason kept, and nothing written', () => {
    const bytes = bytesWith(0x300, [{ at: 0, next: base + 0x98n }, { at: 0x98, dep: base + 0x130n }, { at: 0x130, next: base + 0x2f8n }]);
    const before = bytes.slice();
    const image = SegmentImage.region(bytes, base);
    for (const operation of ['invalidate', 'initiate'] as const) {
      const e = errorOf(() => new StatusWriter().complete(image, base, { operation })) as AddressError;
      expect(e).toBeInstanceOf(AddressError);
      expect(e.message).toBe('the tree (block 3): 0x802f8 (+152 bytes) runs past the end of the captured memory at 0x80300 (8 of 152 bytes captured)');
      expect(bytes).toEqual(before);
    }
  });
});

describe('state after a block that ends at 2^32', () => {
  const root = TWO32 - 152n;

  it('on two segments: stateAt and locateAfter find it at the start of the segment at 2^32', () => {
    const state = new Uint8Array(64);
    new DataView(state.buffer).setUint32(0, 0x5ca1ab1e, true);
    const image = new SegmentImage([
      { base: root, bytes: bytesWith(SIZE, [{ at: 0 }]) },
      { base: TWO32, bytes: state },
    ]);
    for (const w of both()) {
      w.reset(image, root);
      expect(w.next()).toBe(true);
      expect([w.lo, w.hi]).toEqual([0xffffff68, 0]);
      expect(w.stateAt(8)).toBe(0);
      expect(w.stateView.getUint32(0, true)).toBe(0x5ca1ab1e);
      expect(w.stateView.byteLength).toBe(64);
      expect(w.locateAfter(SIZE + 60, 4)).toBe(60);
      expect(w.locateAfter(SIZE + 61, 4)).toBe(-1);
      expect(w.stateAt(65)).toBe(-1);
    }
  });

  it('on a paged image: the carry into the high half reaches the page at 2^32', () => {
    const bytes = bytesWith(0x2000, [{ at: 0x1000 - SIZE }]);
    new DataView(bytes.buffer).setUint32(0x1000, 0x5ca1ab1e, true);
    new DataView(bytes.buffer).setUint32(0x1010, 0x0ddba11, true);
    const space = buildAddressSpace([{ address: TWO32 - 0x1000n, bytes }], { scatter: 3 });
    const image = new PagedImage(new RawPhysicalMemory(new BufferSource(writeRawPhysical(space).toBytes())), space.dtb);
    for (const w of both()) {
      w.reset(image, root);
      expect(w.next()).toBe(true);
      expect([w.segment, w.gathered, w.lo, w.hi]).toEqual([-1, false, 0xffffff68, 0]);
      const at = w.stateAt(8);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(w.stateView.getUint32(at, true)).toBe(0x5ca1ab1e);
      const at2 = w.locateAfter(SIZE + 0x10, 4);
      expect(w.stateView.getUint32(at2, true)).toBe(0x0ddba11);
      // Across the page boundary: gathered from both pages.
      const across = w.locateAfter(SIZE - 4, 8);
      expect(w.stateView.getUint32(across + 4, true)).toBe(0x5ca1ab1e);
      expect(w.next()).toBe(false);
    }
  });
});

describe('VisitedBlocks at its edges', () => {
  it('the position just past a bitmap goes to the hash: added once', () => {
    const v = new VisitedBlocks(8);
    expect(v.bitmapOf(0, 256).length).toBe(1); // 32 slots
    expect(v.add(0, 256, 256, 0x9100, 0)).toBe(true);
    expect(v.add(0, 256, 256, 0x9100, 0)).toBe(false);
    expect(v.hasAligned(0, 256)).toBe(false);
    expect(v.add(0, 248, 256, 0x90f8, 0)).toBe(true);
    expect(v.hasAligned(0, 248)).toBe(true);
  });

  it('addresses that share a low half or a high half are different positions', () => {
    const v = new VisitedBlocks(8);
    for (let hi = 0; hi < 1500; hi++) expect(v.add(-1, 0, 0, 0x1004, hi)).toBe(true);
    for (let lo = 0; lo < 1500; lo++) expect(v.add(-1, 0, 0, lo * 8 + 4, 5000)).toBe(true);
    for (let hi = 0; hi < 1500; hi++) expect(v.add(-1, 0, 0, 0x1004, hi)).toBe(false);
    for (let lo = 0; lo < 1500; lo++) expect(v.add(-1, 0, 0, lo * 8 + 4, 5000)).toBe(false);
  });

  it('address 0 is not in the set until added, through every rehash', () => {
    const v = new VisitedBlocks(8);
    for (let i = 1; i <= 3000; i++) {
      expect(v.add(-1, 0, 0, i * 8, 0)).toBe(true);
    }
    expect(v.add(-1, 0, 0, 0, 0)).toBe(true);
    expect(v.add(-1, 0, 0, 0, 0)).toBe(false);
  });
});
