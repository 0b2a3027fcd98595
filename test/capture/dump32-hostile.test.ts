// Hostile 32-bit crash dumps: every header field that lies, every truncation depth. Each gives a
// DumpError naming the file offset of the field at fault, or opens with a warning and reports the
// missing pages through the address space; nothing hangs, nothing throws untyped, and memory does
// not grow with what the header claims.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferSource } from '../../src/codec/physical.js';
import { BMP32, HDR32, MAX_BITMAP_PAGES32, MAX_RUNS32, openDump32 } from '../../src/capture/sources/dump32.js';
import { DumpError, OffloadError } from '../../src/errors.js';
import { decodeTree } from '../../src/tree/decode.js';
import { fcParams } from '../support/arbitraries.js';
import { errorOf } from '../support/errors.js';
import { buildX86Space, placeX86Tree, writeBitmapDump32, writeFullDump32, x86Regions } from '../support/x86-dumps.js';

const TREE = placeX86Tree('initiate-x86');
const SPACE = buildX86Space(x86Regions([TREE]), { paging: 'pae', scatter: 3 });
const FULL = writeFullDump32(SPACE).toBytes();
const BITMAP = writeBitmapDump32(SPACE).toBytes();

const edit = (bytes: Uint8Array, fn: (v: DataView, b: Uint8Array) => void): Uint8Array => {
  const b = bytes.slice();
  fn(new DataView(b.buffer), b);
  return b;
};
const open = (bytes: Uint8Array) => openDump32(new BufferSource(bytes, 'hostile.dmp'));
const failure = (bytes: Uint8Array): string => {
  const e = errorOf<DumpError>(() => open(bytes));
  expect(e).toBeInstanceOf(DumpError);
  return e.message;
};

