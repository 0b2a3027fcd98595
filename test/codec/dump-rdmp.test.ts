// DumpTypes 6, 8, 9 and 10: the live kernel bitmap dump and the RDMP dumps of newer debuggers
// (`.dump /k`, `/ka`, `/f`). Written by the test dump writer with scattered frames and missing
// pages, each decodes the fixture trees to exactly the plain region's document; opening reads the
// header and the metadata only; every lying field is a DumpError at its file offset.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DumpError } from '../../src/errors.js';
import { type RdmpDumpOptions, type SerialisedImage, buildAddressSpace, writeBitmapDump, writeRdmpDump } from '../../src/codec/dump-writer.js';
import { BMP, HDR, RDMP, openDump, readDump } from '../../src/codec/dump.js';
import { Location, SegmentImage } from '../../src/codec/image.js';
import { BufferSource } from '../../src/codec/physical.js';
import { decodeTree } from '../../src/tree/decode.js';
import { HEADER, type PlacedTree, normalised, standardSpace, standardTrees } from '../support/dump-trees.js';
import { fcParams } from '../support/arbitraries.js';

const TREES = standardTrees();
/** A page mapped to a frame no dump stores, and a page whose PTE is 0: neither is in any tree. */
const NOT_STORED = 0xfffff80000100000n;
const MISSING = 0xfffff80000200000n;
const SPACE = standardSpace(TREES, { notStored: [NOT_STORED], missing: [MISSING] });

interface Variant {
  name: string;
  type: number;
  typeName: string;
  file: SerialisedImage;
}
const rdmp = (o: RdmpDumpOptions): SerialisedImage => writeRdmpDump(SPACE, { ...HEADER, ...o });
const VARIANTS: Variant[] = [
  { name: '6 FDMP', type: 6, typeName: 'live kernel bitmap dump', file: writeBitmapDump(SPACE, { ...HEADER, dumpType: 6, signature: 'FDMP' }) },
  { name: '6 SDMP, every RAM page', type: 6, typeName: 'live kernel bitmap dump', file: writeBitmapDump(SPACE, { ...HEADER, dumpType: 6, storeAll: true }) },
  { name: '8', type: 8, typeName: 'kernel memory dump (RDMP)', file: rdmp({ dumpType: 8 }) },
  { name: '8, ranges descending', type: 8, typeName: 'kernel memory dump (RDMP)', file: rdmp({ dumpType: 8, descending: true }) },
  { name: '9, first page unaligned', type: 9, typeName: 'kernel and user memory dump (RDMP)', file: rdmp({ dumpType: 9, alignPages: false }) },
  { name: '10', type: 10, typeName: 'complete memory dump (RDMP)', file: rdmp({ dumpType: 10 }) },
  { name: '10, content frames only, descending', type: 10, typeName: 'complete memory dump (RDMP)', file: rdmp({ dumpType: 10, store: 'frames', descending: true }) },
];
const BYTES = new Map(VARIANTS.map((v) => [v.name, v.file.toBytes()]));
const bytesOf = (name: string): Uint8Array => BYTES.get(name)!;

const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
const patched = (base: Uint8Array, patch: (v: DataView, b: Uint8Array) => void): Uint8Array => {
  const b = base.slice();
  patch(dv(b), b);
  return b;
};
const parse = (b: Uint8Array) => readDump(new BufferSource(b));
const regionDoc = (t: PlacedTree) => decodeTree(SegmentImage.region(t.bytes, t.root), t.root, t.options);
const range = (k: number): number => RDMP.Ranges + k * RDMP.RangeSize;
const firstPageOf = (b: Uint8Array): number => Number(dv(b).getBigUint64(RDMP.FirstPageOffset, true));

function expectDumpError(fn: () => unknown, fileOffset: number, says?: RegExp): DumpError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DumpError);
  expect((caught as DumpError).fileOffset).toBe(fileOffset);
  if (says) expect((caught as DumpError).message).toMatch(says);
  return caught as DumpError;
}

