// LiME captures and ELF cores of virtual machines (QEMU ELF64/ELF32, VirtualBox) written from the
// fixture trees' address space (frames scattered, blocks straddling pages, a 2 MiB page, a
// transition PTE): read through `new PagedImage(capture, cr3)`, each tree decodes to exactly the
// document the plain region gives, apart from `base` and `offset`.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SerialisedImage } from '../../src/codec/dump-writer.js';
import { SegmentImage } from '../../src/codec/image.js';
import { PagedImage } from '../../src/codec/paged.js';
import { BufferSource, PAGE_SIZE } from '../../src/codec/physical.js';
import { BlobReader, CaptureMemory, openCaptureSource, openFileReader, sniffSource } from '../../src/capture/index.js';
import { CaptureError } from '../../src/errors.js';
import { decodeTree } from '../../src/tree/decode.js';
import type { TreeDocument } from '../../src/tree/document.js';
import { CR4_X64, type ElfCoreOptions, rangesOf, writeElfCore, writeLime } from '../support/capture-writers.js';
import { type PlacedTree, normalised, standardSpace, standardTrees, writeCaptures } from '../support/dump-trees.js';
import { errorOf } from '../support/errors.js';
import { FakeBlob, fakeFileReader } from '../support/blob.js';

const TREES = standardTrees();
const SPACE = standardSpace(TREES);
const DIR = writeCaptures(SPACE, 'ndis-captures-').dir; // a full dump too, to show it is not taken for a capture
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

const PCID = 0x5n;
const CR3 = SPACE.dtb | PCID; // the space's DTB carries flag bit 0; a PCID on top

interface Variant {
  name: string;
  write: () => SerialisedImage;
  variant: string;
  cpus: number;
}

const elf = (o: ElfCoreOptions): (() => SerialisedImage) => () => writeElfCore(SPACE, { cr3: [CR3, CR3 + 0x1000n], ...o });
const VARIANTS: Variant[] = [
  { name: 'lime-runs', write: () => writeLime(SPACE), variant: 'LiME version 1', cpus: 0 },
  { name: 'lime-frames', write: () => writeLime(SPACE, { ranges: 'frames' }), variant: 'LiME version 1', cpus: 0 },
  { name: 'qemu-elf64', write: elf({}), variant: 'QEMU dump-guest-memory ELF64', cpus: 2 },
  { name: 'qemu-elf32', write: elf({ elfClass: 32 }), variant: 'QEMU dump-guest-memory ELF32', cpus: 2 },
  { name: 'qemu-elf64-xnum-frames', write: elf({ xnum: true, ranges: 'frames' }), variant: 'QEMU dump-guest-memory ELF64', cpus: 2 },
  { name: 'qemu-elf32-xnum-frames', write: elf({ elfClass: 32, xnum: true, ranges: 'frames' }), variant: 'QEMU dump-guest-memory ELF32', cpus: 2 },
  {
    name: 'virtualbox-mmio',
    write: elf({ producer: 'virtualbox', mmio: [{ physical: 0xfe000000, length: 0x1000000 }] }),
    variant: 'VirtualBox dumpvmcore ELF64 (VirtualBox 7.0.14 r161095)',
    cpus: 2,
  },
];

const files = new Map<string, string>();
for (const v of VARIANTS) {
  const path = join(DIR, `${v.name}.core`);
  v.write().toFile(path);
  files.set(v.name, path);
}

function withCapture<T>(name: string, fn: (c: CaptureMemory) => T): T {
  const c = openCaptureSource(openFileReader(files.get(name)!));
  try {
    return fn(c);
  } finally {
    c.close();
  }
}

const regionDoc = (t: PlacedTree): TreeDocument => decodeTree(SegmentImage.region(t.bytes, t.root), t.root, t.options);

