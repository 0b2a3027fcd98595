// openCaptureImage, the one entry point: formats recognised from their bytes (never the name), the
// DTB chosen and said where from, and the three registries a new format, paging mode or DTB
// finder plugs into.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ADDRESS_SPACES,
  CAPTURE_FORMATS,
  type CaptureRecognizer,
  DTB_DISCOVERY,
  KUSER_SHARED_DATA,
  BlobReader,
  bufferReader,
  openCaptureImage,
  recognizeCapture,
  regionCapture,
  registerAddressSpace,
  registerCaptureFormat,
  registerDtbDiscovery,
} from '../../src/capture/index.js';
import { buildAddressSpace, writeBitmapDump, writeRawPhysical } from '../../src/codec/dump-writer.js';
import { PagedImage } from '../../src/codec/paged.js';
import { PAGE_SIZE, RawPhysicalMemory } from '../../src/codec/physical.js';
import { CaptureError, DumpError, UsageError } from '../../src/errors.js';
import { decodeTree } from '../../src/tree/decode.js';
import { writeElfCore, writeLime } from '../support/capture-writers.js';
import { fcParams } from '../support/arbitraries.js';
import { FakeBlob, fakeFileReader } from '../support/blob.js';
import { HEADER, normalised, regionsOf, standardSpace, standardTrees } from '../support/dump-trees.js';

const TREES = standardTrees();
const SPACE = standardSpace(TREES);
const DTB = SPACE.dtb & ~0xfffn;
const T = TREES[0]!;
const LIME = writeLime(SPACE).toBytes();
const QEMU = writeElfCore(SPACE, { producer: 'qemu', cr3: [SPACE.dtb] }).toBytes();
const DUMP = writeBitmapDump(SPACE, HEADER).toBytes();
const RAW = writeRawPhysical(SPACE).toBytes();
const region = normalised(decodeTree(regionCapture([{ base: T.root, bytes: T.bytes, name: 'r' }]).image, T.root, T.options));

// Registries are module state: every test leaves them as it found them.
const saved = { formats: [...CAPTURE_FORMATS], spaces: new Map(ADDRESS_SPACES), discovery: [...DTB_DISCOVERY] };
afterEach(() => {
  CAPTURE_FORMATS.splice(0, CAPTURE_FORMATS.length, ...saved.formats);
  ADDRESS_SPACES.clear();
  for (const [k, v] of saved.spaces) ADDRESS_SPACES.set(k, v);
  DTB_DISCOVERY.splice(0, DTB_DISCOVERY.length, ...saved.discovery);
});