describe('the RDMP layout, in literal offsets (kdmp-parser RDMP_HEADER64, FULL_RDMP_HEADER64)', () => {
  it('type 10: the header, the metadata, the ranges and the terminator', () => {
    const b = bytesOf('10');
    const v = dv(b);
    const ram = SPACE.runs.reduce((n, r) => n + r.pageCount, 0);
    expect(v.getUint32(0xf98, true)).toBe(10);
    expect([v.getUint32(0x2000, true), Buffer.from(b.subarray(0x2004, 0x200c)).toString('latin1')]).toEqual([0x40, 'RDMPDUMP']);
    // MetadataSize - 0x20 == FirstPageOffset - 0x2040.
    expect([v.getBigUint64(0x2010, true), v.getBigUint64(0x2018, true)]).toEqual([0xfe0n, 0x3000n]);
    expect([v.getUint32(0x2020, true), v.getBigUint64(0x2028, true)]).toEqual([2, BigInt(ram)]);
    const ranges = [0, 1, 2].map((k) => [v.getBigUint64(0x2030 + 16 * k, true), v.getBigUint64(0x2038 + 16 * k, true)]);
    expect(ranges).toEqual([[1n, 0x9en], [0x100n, BigInt(ram - 0x9e)], [0n, 0n]]);
    expect(b.subarray(0x2060, 0x3000).every((x) => x === 0)).toBe(true);
    expect(b.length).toBe(0x3000 + ram * 0x1000);
    // The DTB's frame, range 1's page (PFN - 0x100) after range 0's 0x9e pages.
    const pml4 = Number(SPACE.dtb >> 12n);
    const at = 0x3000 + (pml4 >= 0x100 ? 0x9e + pml4 - 0x100 : pml4 - 1) * 0x1000;
    expect(b.subarray(at, at + 0x1000)).toEqual(SPACE.frames.get(pml4));
  });

  it('types 8 and 9: the 0x10 bytes at 0x2020 are zero, and the unaligned table ends at its terminator', () => {
    const b = bytesOf('9, first page unaligned');
    const v = dv(b);
    const n = parse(b).info.rdmp!.ranges.length;
    expect([v.getBigUint64(0x2020, true), v.getBigUint64(0x2028, true)]).toEqual([0n, 0n]);
    expect(v.getBigUint64(0x2018, true)).toBe(BigInt(0x2030 + 16 * (n + 1)));
    expect(v.getBigUint64(0x2010, true)).toBe(BigInt(0x10 + 16 * (n + 1)));
    expect([v.getBigUint64(0x2030 + 16 * n, true), v.getBigUint64(0x2038 + 16 * n, true)]).toEqual([0n, 0n]);
  });
});

