// x86 trees in 32-bit crash dumps: full (DumpType 1) and bitmap (DumpType 5) dumps, PAE and
// non-PAE, frames scattered, blocks straddling pages, a tree on a large page, a transition PTE, a
// PDPT in the middle of a frame of decoys, frames above 4 GiB: each tree decodes through the dump's
// address space to exactly the document the plain region gives (abi x86), apart from base and offset.
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferSource, RawPhysicalMemory } from '../../src/codec/physical.js';
import { Location } from '../../src/codec/image.js';
import { X86PagedImage } from '../../src/capture/address-spaces/x86-paging.js';
import { type Dump32, openDump32, openDump32File } from '../../src/capture/sources/dump32.js';
import { X86 } from '../../src/layout/abi.js';
import { layoutOf } from '../../src/layout/registry.js';
import { decodeTree } from '../../src/tree/decode.js';
import { scanImage } from '../../src/tree/scan.js';
import { blocksByPath, normalised } from '../support/dump-trees.js';
import {
  HEADER32,
  type X86Space,
  type X86SpaceOptions,
  buildX86Space,
  regionDoc32,
  writeBitmapDump32,
  writeFullDump32,
  writeRawPhysical32,
  x86Regions,
  x86Trees,
} from '../support/x86-dumps.js';

