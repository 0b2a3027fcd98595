import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type AddressSpace, buildAddressSpace, writeBitmapDump, writeFullDump, writeRawPhysical, type WriterRegion } from '../../src/codec/dump-writer.js';
import { readDump } from '../../src/codec/dump.js';
import { Location, hi32, lo32 } from '../../src/codec/image.js';
import { PagedImage } from '../../src/codec/paged.js';
import { BufferSource, FileSource, RawPhysicalMemory } from '../../src/codec/physical.js';

type Kind = 'full' | 'bitmap' | 'raw';
const KINDS: Kind[] = ['full', 'bitmap', 'raw'];

function bytesOf(n: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  return Uint8Array.from({ length: n }, () => ((x = Math.imul(x ^ (x >>> 13), 0x5bd1e995) + 0x6b43a9b5) >>> 24) & 0xff);
}

function serialise(space: AddressSpace, kind: Kind): Uint8Array {
  return (kind === 'full' ? writeFullDump(space) : kind === 'bitmap' ? writeBitmapDump(space) : writeRawPhysical(space)).toBytes();
}

function open(space: AddressSpace, kind: Kind, options?: ConstructorParameters<typeof PagedImage>[2], cacheFrames?: number): { image: PagedImage; file: Uint8Array } {
  const file = serialise(space, kind);
  const src = new BufferSource(file);
  const image = kind === 'raw' ? new PagedImage(new RawPhysicalMemory(src, cacheFrames), space.dtb, options) : readDump(src, { cacheFrames }).image(options);
  return { image, file };
}

/** Every byte, and every 8-byte window, of every region reads back through locate. */
function expectReadsBack(image: PagedImage, regions: readonly WriterRegion[]): void {
  const loc = new Location();
  for (const r of regions) {
    for (let i = 0; i < r.bytes.length; i++) {
      if (!image.locate(r.address + BigInt(i), 1, loc)) throw new Error(image.explain(r.address + BigInt(i), 1));
      if (loc.view.getUint8(loc.offset) !== r.bytes[i]) throw new Error(`byte ${i} of 0x${r.address.toString(16)} differs`);
    }
    for (let i = 0; i + 8 <= r.bytes.length; i += 5) {
      expect(image.locate(r.address + BigInt(i), 8, loc)).toBe(true);
      expect(new Uint8Array(loc.view.buffer, loc.view.byteOffset + loc.offset, 8)).toEqual(r.bytes.subarray(i, i + 8));
    }
    expect(image.locate(r.address, r.bytes.length, loc)).toBe(true);
    expect(new Uint8Array(loc.view.buffer, loc.view.byteOffset + loc.offset, r.bytes.length)).toEqual(r.bytes);
  }
}

const K = 0xfffff80000000000n;
const REGIONS: WriterRegion[] = [
  { address: K + 0x12345f00n, bytes: bytesOf(10_000, 1) },
  { address: K + 0x20000000n + 0x7ffn, bytes: bytesOf(300, 2) },
  { address: 0xffffa00000000000n + 0x1ff800n, bytes: bytesOf(0x1000, 3), pageSize: 0x200000 },
  { address: 0xffffa00000400000n, bytes: bytesOf(0x2000, 4), pageSize: 0x200000 },
  { address: 0xffff800000000000n, bytes: bytesOf(64, 5) },
];