describe('DumpTypes 6, 8, 9, 10 decode the fixture trees', () => {
  for (const v of VARIANTS) {
    it(`${v.name}: every tree decodes to the region's document, apart from base and offset`, () => {
      const d = parse(bytesOf(v.name));
      expect([d.info.dumpType, d.info.dumpTypeName]).toEqual([v.type, v.typeName]);
      expect(d.info.warnings).toEqual([]);
      const image = d.image();
      for (const t of TREES) {
        const want = regionDoc(t);
        expect(want.blocks.length).toBeGreaterThan(0);
        expect(normalised(decodeTree(image, t.root, t.options))).toEqual(normalised(want));
      }
      // The missing pages are missing, and said so.
      const loc = new Location();
      for (const a of [NOT_STORED, MISSING]) expect(image.locate(a, 8, loc)).toBe(false);
      expect(image.explain(NOT_STORED, 8)).toMatch(/not in the dump/);
    });
  }

  it('RDMP dumps: the header as read, and the stored pages are the ranges', () => {
    const stored = [...SPACE.frames.keys()].filter((p) => p < SPACE.physicalPages);
    const k8 = parse(bytesOf('8, ranges descending')).info;
    expect(k8.bitmap).toBeUndefined();
    expect(k8.rdmp!.numberOfRanges).toBeUndefined();
    expect(k8.pagesStored).toBe(stored.length);
    // Scattered frames: many ranges, written from the highest PFN down.
    expect(k8.rdmp!.ranges.length).toBeGreaterThan(20);
    const bases = k8.rdmp!.ranges.map((r) => r.basePage);
    expect(bases).toEqual([...bases].sort((a, b) => b - a));
    expect(k8.rdmp!.firstPage % 0x1000).toBe(0);
    expect(k8.rdmp!.metadataSize).toBe(BigInt(k8.rdmp!.firstPage - RDMP.Metadata));
    const k9 = parse(bytesOf('9, first page unaligned')).info.rdmp!;
    expect(k9.firstPage).toBe(RDMP.Ranges + (k9.ranges.length + 1) * RDMP.RangeSize);
    const c = parse(bytesOf('10')).info;
    const ram = SPACE.runs.reduce((n, r) => n + r.pageCount, 0);
    expect(c.rdmp).toEqual({ metadataSize: 0x1000n - 0x20n, firstPage: 0x3000, ranges: SPACE.runs, numberOfRanges: 2, totalNumberOfPages: BigInt(ram) });
    expect(c.pagesStored).toBe(ram);
    const d = parse(bytesOf('10'));
    expect(d.physical.describe()).toBe('RDMP dump buffer (2 ranges)');
    expect(d.physical.missingReason(0x9f)).toBe('PFN 0x9f not stored (outside every physical memory run)');
  });

  it('opening reads the header and the metadata, nothing else', () => {
    for (const v of VARIANTS) {
      const b = bytesOf(v.name);
      const source = new BufferSource(b);
      const d = readDump(source);
      const metadataEnd = d.info.rdmp ? d.info.rdmp.firstPage : BMP.Bitmap + Math.ceil(d.info.bitmap!.bits / 8);
      expect([v.name, source.bytesRead]).toEqual([v.name, metadataEnd]);
      expect(source.reads).toBeLessThanOrEqual(4);
      // A page costs one more read of one page.
      const [pfn] = SPACE.frames.keys();
      expect(d.physical.readFrame(pfn!)).toEqual(SPACE.frames.get(pfn!));
      expect(source.bytesRead).toBe(metadataEnd + 0x1000);
    }
  });

  it('a range table longer than one read is read in pieces, and only up to its terminator', () => {
    // 700 scattered frames: several hundred ranges.
    const bytes = Uint8Array.from({ length: 700 * 0x1000 }, (_, i) => (i * 7 + (i >> 12)) & 0xff);
    const region = { address: 0xfffff80040000000n, bytes };
    const space = buildAddressSpace([region], { scatter: 11 });
    const b = writeRdmpDump(space, { dumpType: 9 }).toBytes();
    const source = new BufferSource(b);
    const d = readDump(source);
    const { ranges, firstPage } = d.info.rdmp!;
    expect(ranges.length).toBeGreaterThan(300);
    const slots = (firstPage - RDMP.Ranges) / RDMP.RangeSize;
    expect(source.reads).toBe(2 + Math.ceil(slots / 256));
    const loc = new Location();
    const image = d.image();
    expect(image.locate(region.address, bytes.length, loc)).toBe(true);
    // (Buffer.equals: a deep toEqual of 2.8 MB takes seconds.)
    expect(Buffer.from(loc.view.buffer, loc.view.byteOffset + loc.offset, bytes.length).equals(bytes)).toBe(true);
  });
});

describe('a 4 GiB complete RDMP dump', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-rdmp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('opens with a few reads and decodes a tree by reading only its pages', () => {
    const t = TREES[0]!;
    const space = buildAddressSpace([{ address: t.root, bytes: t.bytes }], { scatter: 5, physicalPages: (1 << 20) + 0x200 });
    const path = join(dir, 'complete.dmp');
    writeRdmpDump(space, { dumpType: 10 }).toFile(path);
    expect(statSync(path).size).toBeGreaterThan(4 * 2 ** 30);
    const dump = openDump(path);
    try {
      expect(dump.physical.source.reads).toBe(3);
      expect(dump.physical.source.bytesRead).toBe(0x3000);
      expect(normalised(decodeTree(dump.image(), t.root, t.options))).toEqual(normalised(regionDoc(t)));
      expect(dump.physical.source.bytesRead).toBeLessThan(0x3000 + 64 * 0x1000);
    } finally {
      dump.close();
    }
  });
});