const TREES = x86Trees();
const initiate = TREES.find((t) => t.name === 'initiate-x86')!;
const secondPage = (root: number): number => ((root & ~0xfff) >>> 0) + 0x1000;
const DIR = mkdtempSync(join(tmpdir(), 'ndis-x86-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

const spaceOf = (paging: 'pae' | 'non-pae', extra: Partial<X86SpaceOptions> = {}): X86Space =>
  buildX86Space(x86Regions(TREES), { paging, scatter: 11, transition: [secondPage(initiate.root)], selfMap: true, ...extra });

const WRITERS = { full: writeFullDump32, bitmap: writeBitmapDump32 } as const;
type Kind = keyof typeof WRITERS;
const SPACES = { pae: spaceOf('pae', { dtbFlags: 0x18 }), 'non-pae': spaceOf('non-pae', { dtbFlags: 0x18 }) } as const;
const files = new Map<string, string>();
function fileOf(paging: 'pae' | 'non-pae', kind: Kind): string {
  const name = `${paging}-${kind}.dmp`;
  if (!files.has(name)) {
    WRITERS[kind](SPACES[paging]).toFile(join(DIR, name));
    files.set(name, join(DIR, name));
  }
  return files.get(name)!;
}
function withDump<T>(path: string, fn: (d: Dump32) => T): T {
  const d = openDump32File(path);
  try {
    return fn(d);
  } finally {
    d.close();
  }
}
function fileBytes(path: string, offset: number, n: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const b = new Uint8Array(n);
    readSync(fd, b, 0, n, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

describe('x86 trees in 32-bit crash dumps', () => {
  it('the trees straddle pages, one lies on a large page, the big one spans many pages', () => {
    const size = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X86).size;
    for (const t of TREES) expect((t.root & 0xfff) + size).toBeGreaterThan(0x1000);
    expect(TREES.some((t) => t.large)).toBe(true);
    expect(TREES.find((t) => t.name === 'large-x64')!.bytes.length).toBeGreaterThan(20 * 0x1000);
    expect(regionDoc32(TREES[2]!).abi).toBe('x86');
  });

  for (const paging of ['pae', 'non-pae'] as const) {
    for (const kind of ['full', 'bitmap'] as const) {
      it(`${paging} ${kind}: the header is read (type, paging, DTB and its source, ABI)`, () => {
        withDump(fileOf(paging, kind), (d) => {
          const i = d.info;
          expect([i.format, i.signature, i.dumpType, i.machine, i.machineName, i.abi, i.paging]).toEqual(['windows-crash-dump-32', 'PAGEDUMP', kind === 'full' ? 1 : 5, 'x86', 'x86', X86, paging]);
          expect(i.variant).toBe(kind === 'full' ? 'full memory dump (DumpType 1)' : 'bitmap dump (DumpType 5, SDMP)');
          expect(i.directoryTableBase).toBe(SPACES[paging].dtb);
          const table = SPACES[paging].dtb & (paging === 'pae' ? ~0x1fn : ~0xfffn);
          expect(i.dtb).toEqual({
            value: table,
            source: 'header',
            evidence: `DUMP_HEADER32.DirectoryTableBase 0x${SPACES[paging].dtb.toString(16)} (file offset 0x10), PaeEnabled ${paging === 'pae' ? 1 : 0} (file offset 0x5c)`,
            fileOffset: 0x10,
          });
          expect([i.minorVersion, i.numberProcessors, i.bugCheckCode, i.comment]).toEqual([7601, 2, 0xe2, HEADER32.comment]);
          expect(i.systemTime?.toISOString()).toBe('2011-05-06T07:08:09.123Z');
          expect([i.psLoadedModuleList, i.kdDebuggerDataBlock]).toEqual([0x82b7a850n, 0x82b5cc28n]);
          expect(i.runs).toEqual(SPACES[paging].runs);
          expect(i.warnings).toEqual([]);
          const image = d.image();
          expect([image.pointerSize, image.paging, image.kind, image.writable]).toEqual([4, paging, 'paged', false]);
        });
      });

      for (const t of TREES) {
        it(`${paging} ${kind}: ${t.name} decodes to the region's document`, () => {
          const want = regionDoc32(t);
          expect(want.blocks.length).toBeGreaterThan(0);
          withDump(fileOf(paging, kind), (d) => {
            const got = decodeTree(d.image(), BigInt(t.root), t.options);
            expect(got.abi).toBe('x86');
            expect(normalised(got)).toEqual(normalised(want));
            // Offsets: null where a block straddles pages, else the file offset of its bytes.
            const blocks = [...blocksByPath(got).values()];
            expect(blocks.some((b) => b.offset === null)).toBe(true);
            for (const b of blocks.filter((x) => x.offset !== null).slice(0, 40)) {
              const head = fileBytes(fileOf(paging, kind), b.offset!, 4);
              expect([head[0], head[2]! | (head[3]! << 8)]).toEqual([b.Header.Type, b.Header.Size]);
            }
          });
        });
      }

      it(`${paging} ${kind}: scan finds the root of every tree, with its block count`, () => {
        withDump(fileOf(paging, kind), (d) => {
          const found = scanImage(d.image(), { abi: X86 });
          expect(new Set(found.slice(0, TREES.length).map((c) => c.address))).toEqual(new Set(TREES.map((t) => BigInt(t.root))));
          for (const t of TREES) expect(found.find((c) => c.address === BigInt(t.root))!.blocks).toBe(blocksByPath(regionDoc32(t)).size);
        });
      });
    }
  }

  it('the page after the initiate root is mapped by a transition PTE, and reads', () => {
    for (const paging of ['pae', 'non-pae'] as const) {
      const space = SPACES[paging];
      const e = space.entryOf(secondPage(initiate.root), paging === 'pae' ? 2 : 1)!;
      const v = new DataView(space.frames.get(e.pfn)!.buffer);
      const pte = e.width === 8 ? Number(v.getBigUint64(e.offset, true) & 0xfffn) : v.getUint32(e.offset, true) & 0xfff;
      expect([pte & 1, pte & 0xc00]).toEqual([0, 0x800]);
      withDump(fileOf(paging, 'bitmap'), (d) => expect(d.image().physicalAddress(BigInt(secondPage(initiate.root)))).toBeDefined());
    }
  });

  it('PAE: the PDPT sits at a 32-byte slot of a frame full of decoy PDPTs; the DTB is not page aligned', () => {
    const space = SPACES.pae;
    expect(Number(space.dtb & 0xfe0n)).toBe(0x5a0);
    expect(Number(space.dtb & 0x1fn)).toBe(0x18); // PWT and PCD, masked
    const image = new X86PagedImage(RawPhysicalMemory.fromBytes(writeRawPhysical32(space).toBytes()), space.dtb, { paging: 'pae' });
    expect(image.tableAddress).toBe(Number(space.dtb) - 0x18);
    // The same frame read from its first slot (the decoys) maps nothing of the tree.
    const decoy = new X86PagedImage(image.physical, space.dtb & ~0xfffn, { paging: 'pae' });
    expect(decoy.locate(BigInt(initiate.root), 4, new Location())).toBe(false);
    expect(decoy.explain(BigInt(initiate.root), 4)).toMatch(/^is not readable: the page directory at PFN 0x7002 is not in the capture/);
  });

  it('PAE: frames above 4 GiB (PFNs past 2^20) are read through the entries\' high words', () => {
    const space = spaceOf('pae', { high: true });
    expect([...space.frames.keys()].filter((p) => p >= 0x100000).length).toBeGreaterThan(30);
    const d = openDump32(new BufferSource(writeBitmapDump32(space).toBytes()));
    for (const t of TREES) expect(normalised(decodeTree(d.image(), BigInt(t.root), t.options))).toEqual(normalised(regionDoc32(t)));
    expect(Number(d.image().physicalAddress(BigInt(TREES[2]!.root))! >> 32n)).toBeGreaterThanOrEqual(1);
  });

  it('non-PAE: a 4 MiB page above 4 GiB through the PSE-36 bits 20..13 of the PDE', () => {
    const space = spaceOf('non-pae', { physicalPages: 0x100000 });
    const large = TREES.find((t) => t.large)!;
    // Move the large page's frames up by 4 GiB and set PDE bits 20..13 to 1 (physical bits 39..32).
    const e = space.entryOf(large.root, 0)!;
    const v = new DataView(space.frames.get(e.pfn)!.buffer);
    const pde = v.getUint32(e.offset, true);
    const base = (pde >>> 22) << 10;
    for (let p = 0; p < 1024; p++) {
      const f = space.frames.get(base + p);
      if (f) {
        space.frames.delete(base + p);
        space.frames.set(0x100000 + base + p, f);
      }
    }
    v.setUint32(e.offset, (pde | (1 << 13)) >>> 0, true);
    const d = openDump32(new BufferSource(writeBitmapDump32({ ...space, physicalPages: 0x100000 + base + 1024, runs: [...space.runs, { basePage: 0x100000, pageCount: base + 1024 }] }).toBytes()));
    expect(normalised(decodeTree(d.image(), BigInt(large.root), large.options))).toEqual(normalised(regionDoc32(large)));
    expect(d.image().physicalAddress(BigInt(large.root))).toBe(0x100000000n + BigInt(base * 4096) + BigInt(large.root & 0x3fffff));
    // With PSE off (CR4.PSE clear), bit 7 means nothing: the PDE's frame is read as a page table.
    const noPse = new X86PagedImage(d.physical, d.info.directoryTableBase, { paging: 'non-pae', pse: false });
    expect(noPse.physicalAddress(BigInt(large.root))).toBeUndefined();
  });
});

describe('pages missing from a 32-bit dump', () => {
  const big = TREES.find((t) => t.name === 'large-x64')!;
  const want = regionDoc32(big);
  const byPath = blocksByPath(want);
  const pageOf = (path: string, plus = 0): number => ((Number(BigInt(byPath.get(path)!.address)) + plus) & ~0xfff) >>> 0;
  const holes = {
    missing: pageOf('blocks[0].dependents[3].dependents[20]'),
    pagedOut: pageOf('blocks[1].dependents[5].dependents[10]', 108),
    notStored: pageOf('blocks[0].dependents[7].dependents[40]'),
  };
  for (const paging of ['pae', 'non-pae'] as const) {
    it(`${paging}: each hole gives a diagnostic saying why, and the rest of the tree decodes`, () => {
      const space = buildX86Space(x86Regions([big]), { paging, scatter: 5, missing: [holes.missing], pagedOut: [holes.pagedOut], notStored: [holes.notStored] });
      for (const kind of ['full', 'bitmap'] as const) {
        const d = openDump32(new BufferSource(WRITERS[kind](space).toBytes()));
        const got = decodeTree(d.image(), BigInt(big.root), big.options);
        const texts = got.diagnostics.map((x) => x.message).join('\n');
        expect(texts).toMatch(/PTE not present at physical 0x[0-9a-f]+ \(entry 0: never mapped\)/);
        expect(texts).toMatch(/paged out \(software PTE 0x[0-9a-f]+ at physical 0x[0-9a-f]+\)/);
        expect(texts).toMatch(/page not in the capture \(PFN 0x[0-9a-f]+ not stored/);
        expect(blocksByPath(got).size).toBeGreaterThan(blocksByPath(want).size / 2);
        expect(blocksByPath(got).size).toBeLessThan(blocksByPath(want).size);
      }
    });
  }
});
