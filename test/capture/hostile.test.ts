// Hostile captures: every lie of a LiME or ELF core container (counts and sizes past the end of
// the file, overlapping or backwards ranges, p_filesz > p_memsz, notes that overrun, an end before
// its start, a file cut anywhere) is a CaptureError naming the file offset of the field at fault:
// never a hang, another exception, or a read sized by the lie.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildAddressSpace } from '../../src/codec/dump-builder.js';
import { BufferSource, PAGE_SIZE } from '../../src/codec/physical.js';
import { type CaptureMemory, ELF_MAX_PHDRS, openCaptureSource } from '../../src/capture/index.js';
import { CaptureError } from '../../src/errors.js';
import { fcParams } from '../support/arbitraries.js';
import { type ElfCoreOptions, type RangeSpec, writeElfCore, writeLime } from '../support/capture-writers.js';
import { placeTree } from '../support/dump-trees.js';
import { errorOf } from '../support/errors.js';

const tree = placeTree('sample-x64');
const SPACE = buildAddressSpace([{ address: tree.root, bytes: tree.bytes }], { scatter: 3 });

const open = (bytes: Uint8Array): CaptureMemory => openCaptureSource(new BufferSource(bytes, 'hostile'));
const lime = (ranges?: RangeSpec[]): Uint8Array => writeLime(SPACE, { ranges: ranges ?? 'frames' }).toBytes();
const core = (o: ElfCoreOptions = {}): Uint8Array => writeElfCore(SPACE, { ranges: 'frames', ...o }).toBytes();
const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** The CaptureError `fn` throws (any other outcome fails the test). */
function captureError(fn: () => unknown): CaptureError {
  const e = errorOf(fn);
  expect(e).toBeInstanceOf(CaptureError);
  return e as CaptureError;
}

/** Offsets of the LiME headers, from the ranges written. */
function limeHeaders(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let at = 0; at < b.length; ) {
    out.push(at);
    at += 32 + Number(dv(b).getBigUint64(at + 16, true) - dv(b).getBigUint64(at + 8, true)) + 1;
  }
  return out;
}

describe('LiME: each lie is a CaptureError at the field', () => {
  it('an e_addr before its s_addr', () => {
    const b = lime();
    const h = limeHeaders(b)[1]!;
    const s = dv(b).getBigUint64(h + 8, true);
    dv(b).setBigUint64(h + 16, s - 1n, true);
    const e = captureError(() => open(b));
    expect([e.fileOffset, e.message]).toEqual([h + 16, `LiME @0x${(h + 16).toString(16)}: range 1's e_addr 0x${(s - 1n).toString(16)} is before its s_addr 0x${s.toString(16)}`]);
  });

  it('ranges that overlap or go backwards', () => {
    const overlap = captureError(() => open(lime([{ physical: 0x2000, length: 0x2000 }, { physical: 0x3000, length: 0x1000 }])));
    expect([overlap.fileOffset, overlap.message]).toEqual([0x2028, 'LiME @0x2028: range 1 (0x3000..0x3fff) overlaps range 0 (0x2000..0x3fff)']);
    const back = captureError(() => open(lime([{ physical: 0x5000, length: 0x1000 }, { physical: 0x2000, length: 0x1000 }])));
    expect(back.message).toBe('LiME @0x1028: range 1 (0x2000..0x2fff) goes below range 0 (0x5000..0x5fff): ranges must ascend');
  });

  it('a length past the end of the file, however large, costs one header read', () => {
    const b = lime();
    const last = limeHeaders(b).at(-1)!;
    dv(b).setBigUint64(last + 16, 2n ** 51n, true);
    const source = new BufferSource(b, 'hostile');
    const e = captureError(() => openCaptureSource(source));
    expect(e.fileOffset).toBe(last + 16);
    expect(e.message).toMatch(/range \d+ \(physical 0x[0-9a-f]+\.\.0x8000000000000\) needs file bytes .* past the end of the file \(0x[0-9a-f]+ bytes\): truncated or lying$/);
    expect(source.bytesRead).toBe(16 + 32 * limeHeaders(lime()).length);
  });

  it('a bad magic, a version other than 1, an address past 52 bits, an empty file', () => {
    const b = lime();
    const h = limeHeaders(b)[2]!;
    b[h] = 0x46;
    expect(captureError(() => open(b)).message).toBe(
      `LiME @0x${h.toString(16)}: range 2's header magic is 0x4c694d46, not 0x4c694d45 ("EMiL"): the previous range's length is wrong or the file is not LiME`,
    );
    const v = lime();
    dv(v).setUint32(4, 2, true);
    expect(captureError(() => open(v)).message).toBe("LiME @0x4: range 0's header version is 2; only version 1 is known");
    const far = lime();
    dv(far).setBigUint64(8, 2n ** 52n, true);
    expect(captureError(() => open(far)).message).toBe("LiME @0x8: range 0's s_addr 0x10000000000000 is past the 52-bit physical address limit");
    expect(captureError(() => open(lime().subarray(0, 20))).message).toBe("LiME @0x14: range 0's header is cut short: 20 of 32 bytes before the end of the file");
  });
});

