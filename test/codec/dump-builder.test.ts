/**
 * buildAddressSpace, the fixture builder behind every synthetic dump: what it refuses (addresses
 * that are not canonical, one address mapped with two page sizes, a self-map slot in use), what
 * each kind of page becomes in the page tables (read back through PagedImage and entryOf), and the
 * physical memory it lays out.
 */
import { describe, expect, it } from 'vitest';
import { buildAddressSpace, writeRawPhysical, type WriterRegion } from '../../src/codec/dump-writer.js';
import { Location } from '../../src/codec/image.js';
import { PagedImage } from '../../src/codec/paged.js';
import { BufferSource, RawPhysicalMemory } from '../../src/codec/physical.js';
import { UsageError } from '../../src/errors.js';

const K = 0xffffd00000000000n;
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
const imageOf = (space: ReturnType<typeof buildAddressSpace>): PagedImage =>
  new PagedImage(new RawPhysicalMemory(new BufferSource(writeRawPhysical(space).toBytes())), space.dtb, { userHalf: true });
const readByte = (image: PagedImage, address: bigint): number | undefined => {
  const loc = new Location();
  return image.locate(address, 1, loc) ? loc.view.getUint8(loc.offset) : undefined;
};

describe('buildAddressSpace refuses', () => {
  it('addresses that are not canonical x64 addresses', () => {
    for (const address of [-1n, 0x0000800000000000n, 0xffff7fffffffffffn, 2n ** 64n]) {
      expect(() => buildAddressSpace([{ address, bytes: bytes(1, 1) }]), address.toString(16)).toThrow(UsageError);
    }
    expect(() => buildAddressSpace([{ address: 0x0000800000000000n, bytes: bytes(1, 1) }])).toThrow('0x800000000000 is not a canonical x64 address');
    for (const address of [0n, 0x00007fffffffffffn, 0xffff800000000000n, 0xffffffffffffffffn]) {
      expect(() => buildAddressSpace([{ address, bytes: bytes(1, 1) }]), address.toString(16)).not.toThrow();
    }
  });

  const GiB = 0x40000000n;
  const MiB2 = 0x200000n;
  const clash: [string, WriterRegion[]][] = [
    ['a 4 KiB page inside a 2 MiB page', [{ address: K, bytes: bytes(16, 1), pageSize: 0x200000 }, { address: K + 0x5000n, bytes: bytes(16, 2) }]],
    ['a 2 MiB page over 4 KiB pages', [{ address: K + 0x5000n, bytes: bytes(16, 2) }, { address: K, bytes: bytes(16, 1), pageSize: 0x200000 }]],
    ['a 2 MiB page inside a 1 GiB page', [{ address: K, bytes: bytes(16, 1), pageSize: 0x40000000 }, { address: K + MiB2 * 3n, bytes: bytes(16, 2), pageSize: 0x200000 }]],
    ['a 1 GiB page over 2 MiB pages', [{ address: K + MiB2 * 3n, bytes: bytes(16, 2), pageSize: 0x200000 }, { address: K, bytes: bytes(16, 1), pageSize: 0x40000000 }]],
    ['a 1 GiB page over 4 KiB pages', [{ address: K + 0x1000n, bytes: bytes(16, 2) }, { address: K, bytes: bytes(16, 1), pageSize: 0x40000000 }]],
    ['a 4 KiB page inside a 1 GiB page', [{ address: K, bytes: bytes(16, 1), pageSize: 0x40000000 }, { address: K + GiB - 0x1000n, bytes: bytes(16, 2) }]],
    ['a 2 MiB page at the start of a 1 GiB page', [{ address: K, bytes: bytes(16, 1), pageSize: 0x40000000 }, { address: K, bytes: bytes(16, 2), pageSize: 0x200000 }]],
    ['a 4 KiB page at the start of a 2 MiB page', [{ address: K, bytes: bytes(16, 1), pageSize: 0x200000 }, { address: K, bytes: bytes(16, 2) }]],
  ];
  for (const [name, regions] of clash) {
    it(`one address mapped with two page sizes: ${name}`, () => {
      expect(() => buildAddressSpace(regions)).toThrow(/is mapped with two page sizes$/);
    });
  }

  it('a self-map slot already in use', () => {
    expect(() => buildAddressSpace([{ address: K, bytes: bytes(1, 1) }], { selfMap: Number((K >> 39n) & 0x1ffn) })).toThrow(`self-map index ${Number((K >> 39n) & 0x1ffn)} is already in use`);
    expect(() => buildAddressSpace([{ address: K, bytes: bytes(1, 1) }], { selfMap: 0x1ed })).not.toThrow();
  });
});

