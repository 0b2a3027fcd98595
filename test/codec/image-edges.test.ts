/**
 * SegmentImage and Location at their edges: the first and last byte of each segment, one byte
 * before and after, the ends of the 64-bit address space, several segments in any order, an empty
 * segment, buffers that are views into larger ones, and the whole text of every refusal and
 * explanation.
 */
import { describe, expect, it } from 'vitest';
import { Location, SegmentImage, hi32, lo32 } from '../../src/codec/image.js';
import { UsageError } from '../../src/errors.js';

const TOP = 0xffffffffffffffffn;

function usageMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('did not throw');
}

describe('Location', () => {
  it('starts empty: no bytes, offset 0, no segment, no image offset, not gathered', () => {
    const loc = new Location();
    expect(loc.view.byteLength).toBe(0);
    expect([loc.offset, loc.segment, loc.imageOffset, loc.gathered]).toEqual([0, -1, -1, false]);
  });

  it('is left as it was when a range is not found', () => {
    const image = SegmentImage.region(new Uint8Array(16), 0x1000n);
    const loc = new Location();
    expect(image.locate(0x1004n, 4, loc)).toBe(true);
    const view = loc.view;
    expect(image.locate(0x2000n, 4, loc)).toBe(false);
    expect(image.locate(-4n, 4, loc)).toBe(false);
    expect([loc.view, loc.offset, loc.segment, loc.imageOffset, loc.gathered]).toEqual([view, 4, 0, 4, false]);
  });
});

