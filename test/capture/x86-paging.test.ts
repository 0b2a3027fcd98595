// X86PagedImage on page tables written by hand: reserved bits are not walked (the reason names the
// entry and the bits), PAT and NX are masked, software PTEs are told apart, the 4 GiB edge neither
// wraps nor reaches past, tables that point to themselves end, and the TLB and frame cache can be
// as small as one entry (and the frame cache eight frames) without changing what is read.
import { describe, expect, it } from 'vitest';
import { Location } from '../../src/codec/image.js';
import { BufferSource, RawPhysicalMemory } from '../../src/codec/physical.js';
import { X86PagedImage, type X86Paging } from '../../src/capture/address-spaces/x86-paging.js';
import { UsageError } from '../../src/errors.js';
import { X86 } from '../../src/layout/abi.js';
import { decodeTree } from '../../src/tree/decode.js';
import { errorOf } from '../support/errors.js';
import { normalised } from '../support/dump-trees.js';
import { buildX86Space, regionDoc32, writeRawPhysical32, x86Regions, x86Trees } from '../support/x86-dumps.js';

/** Physical memory of `pages` frames; `set` writes entries. */
function memory(pages: number) {
  const bytes = new Uint8Array(pages * 4096);
  const v = new DataView(bytes.buffer);
  return {
    bytes,
    pae: (pfn: number, i: number, value: bigint, base = 0): void => v.setBigUint64(pfn * 4096 + base + i * 8, value, true),
    x86: (pfn: number, i: number, value: number): void => v.setUint32(pfn * 4096 + i * 4, value >>> 0, true),
    fill: (pfn: number, byte: number): void => void bytes.fill(byte, pfn * 4096, pfn * 4096 + 4096),
    image: (dtb: number, paging: X86Paging, options = {}) => new X86PagedImage(RawPhysicalMemory.fromBytes(bytes), BigInt(dtb), { paging, ...options }),
  };
}
const loc = new Location();
const byteAt = (image: X86PagedImage, address: number): number | undefined =>
  image.locate(BigInt(address), 1, loc) ? loc.view.getUint8(loc.offset) : undefined;

