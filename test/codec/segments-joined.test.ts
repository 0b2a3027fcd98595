/**
 * Segments that touch or overlap are one address range: a tree whose blocks and states cross from
 * one segment into the next decodes whole, the same as from the one region the segments were cut
 * from, wherever the cuts fall. Overlapping segments must agree where they overlap; writers write
 * to the right bytes of the right segment, or refuse a write that would not reach them.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Location, type Segment, SegmentImage } from '../../src/codec/image.js';
import { SegmentOverlapError } from '../../src/errors.js';
import { decodeTree } from '../../src/tree/decode.js';
import type { TreeDocument } from '../../src/tree/document.js';
import { type EncodeInput, encodeOnto, encodeTree } from '../../src/tree/encode.js';
import { CompletionError, StatusWriter } from '../../src/tree/status-writer.js';
import { BlockChains } from '../../src/tree/chains.js';
import { TreeWalker } from '../../src/tree/walk.js';
import { fcParams, treeCaseArb } from '../support/arbitraries.js';
import { errorOf } from '../support/errors.js';

const SAMPLE = new Uint8Array(readFileSync(new URL('../../fixtures/sample-x64.bin', import.meta.url)));
const SAMPLE_BASE = 0xffffc70a12340000n;

/**
 * The document without what depends on how the memory is cut: `base` (a region has one, segments
 * do not) and every `offset` (the offset in the segment, null for bytes gathered from two).
 */
function body(doc: TreeDocument): string {
  const { base: _base, ...rest } = doc;
  return JSON.stringify(rest, (k, v: unknown) => (k === 'offset' ? undefined : v), 1);
}

/** `bytes` at `base`, cut into segments at `cuts` (offsets), given in reverse order. */
function cut(bytes: Uint8Array, base: bigint, cuts: readonly number[], copy = false): Segment[] {
  const edges = [0, ...[...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length];
  return edges
    .slice(1)
    .map((end, k) => {
      const part = bytes.subarray(edges[k]!, end);
      return { base: base + BigInt(edges[k]!), bytes: copy ? part.slice() : part, name: `part${k}.bin` };
    })
    .reverse();
}

describe('segments that touch are one address range', () => {
  const whole = body(decodeTree(SegmentImage.region(SAMPLE, SAMPLE_BASE), SAMPLE_BASE, { operation: 'initiate' }));

  it('the sample split at every byte position into two segments decodes to the same document as the whole region', () => {
    expect(whole.match(/"role"/g)?.length).toBeGreaterThan(5);
    for (let at = 1; at < SAMPLE.length; at++) {
      const image = new SegmentImage(cut(SAMPLE, SAMPLE_BASE, [at], true));
      expect(image.kind).toBe('segments');
      const doc = decodeTree(image, SAMPLE_BASE, { operation: 'initiate' });
      expect(doc.base).toBeNull();
      expect(body(doc), `cut at ${at}`).toEqual(whole);
    }
  });

  it('any valid tree, cut anywhere into up to five segments, decodes as the region it was cut from (property)', () => {
    fc.assert(
      fc.property(treeCaseArb(), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), (tc, cuts) => {
        const enc = encodeTree(tc.doc, { abi: tc.abi, ndis: tc.ndis, base: tc.base });
        const options = { abi: tc.abi, ndis: tc.ndis, operation: tc.operation };
        const region = decodeTree(SegmentImage.region(enc.bytes, enc.base), enc.base, options);
        const at = cuts.map((c) => c % enc.bytes.length);
        const doc = decodeTree(new SegmentImage(cut(enc.bytes, enc.base, at)), enc.base, options);
        expect(body(doc)).toEqual(body(region));
      }),
      fcParams({ numRuns: 80 }),
    );
  });

  it('a block across two segments is located by gathering its bytes; one inside a segment stays in place', () => {
    const image = new SegmentImage([
      { base: 0x1000n, bytes: Uint8Array.from({ length: 16 }, (_, i) => i), name: 'a.bin' },
      { base: 0x1010n, bytes: Uint8Array.from({ length: 8 }, (_, i) => 0x10 + i), name: 'b.bin' },
      { base: 0x2000n, bytes: new Uint8Array(8), name: 'c.bin' },
    ]);
    const loc = new Location();
    expect(image.locate(0x100cn, 8, loc)).toBe(true);
    expect([loc.gathered, loc.segment, loc.imageOffset]).toEqual([true, -1, -1]);
    expect([...new Uint8Array(loc.view.buffer, loc.view.byteOffset + loc.offset, 8)]).toEqual([12, 13, 14, 15, 0x10, 0x11, 0x12, 0x13]);
    expect(image.locate(0x1000n, 24, loc)).toBe(true);
    expect(image.locate(0x1000n, 25, loc)).toBe(false); // a gap follows b.bin
    expect(image.locate(0x1010n, 8, loc)).toBe(true);
    expect([loc.gathered, loc.segment, loc.offset]).toEqual([false, 1, 0]);
    expect([...image.ranges()]).toEqual([
      { address: 0x1000n, length: 24 },
      { address: 0x2000n, length: 8 },
    ]);
    expect(image.explain(0x100cn, 8)).toBe('spans 2 segments (a.bin, b.bin)');
    expect(image.explain(0x100cn, 16)).toBe('runs past the end of the captured memory at 0x1018 (12 of 16 bytes captured)');
    expect(image.explain(0x1018n, 1)).toBe('is outside the captured memory');
  });

  it('the walker counts blocks per run of touching segments: a tree of blocks that each straddle a cut is no cycle', () => {
    // Three blocks back to back, cut into segments smaller than a block: no segment holds one whole.
    const enc = encodeTree({ blocks: [{ type: 'NeighborOffloadState' }, { type: 'NeighborOffloadState' }, { type: 'NeighborOffloadState' }] }, { base: 0x10000n });
    const w = new TreeWalker();
    const size = w.blockSize;
    const cuts = Array.from({ length: Math.ceil(enc.bytes.length / 100) }, (_, k) => k * 100);
    const image = new SegmentImage(cut(enc.bytes, 0x10000n, cuts));
    w.reset(image, 0x10000n);
    const seen: bigint[] = [];
    while (w.next()) {
      expect(w.gathered).toBe(true);
      seen.push(w.address());
    }
    expect(seen.length).toBe(3);
    expect(seen[0]).toBe(0x10000n);
    expect(size).toBeGreaterThan(100);
  });
});

