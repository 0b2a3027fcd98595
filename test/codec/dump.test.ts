import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DumpError, UsageError } from '../../src/errors.js';
import { BitmapIndex } from '../../src/codec/dump-pages.js';
import { buildAddressSpace, writeBitmapDump, writeFullDump, writeRawPhysical, type WriterRegion } from '../../src/codec/dump-writer.js';
import { BMP, HDR, MAX_RUNS, dateToFiletime, filetimeToDate, isDump, openCapture, openDump, readDump } from '../../src/codec/dump.js';
import { Location } from '../../src/codec/image.js';
import { BufferSource } from '../../src/codec/physical.js';

function bytesOf(n: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  return Uint8Array.from({ length: n }, () => ((x = Math.imul(x ^ (x >>> 13), 0x5bd1e995) + 0x6b43a9b5) >>> 24) & 0xff);
}

const K = 0xfffff80000000000n;
const REGIONS: WriterRegion[] = [
  { address: K + 0x12345f00n, bytes: bytesOf(0x3000, 1) },
  { address: 0xffffa00000000000n, bytes: bytesOf(0x100, 2), pageSize: 0x200000 },
];
const SPACE = buildAddressSpace(REGIONS, { scatter: 17, dtbFlags: 0x2 });
const HEADER = {
  majorVersion: 0xf,
  minorVersion: 22621,
  processors: 12,
  bugCheckCode: 0xe2,
  bugCheckParameters: [1n, 0xfffff80012345678n, 3n, 0xffffffffffffffffn] as const,
  systemTime: new Date('2024-05-06T07:08:09.123Z'),
  systemUpTime: 123_456_789n,
  comment: 'synthetic dump for tests',
  kdDebuggerDataBlock: 0xfffff8034a000b20n,
  psLoadedModuleList: 0xfffff8034a22a2d0n,
  psActiveProcessHead: 0xfffff8034a21e080n,
  pfnDataBase: 0xffffe80000000000n,
};
const FULL = writeFullDump(SPACE, HEADER).toBytes();
const BITMAP = writeBitmapDump(SPACE, HEADER).toBytes();

const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
const patched = (base: Uint8Array, patch: (v: DataView, b: Uint8Array) => void): Uint8Array => {
  const b = base.slice();
  patch(dv(b), b);
  return b;
};
const parse = (b: Uint8Array) => readDump(new BufferSource(b));

/** The error is a DumpError pointing at `fileOffset`; the message text is free. */
function expectDumpError(fn: () => unknown, fileOffset: number): DumpError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DumpError);
  expect((caught as DumpError).fileOffset).toBe(fileOffset);
  return caught as DumpError;
}

function expectReadsBack(b: Uint8Array, regions = REGIONS): void {
  const image = parse(b).image();
  const loc = new Location();
  for (const r of regions) {
    expect(image.locate(r.address, r.bytes.length, loc)).toBe(true);
    expect(new Uint8Array(loc.view.buffer, loc.view.byteOffset + loc.offset, r.bytes.length)).toEqual(r.bytes);
  }
}

