/**
 * Physical memory sources at their exact edges: the last byte of a file, the last frame, the frame
 * one past it, a frame cut short by a truncated file, the largest PFN x64 can address, and the LRU
 * cache at its smallest.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferSource, FileSource, FramedMemory, MAX_PFN, PAGE_SIZE, RawPhysicalMemory, UsageError } from '../../src/index.js';

/** Frames whose every byte says which frame it is (frame k filled with k + 1). */
const frames = (count: number, extra = 0): Uint8Array => {
  const b = new Uint8Array(count * PAGE_SIZE + extra);
  for (let k = 0; k <= count; k++) b.fill(k + 1, k * PAGE_SIZE, Math.min(b.length, (k + 1) * PAGE_SIZE));
  return b;
};

const dir = mkdtempSync(join(tmpdir(), 'ndis-physical-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('BufferSource.read', () => {
  const src = new BufferSource(Uint8Array.from([1, 2, 3, 4, 5]));
  it('reads what is there, short at the end, nothing at or past it or before it', () => {
    const into = new Uint8Array(3);
    expect(src.read(into, 0)).toBe(3);
    expect([...into]).toEqual([1, 2, 3]);
    expect(src.read(into.fill(0), 3)).toBe(2);
    expect([...into]).toEqual([4, 5, 0]);
    expect(src.read(into.fill(9), 4)).toBe(1);
    expect([...into]).toEqual([5, 9, 9]);
    for (const position of [5, 6, -1, Number.NaN]) expect(src.read(into.fill(9), position), String(position)).toBe(0);
    expect([...into]).toEqual([9, 9, 9]);
    // A negative position is not counted from the end, however large the buffer.
    const big = new Uint8Array(10).fill(9);
    for (const position of [-1, -4, Number.NaN]) expect(src.read(big, position), String(position)).toBe(0);
    expect([...big]).toEqual(new Array(10).fill(9));
  });
  it('counts calls and bytes', () => {
    const s = new BufferSource(new Uint8Array(10), 'ten');
    s.read(new Uint8Array(4), 8);
    s.read(new Uint8Array(4), 10);
    expect([s.reads, s.bytesRead, s.size, s.name]).toEqual([2, 2, 10, 'ten']);
  });
});

describe('FileSource.read', () => {
  const path = join(dir, 'five.bin');
  writeFileSync(path, Uint8Array.from([1, 2, 3, 4, 5]));
  it('reads up to the end of the file and no further; nothing past it, without a read call', () => {
    const f = new FileSource(path);
    const into = new Uint8Array(4);
    expect(f.size).toBe(5);
    expect(f.read(into, 3)).toBe(2);
    expect([...into.subarray(0, 2)]).toEqual([4, 5]);
    const calls = f.reads;
    expect(f.read(into, 5)).toBe(0);
    expect(f.reads).toBe(calls);
    expect(f.read(into, 4)).toBe(1);
    expect(f.bytesRead).toBe(3);
    // One call per read that the file can fill, none for the part past its end.
    expect(f.reads).toBe(2);
    expect(f.read(new Uint8Array(5), 0)).toBe(5);
    expect(f.read(new Uint8Array(50), 0)).toBe(5);
    expect([f.reads, f.bytesRead]).toEqual([4, 13]);
    f.close();
  });
  it('refuses to read once closed (UsageError), and closing twice is harmless', () => {
    const f = new FileSource(path);
    f.close();
    f.close();
    expect(() => f.read(new Uint8Array(1), 0)).toThrow(UsageError);
    expect(() => f.read(new Uint8Array(1), 0)).toThrow(/five\.bin is closed/);
  });
});