describe('BlockChains (one segment by design)', () => {
  it('says that a root across two segments is readable, but not by it', () => {
    const image = new SegmentImage(cut(SAMPLE, SAMPLE_BASE, [100]));
    expect(errorOf(() => new BlockChains(image).root(SAMPLE_BASE)).message).toBe(
      'root: 0xffffc70a12340000 (+152 bytes) spans 2 segments (part0.bin, part1.bin): BlockChains walks one segment (TreeWalker walks any image)',
    );
  });
});

describe('overlapping segments', () => {
  it('that agree are one range, decode as the region, and are read-only with the reason', () => {
    const n = SAMPLE.length;
    const segments: Segment[] = [
      { base: SAMPLE_BASE + 1000n, bytes: SAMPLE.slice(1000, 1800), name: 'mid.bin' },
      { base: SAMPLE_BASE, bytes: SAMPLE.slice(0, 1200), name: 'low.bin' },
      { base: SAMPLE_BASE + 1100n, bytes: SAMPLE.slice(1100, n), name: 'high.bin' },
      { base: SAMPLE_BASE + 10n, bytes: SAMPLE.slice(10, 20), name: 'inside.bin' },
    ];
    const image = new SegmentImage(segments);
    expect([...image.ranges()]).toEqual([{ address: SAMPLE_BASE, length: n }]);
    // Each address once: low.bin whole, then what mid.bin and high.bin add; inside.bin adds nothing.
    expect(image.segments.map((s) => [s.name, Number(s.base - SAMPLE_BASE), s.bytes.length])).toEqual([
      ['low.bin', 0, 1200],
      ['mid.bin', 1200, 600],
      ['high.bin', 1800, n - 1800],
    ]);
    expect(image.given.map((s) => s.name)).toEqual(['low.bin', 'inside.bin', 'mid.bin', 'high.bin']);
    const doc = decodeTree(image, SAMPLE_BASE, { operation: 'initiate' });
    expect(body(doc)).toEqual(body(decodeTree(SegmentImage.region(SAMPLE, SAMPLE_BASE), SAMPLE_BASE, { operation: 'initiate' })));
    // Offsets are in the file each block was read from (as given, not as cut), null across two.
    const size = new TreeWalker().blockSize;
    const offsets: [number, number | null][] = [];
    const visit = (blocks: readonly { address: string; offset: number | null; dependents?: unknown[] }[]): void => {
      for (const b of blocks) {
        offsets.push([Number(BigInt(b.address) - SAMPLE_BASE), b.offset]);
        visit((b.dependents ?? []) as typeof blocks);
      }
    };
    visit(doc.blocks as never);
    expect(offsets.length).toBeGreaterThan(5);
    for (const [at, offset] of offsets) {
      const want = at + size <= 1200 ? at : at >= 1200 && at + size <= 1800 ? at - 1000 : at >= 1800 ? at - 1100 : null;
      expect(offset, `block at +${at}`).toBe(want);
    }
    expect(offsets.some(([at]) => at >= 1800)).toBe(true);

    expect(image.writable).toBe(false);
    expect(image.readOnlyReason).toBe('segments low.bin and inside.bin overlap at 0xffffc70a1234000a..0xffffc70a12340014: a write there would reach one of them only');
    expect(errorOf(() => new StatusWriter().complete(image, SAMPLE_BASE, { operation: 'initiate' })).message).toBe(
      'block at 0xffffc70a12340000: the image is read-only (segments low.bin and inside.bin overlap at 0xffffc70a1234000a..0xffffc70a12340014: a write there would reach one of them only): complete a region instead',
    );
    expect(errorOf(() => encodeOnto({ blocks: [] }, image)).message).toBe(
      '$: this image is read-only (segments low.bin and inside.bin overlap at 0xffffc70a1234000a..0xffffc70a12340014: a write there would reach one of them only): encode onto a region instead',
    );
  });

  it('that disagree are refused, naming both and the first address where they differ', () => {
    const a = Uint8Array.from({ length: 32 }, (_, i) => i);
    const b = a.slice(16);
    b[5] = 0xee;
    b[9] = 0xff;
    const e = errorOf<SegmentOverlapError>(() => new SegmentImage([{ base: 0x1010n, bytes: b, name: 'b.bin' }, { base: 0x1000n, bytes: a, name: 'a.bin' }]));
    expect(e).toBeInstanceOf(SegmentOverlapError);
    expect([e.code, e.first, e.second, e.address, e.firstByte, e.secondByte]).toEqual(['SEGMENT_OVERLAP', 'a.bin', 'b.bin', 0x1015n, 0x15, 0xee]);
    expect(e.message).toBe('segments a.bin and b.bin overlap and disagree at 0x1015 (0x15 in a.bin, 0xee in b.bin): give segments that agree, or that do not overlap');
    // Unnamed segments are named by where they start; a difference in the last byte of the overlap counts.
    const c = new Uint8Array(8);
    c[7] = 1;
    expect(errorOf(() => new SegmentImage([{ base: 0x2000n, bytes: new Uint8Array(16) }, { base: 0x2008n, bytes: c }])).message).toBe(
      'segments the segment at 0x2000 and the segment at 0x2008 overlap and disagree at 0x200f (0x00 in the segment at 0x2000, 0x01 in the segment at 0x2008): give segments that agree, or that do not overlap',
    );
  });
});