describe('dump header', () => {
  for (const [name, file] of [['full', FULL], ['bitmap', BITMAP]] as const) {
    it(`${name}: every DumpInfo field`, () => {
      const { info } = parse(file);
      expect(info.signature).toBe('PAGEDU64');
      expect(info.dumpType).toBe(name === 'full' ? 1 : 5);
      expect(info.dumpTypeName).toBe(name === 'full' ? 'full memory dump' : 'bitmap dump');
      expect(info.majorVersion).toBe(0xf);
      expect(info.minorVersion).toBe(22621);
      expect(info.machineImageType).toBe(0x8664);
      expect(info.machineName).toBe('x64');
      expect(info.numberProcessors).toBe(12);
      expect(info.bugCheckCode).toBe(0xe2);
      expect(info.bugCheckParameters).toEqual([1n, 0xfffff80012345678n, 3n, 0xffffffffffffffffn]);
      expect(info.systemTime?.toISOString()).toBe('2024-05-06T07:08:09.123Z');
      expect(info.systemTimeRaw).toBe(dateToFiletime(HEADER.systemTime));
      expect(info.systemUpTime).toBe(123_456_789n);
      expect(info.directoryTableBase).toBe(SPACE.dtb);
      expect(info.directoryTableBase & 0xfffn).toBe(2n);
      expect(info.kdDebuggerDataBlock).toBe(HEADER.kdDebuggerDataBlock);
      expect(info.psLoadedModuleList).toBe(HEADER.psLoadedModuleList);
      expect(info.psActiveProcessHead).toBe(HEADER.psActiveProcessHead);
      expect(info.pfnDataBase).toBe(HEADER.pfnDataBase);
      expect(info.runs).toEqual(SPACE.runs);
      expect(info.runs.length).toBeGreaterThanOrEqual(2);
      expect(info.numberOfPages).toBe(BigInt(SPACE.runs.reduce((n, r) => n + r.pageCount, 0)));
      expect(info.requiredDumpSpace).toBe(BigInt(file.length));
      expect(info.fileSize).toBe(file.length);
      expect(info.comment).toBe('synthetic dump for tests');
      expect(info.warnings).toEqual([]);
      if (name === 'full') {
        expect(info.pagesStored).toBe(Number(info.numberOfPages));
        expect(info.bitmap).toBeUndefined();
      } else {
        expect(info.pagesStored).toBe(SPACE.frames.size);
        expect(info.bitmap).toEqual({ signature: 'SDMP', firstPage: info.bitmap!.firstPage, totalPresentPages: BigInt(SPACE.frames.size), bits: SPACE.physicalPages });
        expect(info.bitmap!.firstPage % 0x1000).toBe(0);
      }
      expect(isDump(new BufferSource(file))).toBe(true);
      expectReadsBack(file);
    });
  }

  it('FILETIME converts to dates and back; a PAGE-filled comment is empty', () => {
    expect(filetimeToDate(0n)?.toISOString()).toBe('1601-01-01T00:00:00.000Z');
    expect(filetimeToDate(116444736000000000n)?.toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect(filetimeToDate(0xffffffffffffffffn)?.getUTCFullYear()).toBe(60056);
    const d = new Date('2031-12-31T23:59:59.999Z');
    expect(filetimeToDate(dateToFiletime(d))).toEqual(d);
    expect(parse(writeFullDump(SPACE).toBytes()).info.comment).toBe('');
  });

  it('live kernel bitmap dumps (type 6, FDMP) read the same way', () => {
    const b = writeBitmapDump(SPACE, { dumpType: 6, signature: 'FDMP' }).toBytes();
    const { info } = parse(b);
    expect([info.dumpType, info.dumpTypeName, info.bitmap?.signature]).toEqual([6, 'live kernel bitmap dump', 'FDMP']);
    expectReadsBack(b);
  });

  it('rejects what is not a 64-bit kernel memory dump, clearly', () => {
    expect(expectDumpError(() => parse(patched(FULL, (_, b) => b.set([0x44, 0x55, 0x4d, 0x50], 4))), 4).message).toMatch(/32-bit/);
    expect(expectDumpError(() => parse(patched(FULL, (_, b) => b.set([0x4d, 0x44, 0x4d, 0x50], 0))), 0).message).toMatch(/minidump/);
    expectDumpError(() => parse(patched(FULL, (_, b) => b.set([0x45, 0x4c, 0x46, 0x7f], 0))), 0);
    expect(expectDumpError(() => parse(patched(FULL, (v) => v.setUint32(HDR.DumpType, 4, true))), HDR.DumpType).message).toMatch(/minidump/);
    for (const [type, name] of [[2, 'kernel summary dump'], [3, 'header-only dump'], [7, 'unknown'], [77, 'unknown']] as const) {
      const e = expectDumpError(() => parse(patched(FULL, (v) => v.setUint32(HDR.DumpType, type, true))), HDR.DumpType);
      expect(e.message).toContain(`unsupported dump type ${type} (${name})`);
    }
    const arm = parse(patched(FULL, (v) => v.setUint32(HDR.MachineImageType, 0xaa64, true)));
    expect(arm.info.machineName).toBe('ARM64');
    expectDumpError(() => arm.image(), HDR.MachineImageType);
  });
});

describe('hostile dumps', () => {
  it('truncated header', () => {
    expectDumpError(() => parse(FULL.subarray(0, 0x1000)), 0x1000);
    expectDumpError(() => parse(FULL.subarray(0, 5)), 5);
    expectDumpError(() => parse(BITMAP.subarray(0, 0x2010)), 0x2010);
  });

  it('NumberOfRuns beyond what PhysicalMemoryBlock holds, or zero', () => {
    expectDumpError(() => parse(patched(FULL, (v) => v.setUint32(HDR.NumberOfRuns, 0xffffffff, true))), HDR.NumberOfRuns);
    expectDumpError(() => parse(patched(FULL, (v) => v.setUint32(HDR.NumberOfRuns, MAX_RUNS + 1, true))), HDR.NumberOfRuns);
    expectDumpError(() => parse(patched(FULL, (v) => v.setUint32(HDR.NumberOfRuns, 0, true))), HDR.NumberOfRuns);
    // Advisory in a bitmap dump: ignored with a warning.
    const { info } = parse(patched(BITMAP, (v) => v.setUint32(HDR.NumberOfRuns, 0xffffffff, true)));
    expect(info.runs).toEqual([]);
    expect(info.warnings.join()).toMatch(/NumberOfRuns/);
  });

  it('page counts that overflow, overlapping runs', () => {
    expectDumpError(() => parse(patched(FULL, (v) => v.setBigUint64(HDR.Runs + 16 + 8, 0xffffffffffffffffn, true))), HDR.Runs + 16);
    expectDumpError(() => parse(patched(FULL, (v) => v.setBigUint64(HDR.Runs, 1n << 40n, true))), HDR.Runs);
    expectDumpError(() => parse(patched(FULL, (v) => v.setBigUint64(HDR.Runs + 8, 0x200n, true))), HDR.Runs + 16);
    const { info } = parse(patched(FULL, (v) => v.setBigUint64(HDR.NumberOfPages, 0xffffffffffffffffn, true)));
    expect(info.warnings.join()).toMatch(/NumberOfPages/);
  });

  it('a run past the end of the file', () => {
    expectDumpError(() => parse(patched(FULL, (v) => v.setBigUint64(HDR.Runs + 16 + 8, v.getBigUint64(HDR.Runs + 24, true) + 1n, true))), HDR.Runs + 16);
  });

  it('a bitmap past the end of the file', () => {
    expectDumpError(() => parse(patched(BITMAP, (v) => v.setBigUint64(BMP.Pages, BigInt(BITMAP.length * 8), true))), BMP.Pages);
    expectDumpError(() => parse(patched(BITMAP, (v) => v.setBigUint64(BMP.Pages, 0xffffffffffffffffn, true))), BMP.Pages);
    expectDumpError(() => parse(patched(BITMAP, (_, b) => b.set([0x58], BMP.Signature))), BMP.Signature);
  });

  it('FirstPage past the end of the file or inside the bitmap', () => {
    expectDumpError(() => parse(patched(BITMAP, (v) => v.setBigUint64(BMP.FirstPage, BigInt(BITMAP.length + 0x1000), true))), BMP.FirstPage);
    expectDumpError(() => parse(patched(BITMAP, (v) => v.setBigUint64(BMP.FirstPage, 0xfffffffffffff000n, true))), BMP.FirstPage);
    expectDumpError(() => parse(patched(BITMAP, (v) => v.setBigUint64(BMP.FirstPage, BigInt(BMP.Bitmap), true))), BMP.FirstPage);
  });

  it('stored pages past the end of a file that claims to be complete', () => {
    const cut = patched(BITMAP.subarray(0, BITMAP.length - 0x1000), (v, b) => v.setBigUint64(HDR.RequiredDumpSpace, BigInt(b.length), true));
    expectDumpError(() => parse(cut), BMP.Bitmap);
  });

  it('a DirectoryTableBase outside the stored memory', () => {
    for (const file of [FULL, BITMAP]) {
      const d = parse(patched(file, (v) => v.setBigUint64(HDR.DirectoryTableBase, 0x7fff0000000n, true)));
      expectDumpError(() => d.image(), HDR.DirectoryTableBase);
    }
  });

  it('a truncated body opens with warnings; the missing pages say why', () => {
    for (const file of [FULL, BITMAP]) {
      // Cut through the middle of the last frame that holds data.
      const whole = parse(file).physical;
      const lastPfn = [...SPACE.frames.keys()].sort((a, b) => whole.fileOffsetOf(b)! - whole.fileOffsetOf(a)!)[0]!;
      const cut = file.subarray(0, whole.fileOffsetOf(lastPfn)! + 0x800);
      const d = parse(cut);
      expect(d.info.warnings.join()).toMatch(/truncated/);
      expect(d.physical.hasFrame(lastPfn)).toBe(false);
      expect(d.physical.missingReason(lastPfn)).toMatch(/past the end of the truncated file/);
      const image = d.image();
      const loc = new Location();
      let missing = 0;
      for (const r of REGIONS) {
        for (let i = 0; i < r.bytes.length; i += 0x100) {
          const a = r.address + BigInt(i);
          if (image.locate(a, 1, loc)) expect(loc.view.getUint8(loc.offset)).toBe(r.bytes[i]);
          else {
            missing++;
            expect(image.explain(a, 1)).toMatch(/not in the dump|truncated/);
          }
        }
      }
      expect(missing).toBeGreaterThan(0);
      // ranges() lists exactly what locate can read: every page of every range, nothing else.
      let pages = 0;
      for (const r of image.ranges()) {
        for (let o = 0; o < r.length; o += 0x1000) {
          expect(image.locate(r.address + BigInt(o), 0x1000, loc)).toBe(true);
          pages++;
        }
      }
      expect(pages).toBeGreaterThan(0);
      expect(image.locate(REGIONS[0]!.address, REGIONS[0]!.bytes.length, loc) && image.locate(REGIONS[1]!.address, 0x100, loc)).toBe(false);
    }
  });

  it('random bytes after a valid header never escape as untyped errors', () => {
    const header = FULL.subarray(0, 0x2000);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 0x6000 }), fc.integer({ min: 1, max: 10 }), (body, type) => {
        const b = new Uint8Array(0x2000 + body.length);
        b.set(header);
        b.set(body, 0x2000);
        const v = dv(b);
        v.setUint32(HDR.DumpType, type === 5 || type === 6 ? type : 1 + (type % 2) * 4, true);
        // Small random memory: runs or bitmap that may or may not fit.
        v.setBigUint64(HDR.Runs + 8, BigInt(type), true);
        v.setBigUint64(HDR.Runs + 24, BigInt(body.length >> 12), true);
        v.setBigUint64(HDR.DirectoryTableBase, BigInt((body[0] ?? 0) << 12), true);
        probe(b);
      }),
      { numRuns: 300 },
    );
  });

  it('random header fields never escape as untyped errors', () => {
    const fields = [HDR.NumberOfRuns, HDR.NumberOfPages, HDR.Runs, HDR.Runs + 8, HDR.Runs + 16, HDR.Runs + 24, HDR.DirectoryTableBase, HDR.RequiredDumpSpace, BMP.FirstPage, BMP.Pages, BMP.TotalPresentPages];
    fc.assert(
      fc.property(fc.constantFrom(FULL, BITMAP), fc.array(fc.tuple(fc.constantFrom(...fields), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), { maxLength: 4 }), (file, pokes) => {
        probe(patched(file, (v) => pokes.forEach(([at, x]) => v.setBigUint64(at, x, true))));
      }),
      { numRuns: 300 },
    );
  });
});