describe('hostile RDMP headers: a DumpError at the field at fault', () => {
  const K8 = bytesOf('8');
  const C10 = bytesOf('10');

  it('the RDMP header', () => {
    for (const cut of [0x2000, 0x2010, 0x202f]) expectDumpError(() => parse(K8.subarray(0, cut)), cut, /truncated RDMP header/);
    expectDumpError(() => parse(patched(K8, (v) => v.setUint32(RDMP.Marker, 0x41, true))), RDMP.Marker, /Marker 0x41 \(expected 0x40\)/);
    expectDumpError(() => parse(patched(K8, (_, b) => b.set([0x53], RDMP.Signature))), RDMP.Signature, /"SDMPDUMP"/);
    expectDumpError(() => parse(patched(K8, (_, b) => b.set([0x42], RDMP.ValidDump))), RDMP.ValidDump, /"RDMPBUMP"/);
    // A full dump declared as type 8: its first page is no RDMP header.
    expectDumpError(() => parse(patched(bytesOf('6 FDMP'), (v) => v.setUint32(HDR.DumpType, 8, true))), RDMP.Marker);
  });

  it('MetadataSize and FirstPageOffset', () => {
    expectDumpError(() => parse(patched(K8, (v) => v.setBigUint64(RDMP.MetadataSize, 0xffffffffffffffffn, true))), RDMP.MetadataSize, /past the end of the file/);
    expectDumpError(() => parse(patched(K8, (v) => v.setBigUint64(RDMP.MetadataSize, BigInt(K8.length), true))), RDMP.MetadataSize, /past the end of the file/);
    for (const m of [0n, 8n, 0x18n, 0xfe8n]) expectDumpError(() => parse(patched(K8, (v) => v.setBigUint64(RDMP.MetadataSize, m, true))), RDMP.MetadataSize, /whole 0x10-byte ranges/);
    expectDumpError(() => parse(patched(K8, (v) => v.setBigUint64(RDMP.FirstPageOffset, 0x4000n, true))), RDMP.FirstPageOffset, /FirstPageOffset 0x4000 does not follow the metadata \(MetadataSize 0xfe0: expected 0x3000\)/);
    expectDumpError(() => parse(patched(K8, (v) => v.setBigUint64(RDMP.FirstPageOffset, 1n << 63n, true))), RDMP.FirstPageOffset);
  });

  it('ranges: overflow, past the file, overlap, past TotalNumberOfPages', () => {
    expectDumpError(() => parse(patched(K8, (v) => v.setBigUint64(range(3), 1n << 52n, true))), range(3), /range 3: PFN 0x10000000000000 \+ 0x\w+ pages overflows/);
    expectDumpError(() => parse(patched(K8, (v) => v.setBigUint64(range(2) + 8, 1n << 30n, true))), range(2), /range 2 \(PFN 0x\w+, 0x40000000 pages\) is stored at file offset 0x\w+\.\.0x\w+, past the end of the file/);
    const overlap = patched(K8, (v) => {
      v.setBigUint64(range(5), v.getBigUint64(range(4), true), true);
      v.setBigUint64(range(5) + 8, 1n, true);
    });
    expectDumpError(() => parse(overlap), range(5), /range 5 overlaps range 4/);
    // Type 10: a range that passes TotalNumberOfPages, and a total the ranges do not reach.
    expectDumpError(() => parse(patched(C10, (v) => v.setBigUint64(RDMP.TotalNumberOfPages, 0x9en + 1n, true))), range(1), /range 1 .* goes past TotalNumberOfPages \(159\)/);
    const short = parse(patched(C10, (v) => v.setBigUint64(RDMP.TotalNumberOfPages, 0xffffn, true))).info;
    expect(short.warnings).toEqual([`TotalNumberOfPages says 65535, the ranges hold ${short.pagesStored}`]);
    // TotalNumberOfPages is where a complete dump's ranges stop: entries after it are not read.
    const stop = parse(patched(C10, (v) => v.setBigUint64(RDMP.TotalNumberOfPages, 0x9en, true))).info;
    expect(stop.rdmp!.ranges).toEqual([SPACE.runs[0]]);
    // A Pfn-0 entry ends the table (types 8 and 9 have no count): what follows is not read.
    const cut = parse(patched(K8, (v) => v.setBigUint64(range(3), 0n, true))).info;
    expect(cut.rdmp!.ranges.length).toBe(3);
  });

  it('a bitmap claiming far more pages than the file holds is refused before anything is allocated', () => {
    const bmp = bytesOf('6 FDMP');
    for (const bits of [1n << 40n, 1n << 52n, 0xffffffffffffffffn]) {
      expectDumpError(() => parse(patched(bmp, (v) => v.setBigUint64(BMP.Pages, bits, true))), BMP.Pages, /past the end of the file/);
    }
    // Every bit set: the bitmap fits, the pages it names do not.
    const all = patched(bmp, (_, b) => b.fill(0xff, BMP.Bitmap, BMP.Bitmap + Math.floor(SPACE.physicalPages / 8)));
    expectDumpError(() => parse(all), BMP.Bitmap, /stored pages, ending at file offset .* past the end of the file/);
  });

  it('a body cut short opens with a warning, the pages past the end reported missing', () => {
    for (const name of ['8', '9, first page unaligned', '10']) {
      const b = bytesOf(name);
      const firstPage = firstPageOf(b);
      const cut = firstPage + 3 * 0x1000;
      const d = parse(b.subarray(0, cut));
      expect(d.info.warnings).toEqual([`truncated dump: pages from file offset 0x${cut.toString(16)} on are missing (0x${b.length.toString(16)} bytes expected)`]);
      const last = d.info.rdmp!.ranges.reduce((m, r) => Math.max(m, r.basePage + r.pageCount - 1), 0);
      const lastOffset = d.physical.fileOffsetOf(last)!;
      expect(lastOffset).toBeGreaterThanOrEqual(cut);
      expect(d.physical.hasFrame(last)).toBe(false);
      expect(d.physical.missingReason(last)).toMatch(/past the end of the truncated file/);
    }
  });
});