describe('PagedImage round trips', () => {
  for (const kind of KINDS) {
    for (const scatter of [undefined, 42]) {
      it(`${kind} dump, scatter ${scatter}: every byte of every region reads back`, () => {
        const space = buildAddressSpace(REGIONS, scatter === undefined ? {} : { scatter });
        expectReadsBack(open(space, kind).image, REGIONS);
      });
    }
  }

  it('locateHalves agrees with locate and the hot path reports file offsets', () => {
    const space = buildAddressSpace(REGIONS, { scatter: 3 });
    const { image, file } = open(space, 'full');
    const a = new Location();
    const b = new Location();
    const addr = K + 0x12346010n;
    expect(image.locate(addr, 16, a)).toBe(true);
    expect(image.locateHalves(lo32(addr), hi32(addr), 16, b)).toBe(true);
    expect(b.view).toBe(a.view);
    expect(b.offset).toBe(a.offset);
    expect(a.gathered).toBe(false);
    expect(a.segment).toBe(-1);
    expect(file.subarray(a.imageOffset, a.imageOffset + 16)).toEqual(REGIONS[0]!.bytes.subarray(0x110, 0x120));
    // Zero-copy: a second range in the same page is a view of the same cached frame.
    expect(image.locate(addr + 0x100n, 4, b)).toBe(true);
    expect(b.view).toBe(a.view);
  });

  it('raw images report the physical address as the image offset', () => {
    const space = buildAddressSpace(REGIONS, { scatter: 5 });
    const { image } = open(space, 'raw');
    const loc = new Location();
    const addr = K + 0x20000000n + 0x7ffn;
    expect(image.locate(addr, 1, loc)).toBe(true);
    expect(BigInt(loc.imageOffset)).toBe(image.physicalAddress(addr));
  });

  it('a one-entry TLB still answers right (every access collides)', () => {
    const space = buildAddressSpace(REGIONS, { scatter: 9 });
    expectReadsBack(open(space, 'bitmap', { tlbEntries: 1 }).image, REGIONS);
  });

  it('a one-frame cache recycles its slot under a large TLB and still answers right', () => {
    const space = buildAddressSpace(REGIONS, { scatter: 9 });
    for (const kind of KINDS) {
      const { image } = open(space, kind, { tlbEntries: 4096 }, 1);
      expectReadsBack(image, REGIONS);
      expect([...image.ranges()].length).toBeGreaterThan(0);
    }
  });

  it('a located view survives as long as the cache holds its frame (LRU, not FIFO)', () => {
    const space = buildAddressSpace(REGIONS, { scatter: 9 });
    const { image } = open(space, 'full', {}, 8);
    const a = new Location();
    const b = new Location();
    expect(image.locate(K + 0x12346000n, 8, a)).toBe(true);
    const before = a.view.getBigUint64(a.offset, true);
    // Re-touching the page through the TLB keeps it young while other pages stream through.
    for (let i = 0; i < 50; i++) {
      expect(image.locate(K + 0x12346000n, 8, b)).toBe(true);
      expect(image.locate(0xffffa00000000000n + 0x1ff800n + BigInt((i % 3) * 0x1000), 8, b)).toBe(true);
    }
    expect(a.view.getBigUint64(a.offset, true)).toBe(before);
  });

  it('gathered ranges come from 16 rotating buffers, larger ones are allocated', () => {
    const space = buildAddressSpace(REGIONS, { scatter: 9 });
    const { image } = open(space, 'full');
    const views = new Set<ArrayBufferLike>();
    const loc = new Location();
    for (let i = 0; i < 16; i++) {
      expect(image.locate(K + 0x12346000n - BigInt(i + 1), 32, loc)).toBe(true);
      expect(loc.gathered).toBe(true);
      expect(loc.imageOffset).toBe(-1);
      views.add(loc.view.buffer);
    }
    expect(views.size).toBe(16);
    expect(image.locate(K + 0x12345f00n, 9000, loc)).toBe(true);
    expect(loc.view.byteLength).toBe(9000);
  });

  it('rejects sizes that are negative or not numbers', () => {
    const { image } = open(buildAddressSpace(REGIONS), 'raw');
    const loc = new Location();
    expect(image.locate(K + 0x12345f00n, 0, loc)).toBe(true);
    expect(image.locate(K + 0x12345f00n, -1, loc)).toBe(false);
    expect(image.locate(K + 0x12345f00n, Number.NaN, loc)).toBe(false);
    expect(image.locate(-1n, 1, loc)).toBe(false);
    expect(image.locate(1n << 64n, 1, loc)).toBe(false);
  });
});

describe('straddling a page boundary', () => {
  // Two virtual pages mapped to frames far apart (and in reverse order or not: scatter decides).
  const P = K + 0x5000000n;
  const data = bytesOf(0x2000, 77);
  const region = { address: P - 0x1000n, bytes: data };
  const space = buildAddressSpace([region], { scatter: 1234, physicalPages: 0x8000 });

  it('the two pages live in distant frames', () => {
    const { image } = open(space, 'raw');
    const a = image.physicalAddress(P - 1n)!;
    const b = image.physicalAddress(P)!;
    expect(b - a === 1n).toBe(false);
    expect(b > a ? b - a : a - b).toBeGreaterThan(0x10000n);
  });

  for (const kind of KINDS) {
    const { image } = open(space, kind);
    const loc = new Location();
    // Plain comparisons (expect() per byte would dominate the run time); details only on failure.
    const check = (size: number, delta: number): void => {
      const address = P + BigInt(delta);
      if (!image.locate(address, size, loc)) throw new Error(image.explain(address, size));
      if (loc.gathered !== (delta < 0 && delta + size > 0)) throw new Error(`gathered wrong at ${delta}+${size}`);
      const at = 0x1000 + delta;
      for (let i = 0; i < size; i++) {
        if (loc.view.getUint8(loc.offset + i) !== data[at + i]) throw new Error(`byte ${i} of ${delta}+${size} differs`);
      }
    };

    it(`${kind}: every size 1..300 at every straddling offset`, () => {
      for (let size = 2; size <= 300; size++) for (let delta = 1 - size; delta < 0; delta++) check(size, delta);
    });

    it(`${kind}: property over sizes and positions around the boundary`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: -600, max: 300 }), (size, delta) => check(size, delta)),
        { numRuns: 2000 },
      );
    });
  }
});