describe('PAE entries', () => {
  // PDPT at 0x1460 (frame 1, slot 0x460); PD at frame 2; PT at frame 3; data at frames 4.., a 2 MiB page at PFN 0x200.
  const m = memory(0x400);
  const PDPT = 0x1460;
  m.pae(1, 2, 0x2001n, 0x460); // PDPTE 2: 0x80000000..0xbfffffff
  m.pae(1, 3, 0x2081n, 0x460); // PDPTE 3 with bit 7 (reserved in a PDPTE)
  m.pae(2, 0, 0x3063n); // PDE 0 -> PT
  m.pae(2, 1, (1n << 63n) | 0x2010e3n); // PDE 1: 2 MiB page at 0x200000, PAT and NX set
  m.pae(2, 2, 0x2020e3n); // PDE 2: 2 MiB with bit 13 (reserved)
  m.pae(2, 3, (1n << 52n) | 0x3063n); // PDE 3 -> PT with bit 52 (reserved)
  m.pae(3, 0, (1n << 63n) | 0x4963n); // PTE 0: frame 4, NX and software bits
  m.pae(3, 1, 0x5880n); // PTE 1: transition, frame 5
  m.pae(3, 2, (0x1234n << 32n) | 0x480n); // PTE 2: prototype
  m.pae(3, 3, (1n << 55n) | 0x6063n); // PTE 3: frame 6 with bit 55 (reserved)
  m.pae(3, 4, (0x77n << 32n) | 0x80n); // PTE 4: paged out
  for (const [pfn, b] of [[4, 0x44], [5, 0x55], [6, 0x66], [0x200, 0xa0], [0x201, 0xa1], [0x202, 0xa2]] as const) m.fill(pfn, b);
  const image = m.image(PDPT, 'pae');

  it('reads 4 KiB pages, a transition PTE and a 2 MiB page whose PAT bit is masked', () => {
    expect(image.tableAddress).toBe(PDPT);
    expect([byteAt(image, 0x80000000), byteAt(image, 0x80001fff), byteAt(image, 0x80200000), byteAt(image, 0x80201000), byteAt(image, 0x80202000)]).toEqual([0x44, 0x55, 0xa0, 0xa1, 0xa2]);
    expect(image.physicalAddress(0x80201234n)).toBe(0x201234n);
  });

  it('entries with reserved bits are not walked, and the reason names the entry and the bits', () => {
    expect(byteAt(image, 0xc0000000)).toBeUndefined();
    expect(image.explain(0xc0000000n, 4)).toBe('is not readable: PDPTE 0x2081 at physical 0x1478 has reserved bits set (0x80): not walked');
    expect(image.explain(0x80400000n, 4)).toBe('is not readable: PDE 0x2020e3 at physical 0x2010 has reserved bits set (0x2000): not walked');
    expect(image.explain(0x80600000n, 4)).toBe('is not readable: PDE 0x10000000003063 at physical 0x2018 has reserved bits set (0x10000000000000): not walked');
    expect(image.explain(0x80003000n, 4)).toBe('is not readable: PTE 0x80000000006063 at physical 0x3018 has reserved bits set (0x80000000000000): not walked');
    expect(byteAt(image, 0x80003000)).toBeUndefined();
  });

  it('software PTEs and absent tables say what they are', () => {
    expect(image.explain(0x80002000n, 4)).toBe('is not readable: prototype PTE 0x123400000480 at physical 0x3010 (a shared page: not resolved)');
    expect(image.explain(0x80004000n, 4)).toBe('is not readable: paged out (software PTE 0x7700000080 at physical 0x3020)');
    expect(image.explain(0x80005000n, 4)).toBe('is not readable: PTE not present at physical 0x3028 (entry 0: never mapped)');
    expect(image.explain(0x00000000n, 4)).toBe('is not readable: PDPTE not present at physical 0x1460 (entry 0x0)');
    expect(image.explain(0x80000ffen, 4)).toBe('is readable');
    expect(image.explain(0x80001ffen, 4)).toBe('reaches 0x80002000 (byte 2 of 4), which is not readable: prototype PTE 0x123400000480 at physical 0x3010 (a shared page: not resolved)');
  });

  it('a range across pages is gathered, and ranges() lists what is mapped and stored', () => {
    expect(image.locate(0x80000ffen, 4, loc)).toBe(true);
    expect(loc.gathered).toBe(true);
    expect([0, 1, 2, 3].map((i) => loc.view.getUint8(loc.offset + i))).toEqual([0x44, 0x44, 0x55, 0x55]);
    expect([...image.ranges()]).toEqual([{ address: 0x80000000n, length: 0x2000 }, { address: 0x80200000n, length: 0x200000 }]);
  });
});