describe('32-bit dump headers that lie', () => {
  it('the untouched dumps open', () => {
    expect(open(FULL).info.warnings).toEqual([]);
    expect(open(BITMAP).info.warnings).toEqual([]);
  });

  const cases: [string, Uint8Array, string][] = [
    ['an empty file', new Uint8Array(0), 'dump @0x0: truncated header: 0 bytes, a 32-bit dump header needs 0x1000'],
    ['a 64-bit dump', edit(FULL, (_, b) => b.set([0x44, 0x55, 0x36, 0x34], 4)), 'dump @0x4: a 64-bit crash dump (PAGEDU64), not a 32-bit one (PAGEDUMP)'],
    ['another file', edit(FULL, (_, b) => b.set([0x4d, 0x44, 0x4d, 0x50], 0)), 'dump @0x0: not a Windows kernel crash dump: signature "MDMP" (expected "PAGE")'],
    ['a header cut short', FULL.slice(0, 0x800), 'dump @0x800: truncated header: 2048 bytes, a 32-bit dump header needs 0x1000'],
    ['an x64 machine', edit(FULL, (v) => v.setUint32(HDR32.MachineImageType, 0x8664, true)), 'dump @0x20: MachineImageType 0x8664 is not x86 (0x14c): only x86 paging is read from a 32-bit dump'],
    ['a summary dump', edit(FULL, (v) => v.setUint32(HDR32.DumpType, 2, true)), 'dump @0xf88: dump type 2 (kernel summary dump) is not read: take a complete or kernel memory dump (DumpType 1 or 5)'],
    ['a minidump', edit(FULL, (v) => v.setUint32(HDR32.DumpType, 4, true)), 'dump @0xf88: dump type 4 (minidump) is not a kernel memory image'],
    ['an unset DumpType', edit(FULL, (v) => v.setUint32(HDR32.DumpType, 0x45474150, true)), 'dump @0xf88: unsupported dump type 0x45474150 (the "PAGE" filler: never set)'],
    ['PaeEnabled 2', edit(FULL, (_, b) => (b[HDR32.PaeEnabled] = 2)), 'dump @0x5c: PaeEnabled is 0x2, neither 0 nor 1'],
    ['too many runs', edit(FULL, (v) => v.setUint32(HDR32.NumberOfRuns, MAX_RUNS32 + 1, true)), `dump @0x64: NumberOfRuns ${MAX_RUNS32 + 1} exceeds the 86 runs PhysicalMemoryBlock can hold`],
    ['unset runs', edit(FULL, (v) => v.setUint32(HDR32.NumberOfRuns, 0x45474150, true)), 'dump @0x64: NumberOfRuns is the "PAGE" filler: never set'],
    ['no runs', edit(FULL, (v) => v.setUint32(HDR32.NumberOfRuns, 0, true)), 'dump @0x64: a full dump with no physical memory runs'],
    ['overlapping runs', edit(FULL, (v) => v.setUint32(HDR32.Runs + 8, 0x90, true)), 'dump @0x74: run 1 overlaps run 0'],
    [
      'a run past the end (RequiredDumpSpace agrees with the file)',
      edit(FULL, (v) => v.setUint32(HDR32.Runs + 12, 0x10000000, true)),
      'dump @0x78: run 1 (PFN 0x100, 0x10000000 pages) is stored at file offset 0x9f000..0x1000009f000, past the end of the file (0x',
    ],
    ['a bitmap header cut short', BITMAP.slice(0, 0x1020), 'dump @0x1020: truncated bitmap header: the file ends at 0x1020, the header needs 0x1038'],
    ['a bad bitmap signature', edit(BITMAP, (_, b) => b.set([0x58], BMP32.Signature)), 'dump @0x1000: bad bitmap header "XDMPDUMP" (expected "SDMPDUMP" or "FDMPDUMP")'],
    ['a bitmap of 2^26 + 1 pages', edit(BITMAP, (v) => v.setBigUint64(BMP32.Pages, BigInt(MAX_BITMAP_PAGES32 + 1), true)), 'dump @0x1030: a bitmap of 67108865 pages is more than the 67108864 (256 GiB) a 32-bit machine can have'],
    ['a bitmap of 2^64 - 1 pages', edit(BITMAP, (v) => v.setBigUint64(BMP32.Pages, 2n ** 64n - 1n, true)), 'dump @0x1030: a bitmap of 18446744073709551615 pages is more than'],
    ['a bitmap past the end', edit(BITMAP, (v) => v.setBigUint64(BMP32.Pages, 2n ** 25n, true)), 'dump @0x1030: a bitmap of 33554432 bits ends at file offset 0x401038, past the end of the file'],
    ['FirstPage past the end', edit(BITMAP, (v) => v.setBigUint64(BMP32.FirstPage, 2n ** 40n, true)), 'dump @0x1020: FirstPage 0x10000000000 is past the end of the file'],
    ['FirstPage inside the bitmap', edit(BITMAP, (v) => v.setBigUint64(BMP32.FirstPage, 0x1040n, true)), 'dump @0x1020: FirstPage 0x1040 overlaps the bitmap (which ends at 0x'],
    ['bitmap bits past the end (RequiredDumpSpace agrees)', edit(BITMAP, (_, b) => b.fill(0xff, BMP32.Bitmap, BMP32.Bitmap + 0x40)), 'dump @0x1038: the bitmap names '],
  ];
  for (const [name, bytes, message] of cases) {
    it(`${name}: ${message.slice(0, 60)}`, () => expect(failure(bytes)).toContain(message));
  }

  it('a bitmap dump with an unset PhysicalMemoryBlock opens and says so', () => {
    const d = open(edit(BITMAP, (v) => v.setUint32(HDR32.NumberOfRuns, 0x45474150, true)));
    expect(d.info.warnings).toEqual(['PhysicalMemoryBlock ignored: NumberOfRuns is the "PAGE" filler: never set']);
    expect(decodeTree(d.image(), BigInt(TREE.root), TREE.options).diagnostics).toEqual([]);
  });

  it('counts that disagree are warnings', () => {
    const d = open(edit(BITMAP, (v) => {
      v.setBigUint64(BMP32.TotalPresentPages, 4n, true);
      v.setUint32(HDR32.NumberOfPages, 7, true);
    }));
    expect(d.info.warnings).toEqual([
      `NumberOfPages says 7, the runs hold ${SPACE.runs[0]!.pageCount + SPACE.runs[1]!.pageCount}`,
      `TotalPresentPages says 4, the bitmap has ${SPACE.frames.size} bits set`,
    ]);
  });

  it('a DirectoryTableBase outside the dump: image() names the field', () => {
    const d = open(edit(FULL, (v) => v.setUint32(HDR32.DirectoryTableBase, 0x9f0003e0, true)));
    const e = errorOf<DumpError>(() => d.image());
    expect(e).toBeInstanceOf(DumpError);
    expect(e.message).toBe('dump @0x10: DirectoryTableBase 0x9f0003e0: its PDPT is not in the dump (PFN 0x9f000 not stored (beyond the last stored frame 0x' + (SPACE.physicalPages - 1).toString(16) + '))');
  });

  it('a DirectoryTableBase never set (the "PAGE" filler): image() says so', () => {
    const d = open(edit(BITMAP, (v) => v.setUint32(HDR32.DirectoryTableBase, 0x45474150, true)));
    expect(errorOf<DumpError>(() => d.image()).message).toBe('dump @0x10: DirectoryTableBase is the "PAGE" filler: never set');
  });

  it('a header claiming the world costs what the header costs: runs of 2^32 - 1 pages, RequiredDumpSpace 2^62', () => {
    const bytes = edit(FULL, (v) => {
      v.setUint32(HDR32.Runs + 12, 0xffffffff, true);
      v.setBigUint64(HDR32.RequiredDumpSpace, 2n ** 62n, true);
    });
    const source = new BufferSource(bytes, 'huge.dmp');
    const d = openDump32(source);
    expect(d.info.warnings).toEqual([`NumberOfPages says ${SPACE.runs[0]!.pageCount + SPACE.runs[1]!.pageCount}, the runs hold ${0x9e + 0xffffffff}`, `truncated dump: pages from file offset 0x${bytes.length.toString(16)} on are missing (0x${(0x1000 + (0x9e + 0xffffffff) * 4096).toString(16)} bytes expected)`]);
    expect(source.bytesRead).toBe(0x1000);
    // The tree is still there; what lies past the end reads as absent, with the reason.
    expect(decodeTree(d.image(), BigInt(TREE.root), TREE.options).diagnostics).toEqual([]);
    expect(d.physical.missingReason(0x20000000)).toMatch(/^PFN 0x20000000 not stored: it belongs at file offset 0x[0-9a-f]+, past the end of the truncated file/);
  });
});

