/**
 * PagedImage at the edges of the x64 address space: the last page of the user half next to the
 * first of the kernel half (a read must not run across the hole), the last page of the address
 * space (nor wrap to page 0), addresses outside 64 bits, sizes outside a locate's range, and the
 * TLB's size rule. Every page next to an edge is mapped, so a read across it would succeed if it
 * were allowed.
 */
import { describe, expect, it } from 'vitest';
import { buildAddressSpace, writeRawPhysical } from '../../src/codec/dump-writer.js';
import { Location } from '../../src/codec/image.js';
import { PagedImage } from '../../src/codec/paged.js';
import { BufferSource, RawPhysicalMemory } from '../../src/codec/physical.js';
import { UsageError } from '../../src/errors.js';

const USER_TOP = 0x00007ffffffff000n; // the last page of the user half
const KERNEL_BOTTOM = 0xffff800000000000n; // the first page of the kernel half
const TOP = 0xfffffffffffff000n; // the last page of the address space
const page = (fill: number): Uint8Array => new Uint8Array(4096).fill(fill);

const space = buildAddressSpace([
  { address: 0n, bytes: page(1) },
  { address: USER_TOP, bytes: page(2) },
  { address: KERNEL_BOTTOM, bytes: page(3) },
  { address: TOP - 0x1000n, bytes: page(4) },
  { address: TOP, bytes: page(5) },
]);
const physical = (): RawPhysicalMemory => new RawPhysicalMemory(new BufferSource(writeRawPhysical(space).toBytes()));
const image = new PagedImage(physical(), space.dtb, { userHalf: true });
const loc = new Location();

describe('PagedImage at the edges of the address space', () => {
  it('reads each edge page whole, to its last byte', () => {
    for (const [address, fill] of [[0n, 1], [USER_TOP, 2], [KERNEL_BOTTOM, 3], [TOP, 5]] as const) {
      expect(image.locate(address, 4096, loc), address.toString(16)).toBe(true);
      expect(loc.view.getUint8(loc.offset + 4095)).toBe(fill);
      expect(image.locate(address + 0xfffn, 1, loc)).toBe(true);
      expect(loc.view.getUint8(loc.offset)).toBe(fill);
    }
  });

  it('a read across pages inside one half is gathered', () => {
    expect(image.locate(TOP - 4n, 8, loc)).toBe(true);
    expect([...new Uint8Array(loc.view.buffer, loc.view.byteOffset + loc.offset, 8)]).toEqual([4, 4, 4, 4, 5, 5, 5, 5]);
    expect(loc.gathered).toBe(true);
  });

  it('a read off the end of the user half is refused, though the next page of the kernel half is mapped', () => {
    expect(image.locate(USER_TOP + 0xffcn, 8, loc)).toBe(false);
    expect(image.locate(USER_TOP + 0xffcn, 4, loc)).toBe(true);
    expect(image.explain(USER_TOP + 0xffcn, 8)).toBe('reaches 0x800000000000 (byte 4 of 8), which is non-canonical: the range runs off its half of the address space');
  });

  it('a read off the top of the address space is refused and does not wrap to page 0', () => {
    expect(image.locate(TOP + 0xffcn, 8, loc)).toBe(false);
    expect(image.locate(TOP + 0xff8n, 8, loc)).toBe(true);
    expect(image.explain(TOP + 0xffcn, 8)).toMatch(/non-canonical: the range runs off its half of the address space$/);
  });

  it('addresses that are not 64-bit addresses, and the ones at the ends that are', () => {
    for (const address of [-1n, 2n ** 64n, 2n ** 64n + 0x1000n]) {
      expect(image.locate(address, 1, loc), address.toString(16)).toBe(false);
      expect(image.explain(address, 1)).toBe('is not a 64-bit address');
    }
    expect(image.locate(0xffffffffffffffffn, 1, loc)).toBe(true);
    expect(loc.view.getUint8(loc.offset)).toBe(5);
    expect(image.explain(0xffffffffffffffffn, 1)).toBe('is readable');
    expect(image.locate(0n, 1, loc)).toBe(true);
    expect(image.explain(0n, 1)).toBe('is readable');
  });

  it('sizes: 0 to a page in one page, more gathered, none below 0 or past 2^31 - 1', () => {
    expect(image.locate(TOP, 0, loc)).toBe(true);
    expect(image.locate(TOP - 0x1000n, 8192, loc)).toBe(true);
    expect(loc.view.getUint8(loc.offset + 8191)).toBe(5);
    for (const size of [-1, -4096, 2 ** 31, Number.NaN]) expect(image.locate(TOP, size, loc), String(size)).toBe(false);
  });

  it('tlbEntries: a power of two from 1 on, nothing else', () => {
    for (const n of [1, 2, 4096]) expect(() => new PagedImage(physical(), space.dtb, { tlbEntries: n }), String(n)).not.toThrow();
    for (const n of [0, 3, 6, -2, 1.5, Number.NaN, 2 ** 25, Infinity]) {
      expect(() => new PagedImage(physical(), space.dtb, { tlbEntries: n }), String(n)).toThrow(UsageError);
    }
    expect(() => new PagedImage(physical(), space.dtb, { tlbEntries: 3 })).toThrow('tlbEntries must be a power of two from 1 to 2^24, not 3');
    // One entry: every translation replaces the last, and reads stay right.
    const one = new PagedImage(physical(), space.dtb, { tlbEntries: 1, userHalf: true });
    for (const [address, fill] of [[0n, 1], [TOP, 5], [0n, 1], [KERNEL_BOTTOM, 3], [TOP, 5]] as const) {
      expect(one.locate(address, 1, loc)).toBe(true);
      expect(loc.view.getUint8(loc.offset)).toBe(fill);
    }
  });

  it('ranges() lists every edge page, the two halves apart, the top two pages as one range', () => {
    const ranges = [...image.ranges()].map((r) => [r.address.toString(16), r.length]);
    expect(ranges).toEqual([
      ['0', 4096],
      [USER_TOP.toString(16), 4096],
      [KERNEL_BOTTOM.toString(16), 4096],
      [(TOP - 0x1000n).toString(16), 8192],
    ]);
    expect(image.walkTruncated).toBe(false);
    const kernel = [...new PagedImage(physical(), space.dtb).ranges()].map((r) => r.address);
    expect(kernel).toEqual([KERNEL_BOTTOM, TOP - 0x1000n]);
  });
});