describe('writing into segments that touch', () => {
  // Status 1 (not what completion writes), so that the writes show.
  const tree = { blocks: [{ type: 'NeighborOffloadState' as const, Status: 1, dependents: [{ type: 'Ip4OffloadState' as const, Status: 1 }] }] };

  it('completes a tree whose blocks each lie in one segment, writing the bytes the region would get', () => {
    const enc = encodeTree(tree, { base: 0x10000n });
    const region = enc.bytes.slice();
    new StatusWriter().complete(SegmentImage.region(region, 0x10000n), 0x10000n, { operation: 'initiate' });
    const w = new TreeWalker();
    // A cut right after the first block (its state is in the next segment): each block lies whole in one.
    const segments = cut(enc.bytes, 0x10000n, [w.blockSize], true);
    new StatusWriter().complete(new SegmentImage(segments), 0x10000n, { operation: 'initiate' });
    const joined = Buffer.concat([...segments].reverse().map((s) => s.bytes));
    expect(joined.equals(Buffer.from(region))).toBe(true);
    expect(joined.equals(Buffer.from(enc.bytes))).toBe(false);
  });

  it('refuses a Status write and an encode into a block that straddles two segments, and writes nothing', () => {
    const enc = encodeTree(tree, { base: 0x10000n });
    const segments = cut(enc.bytes, 0x10000n, [40], true);
    const before = segments.map((s) => s.bytes.slice());
    const image = new SegmentImage(segments);
    const e = errorOf<CompletionError>(() => new StatusWriter().complete(image, 0x10000n, { operation: 'initiate' }));
    expect(e.message).toBe('block at 0x10000: the block straddles two pages or segments: its Status is written in place only in a block that lies whole in one');
    const doc = decodeTree(image, 0x10000n, { operation: 'initiate' });
    expect(errorOf(() => encodeOnto(doc as unknown as EncodeInput, image)).message).toBe(
      'blocks[0]: 0x10000 (+152 bytes) spans 2 segments (part0.bin, part1.bin): it is read across them, but written in place only where it lies whole in one',
    );
    expect(segments.map((s) => s.bytes)).toEqual(before);
  });
});