describe('SegmentImage', () => {
  it('refuses no segments with a whole message', () => {
    expect(usageMessage(() => new SegmentImage([]))).toBe('an image needs at least one segment');
    expect(usageMessage(() => SegmentImage.region(new Uint8Array(17), 0xfffffffffffffff0n))).toBe(
      'segment at 0xfffffffffffffff0 does not fit a 64-bit address space',
    );
  });

  it('locates the first and last byte of the address space, and nothing outside it', () => {
    const top = SegmentImage.region(Uint8Array.from({ length: 16 }, (_, i) => i), 0xfffffffffffffff0n);
    const loc = new Location();
    expect(top.locate(TOP, 1, loc)).toBe(true);
    expect([loc.offset, loc.segment, loc.imageOffset, loc.view.getUint8(loc.offset)]).toEqual([15, 0, 15, 15]);
    expect(top.locate(0xfffffffffffffff0n, 16, loc)).toBe(true);
    expect(top.locate(0xfffffffffffffff0n, 17, loc)).toBe(false);
    expect(top.locate(0xffffffffffffffefn, 1, loc)).toBe(false);
    // -1 is not 2^64 - 1, and 2^64 is not 0: no wrapping in either direction.
    expect(top.locate(-1n, 1, loc)).toBe(false);
    expect(top.offsetOf(-1n)).toBeUndefined();
    expect(top.offsetOf(TOP)).toEqual({ segment: 0, offset: 15 });

    const bottom = SegmentImage.region(Uint8Array.from([7, 8, 9]), 0n);
    expect(bottom.locate(0n, 1, loc)).toBe(true);
    expect([loc.offset, loc.view.getUint8(loc.offset)]).toEqual([0, 7]);
    expect(bottom.locate(0n, 3, loc)).toBe(true);
    expect(bottom.locate(1n << 64n, 1, loc)).toBe(false);
    expect(bottom.locate((1n << 64n) + 1n, 1, loc)).toBe(false);
    expect(bottom.offsetOf(1n << 64n)).toBeUndefined();
    expect(bottom.offsetOf(0n)).toEqual({ segment: 0, offset: 0 });
    expect(bottom.offsetOf(3n)).toEqual({ segment: 0, offset: 3 }); // the end: a zero-size range fits
    expect(bottom.offsetOf(4n)).toBeUndefined();
  });

  it('explains a range by where it starts: inside a segment it runs past the end, else it is outside', () => {
    const image = new SegmentImage([
      { base: 0x3000n, bytes: new Uint8Array(0x20) },
      { base: 0x1000n, bytes: new Uint8Array(0x10) },
    ]);
    expect(image.explain(0x1000n, 0x40)).toBe('runs past the end of the captured memory at 0x1010 (16 of 64 bytes captured)');
    expect(image.explain(0x100fn, 2)).toBe('runs past the end of the captured memory at 0x1010 (1 of 2 bytes captured)');
    expect(image.explain(0x1010n, 4)).toBe('is outside the captured memory');
    expect(image.explain(0x0fffn, 4)).toBe('is outside the captured memory');
    expect(image.explain(0x3000n, 0x21)).toBe('runs past the end of the captured memory at 0x3020 (32 of 33 bytes captured)');
    expect(image.explain(0x301fn, 8)).toBe('runs past the end of the captured memory at 0x3020 (1 of 8 bytes captured)');
    expect(image.explain(0x3020n, 1)).toBe('is outside the captured memory');
    expect(image.explain(0x2fffn, 2)).toBe('is outside the captured memory');
    const top = SegmentImage.region(new Uint8Array(8), 0xfffffffffffffff8n);
    expect(top.explain(TOP, 8)).toBe('runs past the end of the captured memory at 0x10000000000000000 (1 of 8 bytes captured)');
  });

  it('sorts any number of segments by address; locate and offsetOf give indexes in that order', () => {
    // 24 segments of 8 bytes, 0x100 apart, given in a scrambled order; byte 0 of each is its rank.
    const order = Array.from({ length: 24 }, (_, i) => (i * 7 + 5) % 24);
    const image = new SegmentImage(order.map((k) => ({ base: 0x10000n + BigInt(k) * 0x100n, bytes: Uint8Array.of(k, 0, 0, 0, 0, 0, 0, 0xee) })));
    expect(image.kind).toBe('segments');
    expect([...image.ranges()]).toEqual(Array.from({ length: 24 }, (_, k) => ({ address: 0x10000n + BigInt(k) * 0x100n, length: 8 })));
    expect(image.segments.map((s) => s.bytes[0])).toEqual(Array.from({ length: 24 }, (_, k) => k));
    const loc = new Location();
    for (let k = 0; k < 24; k++) {
      const base = 0x10000n + BigInt(k) * 0x100n;
      expect(image.locate(base, 8, loc)).toBe(true);
      expect([loc.segment, loc.offset, loc.view.getUint8(loc.offset), loc.view.getUint8(loc.offset + 7)]).toEqual([k, 0, k, 0xee]);
      expect(image.locate(base + 1n, 8, loc)).toBe(false);
      expect(image.offsetOf(base + 8n)).toEqual({ segment: k, offset: 8 });
      expect(image.offsetOf(base + 9n)).toBeUndefined();
    }
  });

  it('accepts an empty segment at the base of a non-empty one given after it', () => {
    const image = new SegmentImage([
      { base: 0x1000n, bytes: new Uint8Array(0), name: 'empty' },
      { base: 0x1000n, bytes: new Uint8Array(16), name: 'full' },
    ]);
    expect(image.segments.map((s) => s.name)).toEqual(['empty', 'full']);
    // They touch: one range.
    expect([...image.ranges()]).toEqual([{ address: 0x1000n, length: 16 }]);
    const loc = new Location();
    expect(image.locate(0x1000n, 4, loc)).toBe(true);
    expect(loc.segment).toBe(1);
  });

  it('is zero-copy and writable: views respect the byte offset of the caller\'s buffer, writes reach it', () => {
    const backing = Uint8Array.from({ length: 32 }, (_, i) => i);
    const image = new SegmentImage([
      { base: 0x5000n, bytes: backing.subarray(8, 16) },
      { base: 0x4000n, bytes: backing.subarray(20, 24) },
    ]);
    expect(image.writable).toBe(true);
    const loc = new Location();
    expect(image.locate(0x5002n, 2, loc)).toBe(true);
    expect([loc.segment, loc.offset, loc.view.getUint8(loc.offset)]).toEqual([1, 2, 10]);
    loc.view.setUint8(loc.offset + 1, 0xab);
    expect(backing[11]).toBe(0xab);
    expect(image.locate(0x4000n, 4, loc)).toBe(true);
    expect([loc.segment, loc.view.getUint32(loc.offset, true)]).toEqual([0, 0x17161514]);
    expect(image.locate(0x4000n, 5, loc)).toBe(false);
    expect(image.locate(0x5000n, 9, loc)).toBe(false);
  });

  it('locateHalves agrees with locate at the 2^32 boundary', () => {
    const image = SegmentImage.region(new Uint8Array(0x10), 0xfffffff8n);
    const loc = new Location();
    for (const [a, size, ok, offset] of [
      [0xfffffff8n, 16, true, 0],
      [0xffffffffn, 1, true, 7],
      [0x100000000n, 8, true, 8],
      [0x100000007n, 1, true, 15],
      [0x100000008n, 1, false, -1],
      [0xfffffff7n, 1, false, -1],
    ] as const) {
      expect(image.locateHalves(lo32(a), hi32(a), size, loc), a.toString(16)).toBe(ok);
      expect(image.locate(a, size, loc), a.toString(16)).toBe(ok);
      if (ok) expect(loc.offset).toBe(offset);
    }
  });
});