describe('non-PAE entries', () => {
  const m = memory(0x800);
  m.x86(1, 0x200, 0x2063); // PDE 0x200 (0x80000000) -> PT at frame 2
  m.x86(1, 0x201, 0x4010e3); // 4 MiB page at 0x400000, PAT set
  m.x86(1, 0x202, 0x8000e3 | 0x200000); // 4 MiB page with bit 21 (reserved)
  m.x86(2, 0, 0x3963); // PTE 0 -> frame 3
  m.x86(2, 1, 0x4882); // transition -> frame 4
  m.fill(3, 0x33);
  m.fill(4, 0x44);
  m.fill(0x401, 0x41);

  it('reads PTEs, a transition PTE and a 4 MiB page (PAT masked); CR3 flag bits are ignored', () => {
    const image = m.image(0x1018, 'non-pae');
    expect(image.tableAddress).toBe(0x1000);
    expect([byteAt(image, 0x80000000), byteAt(image, 0x80001000), byteAt(image, 0x80401000)]).toEqual([0x33, 0x44, 0x41]);
    expect(image.explain(0x80800000n, 1)).toBe('is not readable: PDE 0xa000e3 at physical 0x1808 has reserved bits set (0x200000): not walked');
    expect(image.explain(0x80002000n, 1)).toBe('is not readable: PTE not present at physical 0x2008 (entry 0: never mapped)');
  });

  it('with PSE off a PDE\'s bit 7 means nothing: its frame is a page table', () => {
    const image = m.image(0x1000, 'non-pae', { pse: false });
    expect(image.physicalAddress(0x80401000n)).toBeUndefined();
    // Its entry 1 is the page's bytes, 0x41414141: a present PTE naming PFN 0x41414.
    expect(image.explain(0x80401000n, 1)).toMatch(/^is not readable: page not in the capture \(PFN 0x41414 not stored/);
  });

  it('the top of the 4 GiB space: the last page reads, a range past it does not wrap', () => {
    m.x86(1, 0x3ff, 0x5063);
    m.x86(5, 0x3ff, 0x3063);
    m.x86(1, 0, 0x5063); // page 0 mapped too, so a wrap would succeed
    m.x86(5, 0, 0x4063);
    const image = m.image(0x1000, 'non-pae', { userHalf: true });
    expect(byteAt(image, 0xffffffff)).toBe(0x33);
    expect(byteAt(image, 0)).toBe(0x44);
    expect(image.locate(0xfffffffcn, 4, loc)).toBe(true);
    expect(image.locate(0xfffffffen, 4, loc)).toBe(false);
    expect(image.explain(0xfffffffen, 4)).toBe('reaches 0x100000000 (byte 2 of 4), which is past the end of the 32-bit address space');
    expect(image.locateHalves(0, 1, 1, loc)).toBe(false);
    expect(image.locate(0x100000000n, 1, loc)).toBe(false);
    expect(image.explain(0x100000000n, 1)).toBe('is outside the 32-bit address space of an x86 capture');
    expect(image.physicalAddress(-1n)).toBeUndefined();
  });
});

describe('page tables that point to themselves', () => {
  it('non-PAE: every PDE and PTE is the page directory itself: reads end, ranges() ends', () => {
    const m = memory(4);
    for (let i = 0; i < 1024; i++) m.x86(1, i, 0x1063);
    const image = m.image(0x1000, 'non-pae', { userHalf: true });
    expect(image.physicalAddress(0x12345678n)).toBe(0x1678n);
    const ranges = [...image.ranges()];
    expect(ranges).toEqual([{ address: 0n, length: 2 ** 32 }]);
    // A root whose blocks link to themselves through the loop ends with a diagnostic.
    const doc = decodeTree(image, 0x80000000n, { abi: X86 });
    expect(doc.abi).toBe('x86');
    expect(doc.diagnostics.length).toBeGreaterThan(0);
  });

  it('PAE: all four PDPTEs name one PD whose entries all name it, and PTEs that name their table', () => {
    const m = memory(4);
    for (let i = 0; i < 4; i++) m.pae(1, i, 0x2001n);
    for (let i = 0; i < 512; i++) m.pae(2, i, 0x2063n);
    const image = m.image(0x1000, 'pae', { userHalf: true });
    expect(image.physicalAddress(0xdeadbeefn)).toBe(0x2eefn);
    const started = Date.now();
    const ranges = [...image.ranges()];
    expect(Date.now() - started).toBeLessThan(1000);
    expect(ranges).toEqual([{ address: 0n, length: 2 ** 32 }]);
    expect(image.walkTruncated).toBe(false);
    const capped = m.image(0x1000, 'pae', { userHalf: true, maxWalk: 100 });
    [...capped.ranges()];
    expect(capped.walkTruncated).toBe(true);
  });
});

describe('construction', () => {
  const m = memory(2);
  it('refuses a DTB past 32 bits, one outside memory, an unknown paging mode, a bad TLB size', () => {
    expect(errorOf(() => m.image(2 ** 32, 'pae')).message).toBe('DirectoryTableBase 0x100000000 does not fit the 32-bit CR3 of x86 paging');
    const outside = errorOf(() => m.image(0x5000, 'non-pae'));
    expect(outside).toBeInstanceOf(UsageError);
    expect(outside.message).toMatch(/^DirectoryTableBase 0x5000: the page directory is not in raw physical memory image buffer \(0x2000 bytes, 2 frames\): PFN 0x5 not stored/);
    expect(errorOf(() => m.image(0x1000, 'x64' as X86Paging)).message).toBe('x86 paging is \'pae\' or \'non-pae\', not "x64"');
    expect(errorOf(() => m.image(0x1000, 'pae', { tlbEntries: 3 })).message).toBe('tlbEntries must be a power of two from 1 to 2^20, not 3');
  });
});

describe('a TLB of one entry and a cache of eight frames read the same trees', () => {
  for (const paging of ['pae', 'non-pae'] as const) {
    it(paging, () => {
      const trees = x86Trees();
      const space = buildX86Space(x86Regions(trees), { paging, scatter: 9 });
      const bytes = writeRawPhysical32(space).toBytes();
      const tiny = new X86PagedImage(new RawPhysicalMemory(new BufferSource(bytes), 8), space.dtb, { paging, tlbEntries: 1 });
      for (const t of trees) expect(normalised(decodeTree(tiny, BigInt(t.root), t.options))).toEqual(normalised(regionDoc32(t)));
    });
  }
});