describe('buildAddressSpace builds', () => {
  it('pages of one size side by side, and one page shared by two regions', () => {
    const space = buildAddressSpace([
      { address: K, bytes: bytes(16, 1), pageSize: 0x200000 },
      { address: K + 0x200000n, bytes: bytes(16, 2), pageSize: 0x200000 },
      { address: K + 0x400000n, bytes: bytes(16, 3) },
      { address: K + 0x400100n, bytes: bytes(16, 4) },
      { address: 0x1000n, bytes: bytes(16, 5) },
    ]);
    const image = imageOf(space);
    expect([K, K + 0x200000n, K + 0x400000n, K + 0x400100n, 0x1000n].map((a) => readByte(image, a))).toEqual([1, 2, 3, 4, 5]);
    expect(readByte(image, K + 0x1fffffn)).toBe(0); // the rest of a large page reads as zeros
    expect(readByte(image, K + 0x401000n)).toBeUndefined();
  });

  it('a region across pages, from an odd offset, byte for byte', () => {
    const data = Uint8Array.from({ length: 9000 }, (_, i) => (i * 7 + 3) & 255);
    const image = imageOf(buildAddressSpace([{ address: K + 0xff7n, bytes: data }]));
    const loc = new Location();
    expect(image.locate(K + 0xff7n, data.length, loc)).toBe(true);
    expect(new Uint8Array(loc.view.buffer, loc.view.byteOffset + loc.offset, data.length)).toEqual(data);
    expect(readByte(image, K + 0xff6n)).toBe(0);
  });

  it('missing, paged-out and not-stored pages: their PTEs, and what a reader makes of them', () => {
    const space = buildAddressSpace([{ address: K, bytes: bytes(5 * 4096, 9) }], { missing: [K + 0x1000n], pagedOut: [K + 0x2000n], notStored: [K + 0x3000n], transition: [K + 0x4000n] });
    const image = imageOf(space);
    const pte = (address: bigint): bigint => {
      const e = space.entryOf(address, 3)!;
      return new DataView(space.frames.get(e.pfn)!.buffer).getBigUint64(e.offset, true);
    };
    expect(pte(K + 0x1000n)).toBe(0n);
    expect(pte(K + 0x2000n) & 1n).toBe(0n);
    expect(pte(K + 0x2000n) & 0xc00n).toBe(0n); // neither transition nor prototype: a page-file PTE
    expect(pte(K + 0x2000n)).not.toBe(0n);
    expect(pte(K + 0x4000n) & 0xc01n).toBe(0x800n); // transition: not present, still in memory
    expect(pte(K) & 1n).toBe(1n);
    expect(image.explain(K + 0x1000n, 1)).toMatch(/never mapped/);
    expect(image.explain(K + 0x2000n, 1)).toMatch(/paged out/);
    expect(image.explain(K + 0x3000n, 1)).toMatch(/page not in the dump/);
    expect([K, K + 0x4000n].map((a) => readByte(image, a))).toEqual([9, 9]);
    // The not-stored page's frame lies past the physical memory the dump holds.
    const e = space.entryOf(K + 0x3000n, 3)!;
    const frame = Number((new DataView(space.frames.get(e.pfn)!.buffer).getBigUint64(e.offset, true) >> 12n) & 0xffffffffffn);
    expect(frame).toBeGreaterThanOrEqual(space.physicalPages);
  });

  it('entryOf: each level of a mapped address, nothing below a large page or where nothing is mapped', () => {
    const space = buildAddressSpace([
      { address: K, bytes: bytes(16, 1) },
      { address: K + 0x40000000n, bytes: bytes(16, 2), pageSize: 0x200000 },
      { address: K + 0x80000000n, bytes: bytes(16, 3), pageSize: 0x40000000 },
    ]);
    for (let level = 0; level <= 3; level++) expect(space.entryOf(K, level), String(level)).toBeDefined();
    expect(space.entryOf(K, 0)!.pfn).toBe(Number(space.dtb >> 12n));
    expect(space.entryOf(K + 0x40000000n, 2)).toBeDefined();
    expect(space.entryOf(K + 0x40000000n, 3)).toBeUndefined(); // a 2 MiB page has no page table
    expect(space.entryOf(K + 0x80000000n, 1)).toBeDefined();
    expect(space.entryOf(K + 0x80000000n, 2)).toBeUndefined(); // a 1 GiB page has no page directory
    expect(space.entryOf(0x1000n, 1)).toBeUndefined(); // nothing in the user half
    expect(space.entryOf(0x1000n, 0)).toEqual({ pfn: Number(space.dtb >> 12n), offset: 0 });
  });

  it('physical memory: at least what is asked for, two runs with the legacy hole, the DTB flags in CR3\'s low bits', () => {
    const space = buildAddressSpace([{ address: K, bytes: bytes(16, 1) }], { physicalPages: 0x5000, dtbFlags: 0x1002 });
    expect(space.physicalPages).toBe(0x5000);
    expect(space.runs).toEqual([
      { basePage: 1, pageCount: 0x9e },
      { basePage: 0x100, pageCount: 0x5000 - 0x100 },
    ]);
    expect(space.dtb & 0xfffn).toBe(0x002n);
    const small = buildAddressSpace([{ address: K, bytes: bytes(16, 1) }]);
    expect(small.physicalPages).toBeGreaterThan(0x100);
    for (const pfn of small.frames.keys()) expect(pfn < 0x9f || (pfn >= 0x100 && pfn < small.physicalPages), String(pfn)).toBe(true);
  });

  it('scattered frames: the same seed the same layout, another seed another, both readable', () => {
    const regions: WriterRegion[] = [{ address: K, bytes: bytes(3 * 4096, 7) }];
    const a = buildAddressSpace(regions, { scatter: 5 });
    const b = buildAddressSpace(regions, { scatter: 5 });
    const c = buildAddressSpace(regions, { scatter: 6 });
    expect([...a.frames.keys()]).toEqual([...b.frames.keys()]);
    expect([...a.frames.keys()]).not.toEqual([...c.frames.keys()]);
    for (const space of [a, c]) expect(readByte(imageOf(space), K + 0x2fffn)).toBe(7);
  });
});