describe('openCaptureImage', () => {
  it('each format by its bytes, whatever the name, with the DTB and where it came from', () => {
    const cases = [
      { bytes: DUMP, format: 'dump', source: 'header', options: {} },
      { bytes: QEMU, format: 'elf-core', source: 'cpu-note', options: {} },
      { bytes: LIME, format: 'lime', source: 'option', options: { dtb: DTB } },
      { bytes: RAW, format: 'raw', source: 'option', options: { dtb: DTB, format: 'raw' } },
    ] as const;
    for (const c of cases) {
      const capture = openCaptureImage(bufferReader(c.bytes, 'misleading.lime.elf.dmp'), c.options);
      try {
        expect([capture.format, capture.dtb?.source, capture.dtb?.value, capture.paging, capture.abi]).toEqual([c.format, c.source, DTB, 'x64', 'x64']);
        expect(normalised(decodeTree(capture.image, T.root, T.options))).toEqual(region);
      } finally {
        capture.close();
      }
    }
  });

  it('reads through a BlobReader (a browser Worker) the same, never the whole file', () => {
    const blob = new FakeBlob(QEMU, 'guest.elf');
    const capture = openCaptureImage(new BlobReader(blob, { fileReader: fakeFileReader() }));
    expect(capture.dtb).toMatchObject({ source: 'cpu-note', cpu: 0 });
    expect(normalised(decodeTree(capture.image, T.root, T.options))).toEqual(region);
    expect(blob.slices.length).toBeGreaterThan(0);
    expect(Math.max(...blob.slices)).toBeLessThanOrEqual(PAGE_SIZE);
    capture.close();
  });

  it('probes (the root) choose the CPU; KUSER_SHARED_DATA is tried before any kernel page', () => {
    const empty = (() => {
      for (let p = 0x100; ; p++) if (!SPACE.frames.has(p)) return BigInt(p * PAGE_SIZE);
    })();
    const bytes = writeElfCore(SPACE, { producer: 'virtualbox', cr3: [empty, SPACE.dtb] }).toBytes();
    const capture = openCaptureImage(bufferReader(bytes, 'two.core'), { probes: [T.root] });
    expect(capture.dtb).toMatchObject({ value: DTB, cpu: 1 });
    expect(capture.dtb!.evidence).toContain(`maps ${`0x${T.root.toString(16)}`}; passed over: CPU 0: does not map`);
    capture.close();
    // KUSER_SHARED_DATA mapped by CPU 1's table only: chosen over CPU 0's, which maps the trees but not it.
    const space = buildAddressSpace([...regionsOf(TREES), { address: KUSER_SHARED_DATA.x64, bytes: new Uint8Array(PAGE_SIZE).fill(0x4b) }], { scatter: 7 });
    const pml4 = Number(space.dtb >> 12n);
    const decoy = new Uint8Array(space.frames.get(pml4)!);
    new DataView(decoy.buffer).setBigUint64(Number((KUSER_SHARED_DATA.x64 >> 39n) & 0x1ffn) * 8, 0n, true);
    let free = 0x100;
    while (space.frames.has(free)) free++;
    const frames = new Map(space.frames).set(free, decoy);
    const core = writeElfCore({ ...space, frames }, { producer: 'qemu', cr3: [BigInt(free * PAGE_SIZE), space.dtb] }).toBytes();
    const k = openCaptureImage(bufferReader(core, 'kuser.elf'));
    expect(k.dtb).toMatchObject({ value: space.dtb & ~0xfffn, cpu: 1 });
    expect(k.dtb!.evidence).toMatch(/^CPU 1 of 2: CR3 0x[0-9a-f]+ \(file offset 0x[0-9a-f]+, bits 51:12 \(CR4\.PCIDE: bits 11:0 are the PCID\)\) maps KUSER_SHARED_DATA 0xfffff78000000000$/);
    k.close();
  });

  it('a dump whose DirectoryTableBase is not stored: the dump names the field; --dtb reads through another', () => {
    const bad = DUMP.slice();
    new DataView(bad.buffer).setBigUint64(0x10, 0x7fff000n, true);
    expect(() => openCaptureImage(bufferReader(bad, 'bad.dmp'))).toThrow(DumpError);
    const capture = openCaptureImage(bufferReader(bad, 'bad.dmp'), { dtb: DTB });
    expect(capture.dtb).toEqual({ value: DTB, source: 'option', evidence: 'given' });
    capture.close();
  });

  it('nothing recognised: a CaptureError naming what is; LiME with no DTB and none found: a CaptureError saying why', () => {
    expect(() => openCaptureImage(bufferReader(new Uint8Array(64), 'zeros'))).toThrow(CaptureError);
    expect(() => openCaptureImage(bufferReader(new Uint8Array(64), 'zeros'))).toThrow(
      /zeros is not a capture this library recognises \(a 32-bit Windows crash dump \("PAGEDUMP"\), a Windows crash dump \("PAGE"\), a LiME capture \("EMiL"\), an ELF core \(0x7F "ELF"\), a VMware capture \(\.vmss\/\.vmsn state file, \.vmem beside it\)\); a raw image is opened with format 'raw'$/,
    );
    // SPACE's PML4 does not map itself: the self-map search finds nothing, and says so.
    expect(() => openCaptureImage(bufferReader(LIME, 'm.lime'))).toThrow(CaptureError);
    expect(() => openCaptureImage(bufferReader(LIME, 'm.lime'))).toThrow(
      /^DTB discovery @0x0: no kernel DirectoryTableBase found in LiME version 1 m\.lime \(2 physical ranges, 0x[0-9a-f]+ bytes\) \(\d+ frames scanned\): no page of it is a top-level page table that maps itself; give it with --dtb$/,
    );
  });
});