describe('RawPhysicalMemory at its last frame', () => {
  it('counts whole frames only: a partial frame at the end is not one', () => {
    expect(RawPhysicalMemory.fromBytes(frames(2, PAGE_SIZE - 1)).frameLimit).toBe(2);
    expect(RawPhysicalMemory.fromBytes(frames(2)).frameLimit).toBe(2);
    expect(RawPhysicalMemory.fromBytes(frames(3)).frameLimit).toBe(3);
    expect(RawPhysicalMemory.fromBytes(new Uint8Array(PAGE_SIZE - 1)).frameLimit).toBe(0);
  });
  it('has, reads and places the last frame; not the one after, nor a negative one', () => {
    const m = RawPhysicalMemory.fromBytes(frames(3));
    expect([m.hasFrame(2), m.hasFrame(3), m.hasFrame(-1)]).toEqual([true, false, false]);
    expect(m.readFrame(2)![0]).toBe(3);
    expect(m.readFrame(2)![PAGE_SIZE - 1]).toBe(3);
    expect(m.readFrame(3)).toBeUndefined();
    expect(m.readFrame(-1)).toBeUndefined();
    expect([m.fileOffsetOf(2), m.fileOffsetOf(3), m.fileOffsetOf(-1)]).toEqual([2 * PAGE_SIZE, undefined, undefined]);
    expect(m.frame(2)!.fileOffset).toBe(2 * PAGE_SIZE);
  });
  it('extent: stored frames up to the last, absent ones from the limit on', () => {
    const m = RawPhysicalMemory.fromBytes(frames(3));
    expect(m.extent(0, 10, true)).toBe(3);
    expect(m.extent(2, 10, true)).toBe(1);
    expect(m.extent(1, 1, true)).toBe(1);
    expect(m.extent(3, 10, true)).toBe(0);
    expect(m.extent(-1, 10, true)).toBe(0);
    expect(m.extent(2, 10, false)).toBe(0);
    expect(m.extent(3, 10, false)).toBe(10);
    expect(m.extent(-1, 4, false)).toBe(4);
  });
  it('says why a frame is absent, with the PFN and the bound it broke', () => {
    const m = RawPhysicalMemory.fromBytes(frames(3));
    expect(m.missingReason(3)).toBe('PFN 0x3 not stored (beyond the last stored frame 0x2)');
    expect(m.missingReason(-1)).toBe('PFN 0x-1 is not a physical page');
    expect(m.missingReason(MAX_PFN)).toBe(`PFN 0x${MAX_PFN.toString(16)} is not a physical page`);
    expect(m.missingReason(MAX_PFN - 1)).toMatch(/^PFN 0xffffffffff not stored \(beyond the last stored frame 0x2\)$/);
    expect(m.describe()).toBe(`raw physical memory image buffer (0x3000 bytes, 3 frames)`);
  });
});

/** A map with a hole and a frame that lies past the end of a truncated file. */
class Mapped extends FramedMemory {
  constructor(bytes: Uint8Array, cacheFrames?: number) {
    super(new BufferSource(bytes, 'mapped'), 4, cacheFrames);
  }
  protected offsetOf(pfn: number): number {
    return [0, -1, PAGE_SIZE, 2 * PAGE_SIZE][pfn] ?? -1;
  }
  protected notStoredReason(pfn: number): string {
    return `hole at ${pfn}`;
  }
  describe(): string {
    return 'mapped';
  }
}

describe('FramedMemory over a map (a dump\'s kind)', () => {
  it('frameLimit bounds what is stored even where the map would place a frame', () => {
    // A map that places every PFN, negative ones included, in the file; the limit is 2.
    const m = new (class extends FramedMemory {
      protected offsetOf(pfn: number): number {
        return (((pfn % 3) + 3) % 3) * PAGE_SIZE;
      }
      protected notStoredReason(): string {
        return 'never';
      }
      describe(): string {
        return 'everywhere';
      }
    })(new BufferSource(frames(3)), 2);
    expect([m.hasFrame(0), m.hasFrame(1), m.hasFrame(2), m.hasFrame(-1), m.hasFrame(-3)]).toEqual([true, true, false, false, false]);
    expect([m.fileOffsetOf(1), m.fileOffsetOf(2), m.fileOffsetOf(-1)]).toEqual([PAGE_SIZE, undefined, undefined]);
    expect([m.readFrame(2), m.readFrame(-1)]).toEqual([undefined, undefined]);
    expect(m.extent(0, 5, true)).toBe(2);
    expect(m.extent(-2, 5, false)).toBe(2);
  });

  it('a frame that ends exactly at the end of the file is stored; one byte short, it is not', () => {
    const whole = new Mapped(frames(3));
    expect(whole.hasFrame(3)).toBe(true);
    expect(whole.readFrame(3)![PAGE_SIZE - 1]).toBe(3);
    const short = new Mapped(frames(2, PAGE_SIZE - 1));
    expect(short.hasFrame(3)).toBe(false);
    expect(short.readFrame(3)).toBeUndefined();
    expect(short.fileOffsetOf(3)).toBe(2 * PAGE_SIZE); // where it belongs, though cut off
    expect(short.missingReason(3)).toBe('PFN 0x3 not stored: it belongs at file offset 0x2000, past the end of the truncated file (0x2fff bytes)');
  });
  it('holes, and PFNs at and past the limit', () => {
    const m = new Mapped(frames(3));
    expect([m.hasFrame(1), m.fileOffsetOf(1), m.missingReason(1)]).toEqual([false, undefined, 'PFN 0x1 not stored (hole at 1)']);
    expect([m.hasFrame(4), m.fileOffsetOf(4)]).toEqual([false, undefined]);
    expect(m.missingReason(4)).toBe('PFN 0x4 not stored (beyond the last stored frame 0x3)');
    expect(m.extent(0, 4, true)).toBe(1);
    expect(m.extent(1, 4, false)).toBe(1);
    expect(m.extent(2, 4, true)).toBe(2);
    expect(m.extent(2, 1, true)).toBe(1);
  });
  it('a frame the source cannot read in full: undefined, and its slot is used again', () => {
    class Failing extends BufferSource {
      fail = true;
      override read(into: Uint8Array, position: number): number {
        return this.fail ? Math.min(1, super.read(into, position)) : super.read(into, position);
      }
    }
    const src = new Failing(frames(3));
    const m = new (class extends FramedMemory {
      protected offsetOf(pfn: number): number {
        return pfn * PAGE_SIZE;
      }
      protected notStoredReason(): string {
        return '';
      }
      describe(): string {
        return '';
      }
    })(src, 3, 1);
    expect(m.frame(0)).toBeUndefined();
    expect(m.missingReason(0)).toBe('PFN 0x0 could not be read from file offset 0x0');
    src.fail = false;
    expect(m.frame(0)!.bytes[0]).toBe(1);
    expect(m.stats.frameReads).toBe(2);
  });
});