describe('ELF cores: each lie is a CaptureError at the field', () => {
  const PH = 0x40; // e_phoff of the writer's ELF64 cores
  it('p_filesz larger than p_memsz', () => {
    const b = core();
    const at = PH + 2 * 0x38; // the second PT_LOAD
    dv(b).setBigUint64(at + 0x28, dv(b).getBigUint64(at + 0x20, true) - 1n, true);
    const e = captureError(() => open(b));
    expect([e.fileOffset, e.message]).toEqual([at + 0x20, "ELF core @0xd0: PT_LOAD (program header 2)'s p_filesz 0x1000 is larger than its p_memsz 0xfff"]);
  });

  it('a program header count past the end of the file, or past any VM (PN_XNUM), costs no more reads', () => {
    const b = core();
    dv(b).setUint16(0x38, 0xfffe, true);
    expect(captureError(() => open(b)).message).toMatch(/^ELF core @0x38: 65534 program headers of 56 bytes from e_phoff 0x40 run past the end of the file/);
    const x = core({ xnum: true });
    const shoff = Number(dv(x).getBigUint64(0x28, true));
    dv(x).setUint32(shoff + 0x2c, 0xffffffff, true);
    const source = new BufferSource(x, 'hostile');
    const e = captureError(() => openCaptureSource(source));
    expect([e.fileOffset, e.message]).toEqual([shoff + 0x2c, `ELF core @0x${(shoff + 0x2c).toString(16)}: 4294967295 program headers: more than the ${ELF_MAX_PHDRS} any VM core has`]);
    expect(source.bytesRead).toBeLessThan(0x100);
    dv(x).setBigUint64(0x28, BigInt(x.length), true);
    expect(captureError(() => open(x)).message).toMatch(/^ELF core @0x28: e_phnum is PN_XNUM, so section header 0 holds the count, but e_shoff 0x[0-9a-f]+ does not place it inside the file/);
  });

  it('notes whose sizes overrun their segment', () => {
    const b = core();
    const notes = Number(dv(b).getBigUint64(PH + 8, true));
    dv(b).setUint32(notes + 4, 0x7fffffff, true);
    expect(captureError(() => open(b)).message).toBe(`ELF core @0x${(notes + 4).toString(16)}: note "CORE" n_descsz 0x7fffffff overruns PT_NOTE (program header 0)`);
    const n = core();
    dv(n).setUint32(notes, 0xfffffff0, true);
    expect(captureError(() => open(n)).message).toMatch(new RegExp(`^ELF core @0x${notes.toString(16)}: note n_namesz 0xfffffff0 overruns PT_NOTE \\(program header 0\\)`));
    const big = core();
    dv(big).setBigUint64(PH + 0x20, 2n ** 40n, true);
    expect(captureError(() => open(big)).message).toMatch(/^ELF core @0x60: PT_NOTE \(program header 0\) needs file bytes 0x[0-9a-f]+\+0x10000000000, past the end of the file/);
  });

  it('PT_LOADs that overlap, and ones past the 52-bit limit', () => {
    const e = captureError(() => open(core({ ranges: [{ physical: 0x1000, length: 0x2000 }, { physical: 0x2000, length: 0x1000 }] })));
    expect([e.fileOffset, e.message]).toEqual([PH + 2 * 0x38 + 0x18, 'ELF core @0xc8: PT_LOAD (program header 2) (0x2000..0x2fff) overlaps PT_LOAD (program header 1) (0x1000..0x2fff)']);
    const far = core();
    dv(far).setBigUint64(PH + 0x38 + 0x18, 2n ** 60n, true);
    expect(captureError(() => open(far)).message).toBe("ELF core @0x90: PT_LOAD (program header 1)'s p_paddr 0x1000000000000000 is past the 52-bit physical address limit");
  });

  it('not a core of an x86 machine, or not little-endian', () => {
    const exec = core();
    dv(exec).setUint16(0x10, 2, true);
    expect(captureError(() => open(exec)).message).toBe('ELF core @0x10: e_type is 2, not ET_CORE (4): an ELF file but not a core');
    const arm = core({ elfClass: 32 });
    dv(arm).setUint16(0x12, 40, true);
    expect(captureError(() => open(arm)).message).toBe('ELF core @0x12: e_machine is 40, not EM_X86_64 (62) or EM_386 (3)');
    const be = core();
    be[5] = 2;
    expect(captureError(() => open(be)).message).toBe('ELF core @0x5: EI_DATA is 2, not 1 (little-endian): not an x86 core');
    expect(captureError(() => open(core().subarray(0, 0x30))).message).toBe('ELF core @0x30: the ELF64 header is cut short: 48 of 64 bytes');
  });
});