describe('trees read through LiME captures and VM ELF cores', () => {
  for (const v of VARIANTS) {
    it(`${v.name}: every tree decodes to the region's document through new PagedImage(capture, cr3)`, () => {
      withCapture(v.name, (c) => {
        expect(c.variant).toBe(v.variant);
        expect(c.cpus.length).toBe(v.cpus);
        const dtb = v.cpus > 0 ? c.cpus[0]!.dtb : SPACE.dtb;
        const image = new PagedImage(c, dtb);
        for (const t of TREES) {
          const want = regionDoc(t);
          expect(want.blocks.length).toBeGreaterThan(0);
          expect(normalised(decodeTree(image, t.root, t.options))).toEqual(normalised(want));
        }
      });
    });
  }

  it('opening reads the metadata only, never the memory', () => {
    for (const v of VARIANTS) {
      const reader = openFileReader(files.get(v.name)!);
      const c = openCaptureSource(reader);
      const ranges = c.ranges.length;
      expect(reader.bytesRead, v.name).toBeLessThan(16 + 32 * ranges + 0x4000);
      expect(reader.size, v.name).toBeGreaterThan(8 * reader.bytesRead);
      c.close();
    }
  });

  it('the physical ranges are the RAM runs (or the frames), in order, with their file offsets', () => {
    withCapture('lime-runs', (c) => {
      expect(c.ranges).toEqual([
        { physical: 0x1000, fileOffset: 32, length: 0x9e000 },
        { physical: 0x100000, fileOffset: 32 + 0x9e000 + 32, length: (SPACE.physicalPages - 0x100) * PAGE_SIZE },
      ]);
      expect(c.format).toBe('lime');
      expect(c.machine).toBeUndefined();
      expect(c.warnings).toEqual([]);
      expect(c.missingReason(0x9f)).toBe('PFN 0x9f not stored (outside every physical range of the LiME version 1)');
    });
    withCapture('qemu-elf64-xnum-frames', (c) => {
      expect(c.ranges.map(({ physical, length }) => ({ physical, length }))).toEqual(rangesOf(SPACE, 'frames'));
      expect(c.ranges.length).toBeGreaterThan(20);
      expect(c.machine).toBe('x64');
      // Every stored frame holds what the space put there.
      for (const [pfn, bytes] of SPACE.frames) expect(c.readFrame(pfn), `PFN ${pfn}`).toEqual(bytes);
    });
  });

  it("QEMU: each CPU's CR3 is read from its QEMU note, with the PCID masked (CR4.PCIDE)", () => {
    withCapture('qemu-elf64', (c) => {
      const raw = readFileSync(files.get('qemu-elf64')!);
      expect(c.cpus.map((x) => [x.index, x.cr3, x.dtb, x.cr4])).toEqual([
        [0, CR3, SPACE.dtb & ~0xfffn, CR4_X64],
        [1, CR3 + 0x1000n, (SPACE.dtb & ~0xfffn) + 0x1000n, CR4_X64],
      ]);
      expect(c.cpus[0]!.masked).toBe('bits 51:12 (CR4.PCIDE: bits 11:0 are the PCID)');
      for (const x of c.cpus) expect(raw.readBigUInt64LE(x.fileOffset)).toBe(x.cr3);
    });
  });

  it('CR3 masking follows CR4: PAE keeps bits 51:5, 32-bit paging bits 31:12, LA57 is warned about', () => {
    const open = (o: ElfCoreOptions): CaptureMemory => openCaptureSource(new BufferSource(writeElfCore(SPACE, { ranges: 'frames', ...o }).toBytes()));
    const pae = open({ elfClass: 32, cr3: [0x12345678n | 0x18n], cr4: 1n << 5n }).cpus[0]!;
    expect([pae.dtb, pae.masked]).toEqual([0x12345660n, 'bits 51:5 (CR4.PAE: a 32-byte aligned PDPT, or PML4 with bits 4:3 as flags)']);
    const flat = open({ elfClass: 32, cr3: [0x00abc018n], cr4: 0n }).cpus[0]!;
    expect([flat.dtb, flat.masked]).toEqual([0x00abc000n, 'bits 31:12 (CR4.PAE clear: 32-bit paging)']);
    const la57 = open({ cr4: CR4_X64 | (1n << 12n) });
    expect(la57.warnings).toContain('CPU 0 has CR4.LA57 set: 5-level paging, which is rare and not read here');
  });

  it('VirtualBox: VBCPU notes give the CR3s, MMIO ranges with no file bytes are skipped and named', () => {
    withCapture('virtualbox-mmio', (c) => {
      expect(c.cpus.map((x) => x.dtb)).toEqual([SPACE.dtb & ~0xfffn, (SPACE.dtb & ~0xfffn) + 0x1000n]);
      expect(c.ranges.length).toBe(2);
      expect(c.absent).toEqual([{ physical: 0xfe000000, length: 0x1000000, why: 'PT_LOAD (program header 3) declares with no bytes in the file (MMIO, or not dumped)' }]);
      expect(c.missingReason(0xfe010)).toBe(
        'PFN 0xfe010 not stored (in 0xfe000000..0xfeffffff, which PT_LOAD (program header 3) declares with no bytes in the file (MMIO, or not dumped))',
      );
      expect(c.missingReason(0xff000)).toBe('PFN 0xff000 not stored (beyond the last stored frame 0xfefff)');
      expect(c.warnings).toEqual([]);
    });
  });

  it('p_memsz past p_filesz reads as absent, with a warning and the reason', () => {
    const c = openCaptureSource(new BufferSource(writeElfCore(SPACE, { ranges: 'frames', tail: 0x3000 }).toBytes()));
    const last = c.ranges[c.ranges.length - 1]!;
    const pfn = (last.physical + last.length) / PAGE_SIZE + 1;
    expect(c.hasFrame(pfn)).toBe(false);
    expect(c.warnings).toEqual([
      `1 PT_LOAD segment(s) hold fewer bytes than they declare: 0x${(last.physical + last.length).toString(16)}..0x${(last.physical + last.length + 0x2fff).toString(16)} read as absent`,
    ]);
    expect(c.missingReason(pfn)).toMatch(/declares past its p_filesz/);
  });

  it('PT_LOADs out of physical order are read sorted, with a warning', () => {
    const c = openCaptureSource(new BufferSource(writeElfCore(SPACE, { ranges: 'frames', reverse: true }).toBytes()));
    expect(c.warnings).toEqual(['the PT_LOAD segments are not in physical address order (read in sorted order)']);
    for (const [pfn, bytes] of SPACE.frames) expect(c.readFrame(pfn)).toEqual(bytes);
  });

  it('the format is recognised from the bytes: a crash dump or a raw image is not taken for a capture', () => {
    expect(sniffSource(openFileReader(files.get('lime-runs')!))).toBe('lime');
    expect(sniffSource(openFileReader(files.get('qemu-elf32')!))).toBe('elf-core');
    expect(sniffSource(openFileReader(join(DIR, 'full.dmp')))).toBeUndefined();
    const e = errorOf(() => openCaptureSource(openFileReader(join(DIR, 'memory.raw'))));
    expect(e).toBeInstanceOf(CaptureError);
    expect((e as Error).message).toBe('capture @0x0: ' + join(DIR, 'memory.raw') + ' is neither a LiME capture ("EMiL") nor an ELF core (0x7F "ELF")');
  });
});