describe('the frame cache', () => {
  it('takes 1 to 2^20 frames, nothing else', () => {
    for (const n of [0, -1, 1.5 - 1, Number.NaN, 2 ** 20 + 1]) {
      expect(() => RawPhysicalMemory.fromBytes(frames(1), n), String(n)).toThrow(UsageError);
    }
    expect(() => RawPhysicalMemory.fromBytes(frames(1), 2 ** 20 + 1)).toThrow('the frame cache needs 1 to 2^20 frames, not 1048577');
    expect(RawPhysicalMemory.fromBytes(frames(1), 1).readFrame(0)![0]).toBe(1);
  });
  it('with one slot, each new frame evicts the last; the bytes of a frame kept are still its own', () => {
    const m = RawPhysicalMemory.fromBytes(frames(3), 1);
    const a = m.frame(0)!;
    expect([a.pfn, a.bytes[0]]).toEqual([0, 1]);
    m.frame(1);
    expect([a.pfn, a.bytes[0]]).toEqual([1, 2]); // the one slot, recycled
    m.frame(1);
    expect(m.stats).toEqual({ frameReads: 2, cacheHits: 1 });
  });
  it('is least recently used: a frame touched again outlives one read after it', () => {
    const m = RawPhysicalMemory.fromBytes(frames(4), 2);
    m.frame(0);
    m.frame(1);
    m.frame(0); // 0 is now the most recent
    m.frame(2); // evicts 1
    const reads = m.stats.frameReads;
    m.frame(0);
    expect(m.stats.frameReads).toBe(reads);
    m.frame(1);
    expect(m.stats.frameReads).toBe(reads + 1);
  });
  it('touch() keeps a frame held elsewhere (a TLB) in the cache: from the back, the middle, or the front (no change)', () => {
    // Frames 0, 1, 2 read in that order into three slots (newest first: 2 1 0); touch some; read 3.
    // The slot recycled for 3 is the least recently used one: its Frame object now says PFN 3.
    const cases: [touched: number[], evicted: number][] = [
      [[], 0],
      [[0], 1], // the oldest moved to the front: the tail moves on
      [[0, 0], 1],
      [[1], 0], // the middle one
      [[2], 0], // the newest: nothing changes
      [[1, 0], 2],
    ];
    for (const [touched, evicted] of cases) {
      const m = RawPhysicalMemory.fromBytes(frames(4), 3);
      const held = [0, 1, 2].map((pfn) => m.frame(pfn)!);
      for (const k of touched) m.touch(held[k]!);
      m.frame(3);
      expect(held.map((f) => f.pfn), `touched ${touched}`).toEqual([0, 1, 2].map((pfn) => (pfn === evicted ? 3 : pfn)));
      expect(m.stats.frameReads).toBe(4);
    }
  });
  it('close() empties the cache and closes the source', () => {
    let closed = 0;
    const src = new BufferSource(frames(2));
    src.close = () => void closed++;
    const m = new RawPhysicalMemory(src, 2);
    const f = m.frame(0)!;
    m.close();
    expect([f.pfn, closed]).toEqual([-1, 1]);
  });
});