/** What opening gives, as long as it is a CaptureError or a capture whose every stored frame reads. */
function outcome(bytes: Uint8Array): CaptureMemory | CaptureError {
  let c: CaptureMemory;
  try {
    c = open(bytes);
  } catch (e) {
    if (e instanceof CaptureError) {
      expect(e.fileOffset).toBeGreaterThanOrEqual(0);
      expect(e.fileOffset).toBeLessThanOrEqual(2 ** 53);
      return e;
    }
    throw e;
  }
  for (const r of c.ranges) {
    expect(r.fileOffset + r.length).toBeLessThanOrEqual(bytes.length);
    for (let p = Math.ceil(r.physical / PAGE_SIZE); (p + 1) * PAGE_SIZE <= r.physical + r.length; p++) expect(c.readFrame(p)).toBeDefined();
  }
  return c;
}

const SAMPLES: [string, () => Uint8Array][] = [
  ['LiME', () => lime()],
  ['QEMU ELF64', () => core({ cr3: [SPACE.dtb, SPACE.dtb] })],
  ['QEMU ELF32, PN_XNUM', () => core({ elfClass: 32, xnum: true })],
  ['VirtualBox ELF64 with MMIO', () => core({ producer: 'virtualbox', mmio: [{ physical: 0xfe000000, length: 0x10000 }] })],
];

describe('property: truncated anywhere, or any metadata byte lying', () => {
  for (const [name, make] of SAMPLES) {
    const whole = make();
    const good = open(whole);
    // LiME: a cut exactly between ranges leaves a shorter valid capture; everything else is an error.
    const boundaries = name === 'LiME' ? new Set(limeHeaders(whole).slice(1)) : new Set<number>();

    it(`${name}: a file cut at any point is a CaptureError (or, between LiME ranges, the ranges before the cut)`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: whole.length - 1 }), (t) => {
          const got = outcome(whole.subarray(0, t));
          if (boundaries.has(t)) expect(got).toMatchObject({ ranges: good.ranges.slice(0, [...boundaries].indexOf(t) + 1) });
          else expect(got).toBeInstanceOf(CaptureError);
        }),
        fcParams({ numRuns: 300 }),
      );
      // And every cut inside the metadata, one by one.
      const meta = name === 'LiME' ? 64 : good.ranges[0]!.fileOffset;
      for (let t = 0; t < meta; t++) expect(outcome(whole.subarray(0, t))).toBeInstanceOf(CaptureError);
    });

    it(`${name}: any bytes written over the metadata open cleanly or give a CaptureError, quickly`, () => {
      const metadata = name === 'LiME' ? limeHeaders(whole).flatMap((h) => Array.from({ length: 32 }, (_, i) => h + i)) : Array.from({ length: good.ranges[0]!.fileOffset }, (_, i) => i);
      fc.assert(
        fc.property(fc.constantFrom(...metadata), fc.uint8Array({ minLength: 1, maxLength: 8 }), (at, lie) => {
          const b = whole.slice();
          b.set(lie.subarray(0, b.length - at), at);
          const t0 = performance.now();
          outcome(b);
          expect(performance.now() - t0).toBeLessThan(2000);
        }),
        fcParams({ numRuns: 400 }),
      );
    });
  }
});

describe('property: the range map', () => {
  it('extent() and hasFrame() agree with the ranges, frame by frame, for aligned and unaligned ranges', () => {
    const rangesArb = fc
      .array(fc.record({ gap: fc.integer({ min: 0, max: 0x5000 }), length: fc.integer({ min: 1, max: 0x6000 }) }), { minLength: 1, maxLength: 6 })
      .map((rs) => {
        let at = 0;
        return rs.map((r) => {
          const physical = at + r.gap;
          at = physical + r.length;
          return { physical, length: r.length };
        });
      });
    fc.assert(
      fc.property(rangesArb, fc.integer({ min: -3, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), (ranges, pfn, count, stored) => {
        const c = open(writeLime(SPACE, { ranges }).toBytes());
        const whole = (p: number): boolean => ranges.some((r) => p >= 0 && p * PAGE_SIZE >= r.physical && (p + 1) * PAGE_SIZE <= r.physical + r.length);
        for (let p = -1; p < 45; p++) expect(c.hasFrame(p), `PFN ${p}`).toBe(whole(p));
        let naive = 0;
        while (naive < count && whole(pfn + naive) === stored) naive++;
        expect(c.extent(pfn, count, stored)).toBe(naive);
      }),
      fcParams({ numRuns: 300 }),
    );
  });
});
