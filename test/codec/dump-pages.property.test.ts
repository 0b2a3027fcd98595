/**
 * The page maps of crash dumps against the plainest code that could answer the same questions:
 * the bitmap's rank index (has, rank, select, the word-at-a-time extent) against bit-by-bit loops,
 * and the range walks of full and bitmap dumps (extent) against FramedMemory's own, one hasFrame()
 * per frame, on random bitmaps and runs, with files cut short anywhere.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BitmapIndex, BitmapMemory, RunMemory, popcount32 } from '../../src/codec/dump-pages.js';
import { BufferSource, FramedMemory, PAGE_SIZE } from '../../src/codec/physical.js';

/** Words made of long runs of set and clear bits (so whole words of each), with noise. */
const words = fc.array(fc.oneof(fc.constant(0), fc.constant(0xffffffff), fc.nat({ max: 0xffffffff })), { maxLength: 40 });

/** The bitmap's bits as booleans, as the index sees them (bits past `bits` are ignored). */
const bitsOf = (ws: readonly number[], bits: number): boolean[] =>
  Array.from({ length: bits }, (_, i) => (((ws[i >>> 5]! >>> (i & 31)) & 1) === 1));

/** PFNs below 0 and from `size` on count as clear. */
const naiveExtent = (bit: (i: number) => boolean, size: number, pfn: number, count: number, stored: boolean): number => {
  let n = 0;
  while (n < count) {
    if (pfn + n >= size) return stored ? n : count;
    if ((pfn + n >= 0 && bit(pfn + n)) !== stored) return n;
    n++;
  }
  return n;
};

const baseExtent = (m: FramedMemory, pfn: number, count: number, stored: boolean): number => FramedMemory.prototype.extent.call(m, pfn, count, stored);

describe('popcount32', () => {
  it('counts the set bits of any 32-bit word', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), (x) => {
        let n = 0;
        for (let b = 0; b < 32; b++) n += (x >>> b) & 1;
        expect(popcount32(x)).toBe(n);
      }),
    );
    expect([popcount32(0), popcount32(0xffffffff), popcount32(0x80000000), popcount32(1)]).toEqual([0, 32, 1, 1]);
  });
});