/** Opens and reads a possibly hostile dump: only DumpErrors may come out, and everything ends. */
function probe(b: Uint8Array): void {
  try {
    const d = parse(b);
    const image = d.image({ maxWalk: 100_000 });
    const loc = new Location();
    for (const a of [K, K + 0x12345f00n, 0xffffa00000000000n, 0x1000n, 0xfffffffffffff000n]) {
      if (!image.locate(a, 0x20, loc)) expect(typeof image.explain(a, 0x20)).toBe('string');
    }
    let n = 0;
    for (const r of image.ranges()) if (r.length > 0 && ++n > 10_000) break;
  } catch (e) {
    if (!(e instanceof DumpError)) throw e;
  }
}

describe('large files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-dump-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a 4 GiB sparse bitmap dump decodes by reading only the pages it touches', () => {
    const space = buildAddressSpace(REGIONS, { scatter: 3, physicalPages: (1 << 20) + 0x200 });
    const path = join(dir, 'big.dmp');
    writeBitmapDump(space, { storeAll: true }).toFile(path);
    const st = statSync(path);
    expect(st.size).toBeGreaterThan(4 * 2 ** 30);
    const dump = openDump(path);
    try {
      expect(dump.info.pagesStored).toBe(space.runs.reduce((n, r) => n + r.pageCount, 0));
      const image = dump.image();
      const loc = new Location();
      for (const r of REGIONS) {
        expect(image.locate(r.address, r.bytes.length, loc)).toBe(true);
        expect(new Uint8Array(loc.view.buffer, loc.view.byteOffset + loc.offset, r.bytes.length)).toEqual(r.bytes);
      }
      // Header + bitmap (128 KiB) + a dozen frames: nowhere near the 4 GiB of the file.
      expect(dump.physical.stats.frameReads).toBeLessThan(32);
      expect(dump.physical.source.bytesRead).toBeLessThan(512 * 1024);
      expect(dump.physical.source.reads).toBeLessThan(64);
    } finally {
      dump.close();
    }
  });

  it('openCapture opens dumps by their header and raw images with a given DTB', () => {
    const dumpPath = join(dir, 'small.dmp');
    const rawPath = join(dir, 'small.raw');
    writeFullDump(SPACE).toFile(dumpPath);
    writeRawPhysical(SPACE).toFile(rawPath);
    const loc = new Location();
    const d = openCapture(dumpPath);
    try {
      expect(d.dump?.info.dumpType).toBe(1);
      expect(d.image.locate(REGIONS[0]!.address, 16, loc)).toBe(true);
    } finally {
      d.close();
    }
    expect(() => openCapture(rawPath)).toThrow(UsageError);
    const r = openCapture(rawPath, { dtb: SPACE.dtb });
    try {
      expect(r.dump).toBeUndefined();
      expect(r.image.locate(REGIONS[1]!.address, 16, loc)).toBe(true);
      expect(loc.imageOffset).toBe(Number(r.image.physicalAddress(REGIONS[1]!.address)));
    } finally {
      r.close();
    }
  });

  it('the bitmap index of a 64 GiB machine stays small', () => {
    const bits = (64 * 2 ** 30) / 4096;
    const words = new Uint32Array(bits / 32);
    for (let i = 0; i < words.length; i++) words[i] = i % 3 === 0 ? 0xffffffff : 0x0f0f0f0f;
    const index = new BitmapIndex(words, bits);
    expect(index.byteLength).toBeLessThan(2.5 * 2 ** 20);
    expect(index.rank(bits - 1)).toBe(index.total - (index.has(bits - 1) ? 1 : 0));
    expect(index.rank(33)).toBe(32 + 1);
    expect(index.extent(0, 100, true)).toBe(36);
    expect(index.select(0)).toBe(0);
    expect(index.select(32)).toBe(32);
    expect(index.select(33)).toBe(33);
    expect(index.select(36)).toBe(40);
    expect(index.select(index.total - 1)).toBe(bits - 4 - 1);
    expect(index.select(index.total)).toBe(bits);
    for (const k of [0, 1, 1000, 123_457, index.total - 1]) expect(index.rank(index.select(k))).toBe(k);
  });
});