const fakeReader = fakeFileReader();

describe('BlobReader: a File in a browser Worker', () => {
  it('reads a capture slice by slice through FileReaderSync, to the same trees', () => {
    const bytes = writeElfCore(SPACE, { cr3: [CR3], ranges: 'frames' }).toBytes();
    const reader = new BlobReader(new FakeBlob(bytes, 'guest.core'), { fileReader: fakeReader });
    expect([reader.name, reader.size]).toEqual(['guest.core', bytes.length]);
    const c = openCaptureSource(reader);
    const image = new PagedImage(c, c.cpus[0]!.dtb);
    for (const t of TREES) expect(normalised(decodeTree(image, t.root, t.options))).toEqual(normalised(regionDoc(t)));
    expect(fakeReader.sliced).toBe(reader.reads);
    expect(reader.bytesRead).toBeLessThan(bytes.length);
    // Reads clamp at the end and past it.
    const tail = new Uint8Array(16);
    expect(reader.read(tail, bytes.length - 4)).toBe(4);
    expect(reader.read(tail, bytes.length + 10)).toBe(0);
    c.close();
    expect(errorOf(() => reader.read(tail, 0))).toMatchObject({ message: 'guest.core is closed' });
  });

  it('outside a Worker, with no FileReaderSync given, says what it needs', () => {
    expect(errorOf(() => new BlobReader(new FakeBlob(new Uint8Array(4))))).toMatchObject({
      message: 'reading a Blob synchronously needs FileReaderSync (a browser Worker): pass options.fileReader elsewhere',
    });
  });
});