describe('BitmapIndex against bit-by-bit loops', () => {
  it('has, rank, select, total and extent agree on random bitmaps of any length', () => {
    fc.assert(
      fc.property(words, fc.nat(1280), fc.array(fc.tuple(fc.integer({ min: -40, max: 1320 }), fc.nat(100), fc.boolean()), { minLength: 1, maxLength: 20 }), (ws, cut, probes) => {
        const bits = Math.min(cut, ws.length * 32);
        const flags = bitsOf(ws, bits);
        // As BitmapIndex.read makes them: ceil(bits / 32) words, the last one's spare bits anything.
        const index = new BitmapIndex(Uint32Array.from(ws.slice(0, Math.ceil(bits / 32))), bits);
        const set = flags.flatMap((f, i) => (f ? [i] : []));
        expect(index.total).toBe(set.length);
        expect(index.bits).toBe(bits);
        for (let pfn = -2; pfn < bits + 40; pfn++) expect(index.has(pfn), `has ${pfn}`).toBe(pfn >= 0 && pfn < bits && flags[pfn]!);
        let below = 0;
        for (let pfn = 0; pfn <= bits; pfn++) {
          expect(index.rank(pfn), `rank ${pfn}`).toBe(below);
          if (flags[pfn]) below++;
        }
        expect([index.rank(-1), index.rank(bits + 1), index.rank(bits + 100)]).toEqual([0, set.length, set.length]);
        for (let k = 0; k < set.length + 3; k++) expect(index.select(k), `select ${k}`).toBe(set[k] ?? bits);
        for (const [pfn, count, stored] of probes) {
          expect(index.extent(pfn, count, stored), `extent ${pfn} ${count} ${stored}`).toBe(naiveExtent((i) => flags[i]!, bits, pfn, count, stored));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('rank at the very end of a bitmap whose last block of counts is full (16 or 32 words, every bit set)', () => {
    for (const words of [16, 32, 17]) {
      const index = new BitmapIndex(new Uint32Array(words).fill(0xffffffff), words * 32);
      expect([index.rank(words * 32), index.rank(words * 32 - 1), index.total], String(words)).toEqual([words * 32, words * 32 - 1, words * 32]);
      expect(index.select(words * 32 - 1)).toBe(words * 32 - 1);
      expect(index.select(words * 32)).toBe(words * 32);
    }
  });

  it('extent skips whole words only when all 32 bits are the same and wanted', () => {
    // 64 set bits then one clear one: from 0, 64 stored; from 1 (not word-aligned), 63.
    const index = new BitmapIndex(Uint32Array.from([0xffffffff, 0xffffffff, 0xfffffffe]), 96);
    expect(index.extent(0, 200, true)).toBe(64);
    expect(index.extent(1, 200, true)).toBe(63);
    expect(index.extent(32, 32, true)).toBe(32);
    expect(index.extent(32, 31, true)).toBe(31);
    // A word cut by `bits`: the skip must not run past the end.
    const cut = new BitmapIndex(Uint32Array.from([0xffffffff, 0xffffffff]), 40);
    expect(cut.extent(32, 100, true)).toBe(8);
    expect(cut.extent(32, 100, false)).toBe(0);
    expect(cut.extent(40, 100, false)).toBe(100);
    const clear = new BitmapIndex(Uint32Array.from([0, 0, 1]), 96);
    expect(clear.extent(0, 200, false)).toBe(64);
    expect(clear.extent(0, 64, false)).toBe(64);
  });
});

/** Fills page k of a dump's data with k + 1 (mod 256), so that a wrong file offset shows. */
const sourceOf = (dataStart: number, pages: number, trim: number): BufferSource => {
  const size = Math.max(0, dataStart + pages * PAGE_SIZE - trim);
  const b = new Uint8Array(size);
  for (let k = 0; k < pages; k++) b.fill((k + 1) & 255, dataStart + k * PAGE_SIZE, Math.min(size, dataStart + (k + 1) * PAGE_SIZE));
  return new BufferSource(b);
};

describe('the range walks of dumps against one hasFrame() per frame', () => {
  it('full dumps: runs in any order, gaps between them, the file cut anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(20), fc.integer({ min: 0, max: 8 })), { maxLength: 5 }), // (a run of no pages: a hostile header's)
        fc.nat(12 * PAGE_SIZE),
        fc.array(fc.tuple(fc.integer({ min: -3, max: 140 }), fc.nat(60), fc.boolean()), { minLength: 1, maxLength: 12 }),
        (gaps, trim, probes) => {
          // Runs laid end to end in PFN space with gaps, then stored in reverse order in the file.
          let pfn = 0;
          const runs = gaps.map(([gap, count]) => {
            const r = { basePage: (pfn += gap), pageCount: count };
            pfn += count;
            return r;
          });
          const stored = [...runs].reverse();
          const pages = runs.reduce((n, r) => n + r.pageCount, 0);
          const m = new RunMemory(sourceOf(0x2000, pages, trim), 0x2000, stored, 4);
          for (const [p, count, want] of probes) expect(m.extent(p, count, want), `extent ${p} ${count} ${want}`).toBe(baseExtent(m, p, count, want));
          // Every stored frame reads the page the file order puts there.
          let filePage = 0;
          for (const r of stored) {
            for (let d = 0; d < r.pageCount; d++, filePage++) {
              const f = m.readFrame(r.basePage + d);
              if (m.hasFrame(r.basePage + d)) expect(f![0]).toBe((filePage + 1) & 255);
              else expect(f).toBeUndefined();
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('bitmap dumps: any bitmap, the file cut anywhere', () => {
    fc.assert(
      fc.property(
        words.filter((ws) => ws.length <= 4),
        fc.nat(128),
        fc.nat(40 * PAGE_SIZE),
        fc.array(fc.tuple(fc.integer({ min: -3, max: 140 }), fc.nat(60), fc.boolean()), { minLength: 1, maxLength: 12 }),
        (ws, cut, trim, probes) => {
          const bits = Math.min(cut, ws.length * 32);
          const index = new BitmapIndex(Uint32Array.from(ws.slice(0, Math.ceil(bits / 32))), bits);
          const m = new BitmapMemory(sourceOf(0x3000, index.total, trim), index, 0x3000, 4);
          for (const [p, count, want] of probes) expect(m.extent(p, count, want), `extent ${p} ${count} ${want}`).toBe(baseExtent(m, p, count, want));
          for (let p = 0; p < bits; p++) {
            const f = m.readFrame(p);
            if (m.hasFrame(p)) expect(f![0]).toBe((index.rank(p) + 1) & 255);
            else expect(f).toBeUndefined();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a full dump without runs stores nothing', () => {
    const m = new RunMemory(new BufferSource(new Uint8Array(0x2000)), 0x2000, []);
    expect([m.frameLimit, m.hasFrame(0), m.extent(0, 5, true), m.extent(0, 5, false)]).toEqual([0, false, 0, 5]);
    expect(m.describe()).toBe('full memory dump buffer (0 runs)');
  });
});