describe('large pages', () => {
  it('2 MiB pages in full, bitmap and raw images', () => {
    const regions: WriterRegion[] = [{ address: 0xffffc00000200000n - 0x10n, bytes: bytesOf(0x40, 11), pageSize: 0x200000 }];
    for (const kind of KINDS) expectReadsBack(open(buildAddressSpace(regions, { scatter: 2 }), kind).image, regions);
  });

  const dir = mkdtempSync(join(tmpdir(), 'ndis-paged-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('1 GiB pages in a bitmap dump and in a sparse raw image', () => {
    const regions: WriterRegion[] = [
      { address: 0xffffd00040000000n + 0x12345ff0n, bytes: bytesOf(0x3000, 12), pageSize: 0x40000000 },
      { address: 0xffffd00000000000n + 0x3fffff00n, bytes: bytesOf(0x100, 13), pageSize: 0x40000000 },
    ];
    const space = buildAddressSpace(regions, { scatter: 8 });
    const bitmap = open(space, 'bitmap').image;
    expectReadsBack(bitmap, regions);
    // Frames of the 1 GiB page that hold no data were not stored: a precise explanation.
    expect(bitmap.locate(0xffffd00040000000n, 8, new Location())).toBe(false);
    expect(bitmap.explain(0xffffd00040000000n, 8)).toMatch(/^is not readable: page not in the dump \(PFN 0x[0-9a-f]+ not stored/);

    const path = join(dir, 'raw.bin');
    writeRawPhysical(space).toFile(path);
    const source = new FileSource(path);
    try {
      const raw = new PagedImage(new RawPhysicalMemory(source), space.dtb);
      expectReadsBack(raw, regions);
      expect(source.bytesRead).toBeLessThan(1 << 20);
    } finally {
      source.close();
    }
  });
});

describe('software PTEs and missing pages', () => {
  const base = K + 0x30000000n;
  const regions: WriterRegion[] = [{ address: base, bytes: bytesOf(0x6000, 21) }, { address: 0x00007ffffffff000n, bytes: bytesOf(0x1000, 22) }];
  const space = buildAddressSpace(regions, {
    scatter: 6,
    transition: [base + 0x1000n],
    missing: [base + 0x2000n],
    pagedOut: [base + 0x3000n],
    notStored: [base + 0x4000n],
  });

  for (const kind of KINDS) {
    const { image } = open(space, kind);
    const loc = new Location();

    it(`${kind}: transition PTEs are honoured`, () => {
      const pte = space.entryOf(base + 0x1000n, 3)!;
      const value = new DataView(space.frames.get(pte.pfn)!.buffer).getBigUint64(pte.offset, true);
      expect(value & 1n).toBe(0n);
      expect(value & 0xc00n).toBe(0x800n);
      expectReadsBack(image, [{ address: base, bytes: regions[0]!.bytes.subarray(0, 0x2000) }]);
      expect(image.explain(base + 0x1000n, 8)).toBe('is readable');
    });

    it(`${kind}: missing pages give false and an explanation naming the first missing byte`, () => {
      expect(image.locate(base + 0x2000n, 1, loc)).toBe(false);
      expect(image.explain(base + 0x2010n, 4)).toMatch(/^is not readable: PTE not present at physical 0x[0-9a-f]+ \(entry 0: never mapped\)$/);
      expect(image.locate(base + 0x1ffcn, 8, loc)).toBe(false);
      expect(image.explain(base + 0x1ffcn, 8)).toMatch(/^reaches 0xfffff80030002000 \(byte 4 of 8\), which is not readable: PTE not present/);
      expect(image.locate(base + 0x3000n, 1, loc)).toBe(false);
      expect(image.explain(base + 0x3000n, 1)).toMatch(/paged out \(software PTE 0x[0-9a-f]+ at physical 0x/);
      expect(image.locate(base + 0x4000n, 1, loc)).toBe(false);
      expect(image.explain(base + 0x4000n, 1)).toMatch(/page not in the dump \(PFN 0x[0-9a-f]+ not stored/);
      expect(image.locate(base + 0x5000n, 0x1000, loc)).toBe(true);
    });
  }

  it('a transition PTE with the Prototype bit is not honoured', () => {
    const s = buildAddressSpace(regions, { transition: [base + 0x1000n] });
    const pte = s.entryOf(base + 0x1000n, 3)!;
    const dv = new DataView(s.frames.get(pte.pfn)!.buffer);
    dv.setBigUint64(pte.offset, dv.getBigUint64(pte.offset, true) | 0x400n, true);
    const { image } = open(s, 'bitmap');
    expect(image.locate(base + 0x1000n, 1, new Location())).toBe(false);
    expect(image.explain(base + 0x1000n, 1)).toMatch(/prototype PTE/);
  });

  it('explains missing upper-level entries and tables that are not in the dump', () => {
    const { image } = open(space, 'full');
    expect(image.explain(0xffff900000000000n, 1)).toMatch(/^is not readable: PML4E not present at physical 0x/);
    expect(image.explain(K + 0x4000000000n, 1)).toMatch(/PDPTE not present/);
    expect(image.explain(K + 0x30400000n, 1)).toMatch(/PDE not present/);
    const s = buildAddressSpace(regions);
    const pde = s.entryOf(base, 2)!;
    new DataView(s.frames.get(pde.pfn)!.buffer).setBigUint64(pde.offset, (0x7ffff0n << 12n) | 0x63n, true);
    expect(open(s, 'bitmap').image.explain(base, 1)).toMatch(/the page table at PFN 0x7ffff0 is not in the dump \(PFN 0x7ffff0 not stored/);
  });

  it('non-canonical addresses and ranges running into the hole', () => {
    const { image } = open(space, 'raw');
    const loc = new Location();
    expect(image.locate(0x0000800000000000n, 1, loc)).toBe(false);
    expect(image.locateHalves(0, 0x00008000, 1, loc)).toBe(false);
    expect(image.explain(0x0000800000000000n, 1)).toMatch(/non-canonical/);
    expect(image.locate(0x00007ffffffffff0n, 0x20, loc)).toBe(false);
    expect(image.locate(0xfffffffffffffff0n, 0x20, loc)).toBe(false);
    expect(image.locate(0x00007ffffffff000n, 0x1000, loc)).toBe(true);
    expect(image.locate(0x00007ffffffffff0n, 0x20, loc)).toBe(false);
    expect(image.explain(0x00007ffffffffff0n, 0x20)).toMatch(/^reaches 0x800000000000 \(byte 16 of 32\), which is non-canonical/);
  });
});

describe('ranges()', () => {
  it('yields the mapped kernel ranges, coalesced, whatever the physical layout', () => {
    const regions: WriterRegion[] = [
      { address: K + 0x1000n, bytes: bytesOf(0x3000, 1) },
      { address: K + 0x4000n, bytes: bytesOf(0x1000, 2) },
      { address: K + 0x200000n - 0x1000n, bytes: bytesOf(0x2000, 3) },
      { address: 0xffffa00000000000n, bytes: bytesOf(0x10, 4), pageSize: 0x200000 },
      { address: 0x10000n, bytes: bytesOf(0x10, 5) },
    ];
    const expected = [
      { address: 0xffffa00000000000n, length: 0x200000 },
      { address: K + 0x1000n, length: 0x4000 },
      { address: K + 0x1ff000n, length: 0x2000 },
    ];
    for (const scatter of [undefined, 99]) {
      const space = buildAddressSpace(regions, scatter === undefined ? {} : { scatter });
      expect([...open(space, 'full').image.ranges()]).toEqual(expected);
      expect([...open(space, 'raw', { userHalf: true }).image.ranges()]).toEqual([{ address: 0x10000n, length: 0x1000 }, ...expected]);
      // A bitmap dump stores only the frames with data: the 2 MiB page shrinks to its first frame.
      expect([...open(space, 'bitmap').image.ranges()][0]).toEqual({ address: 0xffffa00000000000n, length: 0x1000 });
    }
  });

  it('terminates on self-referencing page tables and is bounded', () => {
    const regions: WriterRegion[] = [{ address: K, bytes: bytesOf(0x3000, 1) }];
    const space = buildAddressSpace(regions, { selfMap: 0x1ed });
    const pml4 = Number(space.dtb >> 12n);
    // Every PDPT, PD and PT entry points back at the PML4 or at its own table.
    for (const level of [1, 2, 3]) {
      const e = space.entryOf(K, level)!;
      const dv = new DataView(space.frames.get(e.pfn)!.buffer);
      for (let i = 0; i < 512; i++) {
        if (dv.getBigUint64(i * 8, true) === 0n) dv.setBigUint64(i * 8, (BigInt(i % 2 ? pml4 : e.pfn) << 12n) | 0x63n, true);
      }
    }
    for (const kind of KINDS) {
      const { image } = open(space, kind);
      const started = performance.now();
      const ranges = [...image.ranges()];
      expect(performance.now() - started).toBeLessThan(5000);
      expect(ranges.length).toBeGreaterThan(0);
      expect(ranges.length).toBeLessThan(100_000);
      expect(image.walkTruncated).toBe(false);
      const capped = open(space, kind, { maxWalk: 1000 }).image;
      expect([...capped.ranges()].length).toBeLessThan(1000);
      expect(capped.walkTruncated).toBe(true);
      // Translation of the region itself is unaffected.
      expectReadsBack(image, regions);
    }
  });
});