describe('the registries', () => {
  it('a new format is one registerCaptureFormat: sniffed before raw, opened, read through its DTB', () => {
    // A toy container: "TOY!" + the DTB (8 bytes) + a raw image from offset 0x1000.
    const toy = new Uint8Array(0x1000 + RAW.length);
    toy.set([0x54, 0x4f, 0x59, 0x21]);
    new DataView(toy.buffer).setBigUint64(8, DTB, true);
    toy.set(RAW, 0x1000);
    const recognizer: CaptureRecognizer = {
      id: 'toy',
      label: 'a toy capture ("TOY!")',
      sniff: (head) => String.fromCharCode(...head.subarray(0, 4)) === 'TOY!',
      open: (source) => {
        const inner = { name: source.name, size: source.size - 0x1000, reads: 0, bytesRead: 0, read: (into: Uint8Array, at: number) => source.read(into, at + 0x1000), close: () => source.close() };
        const physical = new RawPhysicalMemory(inner);
        const head = new Uint8Array(16);
        source.read(head, 0);
        return {
          format: 'toy',
          variant: 'toy v1',
          machine: 'x64',
          physical,
          ranges: [{ physical: 0, length: inner.size, fileOffset: 0x1000 }],
          absent: [],
          cpus: [],
          warnings: [],
          dtb: { value: new DataView(head.buffer).getBigUint64(8, true), source: 'header', evidence: 'toy header at 0x8' },
          close: () => physical.close(),
        };
      },
    };
    expect(recognizeCapture(bufferReader(toy))).toBeUndefined();
    registerCaptureFormat(recognizer);
    expect(CAPTURE_FORMATS.map((f) => f.id)).toEqual(['dump32', 'dump', 'lime', 'elf-core', 'vmware', 'refused', 'toy', 'raw']);
    const capture = openCaptureImage(bufferReader(toy, 'x.toy'));
    expect([capture.format, capture.dtb?.evidence]).toEqual(['toy', 'toy header at 0x8']);
    expect(normalised(decodeTree(capture.image, T.root, T.options))).toEqual(region);
    capture.close();
  });

  it('a paging mode is one registerAddressSpace; a DTB finder one registerDtbDiscovery', () => {
    const seen: string[] = [];
    registerAddressSpace('pae', (physical, dtb, options) => {
      seen.push(`pae ${dtb.toString(16)}`);
      return new PagedImage(physical, dtb, options); // stands in for the PAE reader
    });
    // An ELF32 core of a PAE guest (CR4.PAE): the CPU note's paging picks the 'pae' factory.
    const x86 = openCaptureImage(bufferReader(writeElfCore(SPACE, { producer: 'qemu', elfClass: 32, cr4: 1n << 5n }).toBytes(), 'x86.elf'));
    expect([x86.machine, x86.paging, x86.abi]).toEqual(['x86', 'pae', 'x86']);
    expect(seen.length).toBeGreaterThan(0);
    x86.close();

    registerDtbDiscovery((physical, context) => {
      expect(context.probes).toEqual([T.root]);
      return physical.hasFrame(Number(DTB / 4096n)) ? { dtb: DTB, paging: 'x64', evidence: 'found by the test finder' } : undefined;
    });
    const lime = openCaptureImage(bufferReader(LIME, 'm.lime'), { probes: [T.root] });
    expect(lime.dtb).toEqual({ value: DTB, source: 'discovery', evidence: 'found by the test finder' });
    expect(normalised(decodeTree(lime.image, T.root, T.options))).toEqual(region);
    lime.close();
  });
});

describe('the CPU choice, whatever the order of the CPUs', () => {
  // Tables: the kernel's, a decoy that maps kernel pages but not the trees, one that maps nothing,
  // and one outside memory.
  const pml4 = Number(DTB / BigInt(PAGE_SIZE));
  const free: number[] = [];
  for (let p = 0x100; free.length < 2; p++) if (!SPACE.frames.has(p)) free.push(p);
  const [emptyPfn, decoyPfn] = free as [number, number];
  const decoy = new Uint8Array(SPACE.frames.get(pml4)!);
  const dv = new DataView(decoy.buffer);
  const index = Number((T.root >> 39n) & 0x1ffn);
  dv.setBigUint64(511 * 8, dv.getBigUint64(index * 8, true), true);
  dv.setBigUint64(index * 8, 0n, true);
  const space = { ...SPACE, frames: new Map(SPACE.frames).set(emptyPfn, new Uint8Array(PAGE_SIZE)).set(decoyPfn, decoy) };
  const TABLES = { kernel: SPACE.dtb, decoy: BigInt(decoyPfn * PAGE_SIZE), empty: BigInt(emptyPfn * PAGE_SIZE), outside: 1n << 40n } as const;
  type Table = keyof typeof TABLES;

  it('with the root as probe, the kernel table; without, the first that maps kernel pages; tables outside memory passed over', () => {
    const cpus = fc.array(fc.constantFrom<Table>('kernel', 'decoy', 'empty', 'outside'), { minLength: 1, maxLength: 6 }).filter((l) => l.includes('kernel'));
    fc.assert(
      fc.property(cpus, (list) => {
        const bytes = writeElfCore(space, { producer: 'qemu', ranges: 'frames', cr3: list.map((t) => TABLES[t]) }).toBytes();
        const withRoot = openCaptureImage(bufferReader(bytes, 'p.elf'), { probes: [T.root] });
        expect(withRoot.dtb!.cpu).toBe(list.indexOf('kernel'));
        expect(normalised(decodeTree(withRoot.image, T.root, T.options))).toEqual(region);
        withRoot.close();
        const without = openCaptureImage(bufferReader(bytes, 'p.elf'));
        expect(without.dtb!.cpu).toBe(list.findIndex((t) => t === 'kernel' || t === 'decoy'));
        const passed = without.dtb!.evidence.split('; passed over: ')[1] ?? '';
        list.slice(0, without.dtb!.cpu).forEach((t, i) => expect(passed).toContain(`CPU ${i}: ${t === 'outside' ? 'its table' : 'maps no kernel page'}`));
        without.close();
      }),
      fcParams({ numRuns: 40 }),
    );
  });
});