describe('truncated and corrupted 32-bit dumps never hang or throw untyped', () => {
  const check = (bytes: Uint8Array): void => {
    const started = Date.now();
    try {
      const d = open(bytes);
      const doc = decodeTree(d.image(), BigInt(TREE.root), TREE.options);
      expect(doc.abi).toBe('x86');
      [...d.image({ userHalf: true }).ranges()];
    } catch (e) {
      if (!(e instanceof OffloadError)) throw e;
    }
    expect(Date.now() - started).toBeLessThan(2000);
  };

  for (const [name, whole] of [['full', FULL], ['bitmap', BITMAP]] as const) {
    it(`${name}: cut at any point`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: whole.length }), (cut) => {
          const bytes = whole.slice(0, cut);
          check(bytes);
          // A body cut short with the header saying more (RequiredDumpSpace) opens with a warning.
          if (cut >= (name === 'full' ? 0x1000 : 0x1038 + Math.ceil(SPACE.physicalPages / 8)) && cut < whole.length) {
            expect(open(bytes).info.warnings.join()).toMatch(/^truncated dump: pages from file offset/);
          }
        }),
        fcParams({ numRuns: 150 }),
      );
    });

    it(`${name}: header fields and page-table bytes that lie`, () => {
      const fields = [...Object.values(HDR32).filter((o) => o < 0x1000), ...(name === 'bitmap' ? Object.values(BMP32) : [])];
      const tables = [...SPACE.frames.keys()].filter((p) => p < 0x800 || SPACE.frames.get(p)!.some((x) => x !== 0));
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.constantFrom(...fields), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 4 }),
          fc.array(fc.tuple(fc.constantFrom(...tables), fc.integer({ min: 0, max: 511 }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 6 }),
          (lies, entries) => {
            const bytes = whole.slice();
            const v = new DataView(bytes.buffer);
            for (const [at, value] of lies) v.setUint32(at, value, true);
            // Entries of stored frames, overwritten where the dump stores them.
            const d0 = open(whole);
            for (const [pfn, i, lo, hi] of entries) {
              const at = d0.physical.fileOffsetOf(pfn);
              if (at !== undefined && at + 4096 <= bytes.length) {
                v.setUint32(at + i * 8, lo, true);
                v.setUint32(at + i * 8 + 4, hi, true);
              }
            }
            check(bytes);
          },
        ),
        fcParams({ numRuns: 150 }),
      );
    });
  }
});