/** Opens a possibly hostile dump and reads through it: only DumpErrors may come out. Returns the error, if any. */
function probe(b: Uint8Array): DumpError | undefined {
  try {
    const source = new BufferSource(b);
    const d = readDump(source);
    // Memory follows the file: never more ranges than the table has slots.
    if (d.info.rdmp) expect(d.info.rdmp.ranges.length).toBeLessThanOrEqual((d.info.rdmp.firstPage - RDMP.Ranges) / RDMP.RangeSize);
    expect(source.bytesRead).toBeLessThanOrEqual(Math.max(b.length, 0x2000));
    let image;
    try {
      image = d.image({ maxWalk: 100_000 });
    } catch (e) {
      if (e instanceof DumpError) return undefined;
      throw e;
    }
    for (const t of TREES) decodeTree(image, t.root, t.options);
    return undefined;
  } catch (e) {
    if (!(e instanceof DumpError)) throw e;
    return e;
  }
}

describe('properties: cut points and lying fields', () => {
  const names = ['6 FDMP', '8', '9, first page unaligned', '10', '10, content frames only, descending'];

  it('a file cut anywhere: the header and metadata are refused at their offsets, a cut body opens', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.double({ min: 0, max: 1, noNaN: true }), (name, at) => {
        const b = bytesOf(name);
        const v = VARIANTS.find((x) => x.name === name)!;
        const metadataEnd = v.type === 6 ? BMP.Bitmap + Math.ceil(SPACE.physicalPages / 8) : firstPageOf(b);
        // Weighted towards the header and the metadata, where the depths are.
        const cut = at < 0.7 ? Math.floor((at / 0.7) * (metadataEnd + 0x20)) : Math.floor(b.length * at);
        const e = probe(b.subarray(0, cut));
        if (cut < 0x2000) expect(e?.fileOffset).toBe(cut);
        else if (v.type === 6 ? cut < BMP.Bitmap : cut < RDMP.Ranges) expect(e?.fileOffset).toBe(cut);
        else if (cut < metadataEnd) expect(e?.fileOffset).toBe(v.type === 6 ? BMP.Pages : RDMP.MetadataSize);
        else {
          expect(e).toBeUndefined();
          const d = parse(b.subarray(0, cut));
          expect(d.info.warnings.some((w) => w.startsWith('truncated dump'))).toBe(cut < b.length);
        }
      }),
      fcParams({ numRuns: 300 }),
    );
  });

  it('lying header, RDMP and range fields never escape as untyped errors nor grow memory', () => {
    const fields = [
      RDMP.MetadataSize, RDMP.FirstPageOffset, RDMP.NumberOfRanges, RDMP.TotalNumberOfPages,
      range(0), range(0) + 8, range(1), range(1) + 8, range(7), range(7) + 8,
      HDR.RequiredDumpSpace, HDR.NumberOfRuns, HDR.Runs + 8, HDR.DirectoryTableBase,
    ];
    const value = fc.oneof(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.bigInt({ min: 0n, max: 0x3000n }),
      fc.constantFrom(0n, 1n, 0x9en, 0xfe0n, 0x1000n, 0x3000n, 1n << 40n, 1n << 52n, (1n << 63n) - 1n),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('8', '8, ranges descending', '9, first page unaligned', '10'),
        fc.array(fc.tuple(fc.constantFrom(...fields), value), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(8, 9, 10),
        (name, pokes, type) => {
          const b = patched(bytesOf(name), (v) => {
            v.setUint32(HDR.DumpType, type, true);
            pokes.forEach(([at, x]) => v.setBigUint64(at, x, true));
          });
          const e = probe(b);
          if (e) expect(e.fileOffset).toBeLessThan(b.length);
        },
      ),
      fcParams({ numRuns: 400 }),
    );
  });
});
