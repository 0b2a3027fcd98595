// DTB discovery on raw physical images (src/capture/dtb.ts): the low stub first, then self-map
// scans; decoy user tables and junk self-references are examined and rejected, with the reason.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeRawPhysical } from '../../src/codec/dump-writer.js';
import { SegmentImage } from '../../src/codec/image.js';
import { PagedImage } from '../../src/codec/paged.js';
import { RawPhysicalMemory, openPhysicalImage } from '../../src/codec/physical.js';
import { type DtbCandidate, findDtb } from '../../src/capture/dtb.js';
import { CaptureError } from '../../src/errors.js';
import { decodeTree } from '../../src/tree/decode.js';
import { SELF_MAP, addJunk, addLowStub, addUserTables, kernelSpace } from '../support/dtb-images.js';
import { normalised, standardTrees } from '../support/dump-trees.js';
import type { AddressSpace } from '../../src/codec/dump-builder.js';

const TREES = standardTrees();
const sample = TREES.find((t) => t.name === 'sample-x64')!;
const raw = (space: AddressSpace): RawPhysicalMemory => RawPhysicalMemory.fromBytes(writeRawPhysical(space).toBytes());
const DIR = mkdtempSync(join(tmpdir(), 'ndis-dtb-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

const brief = (c: DtbCandidate): string => `0x${c.dtb.toString(16)} ${c.method} ${c.evidence.rejected ?? 'confirmed'}`;

describe('findDtb: the low stub', () => {
  it('takes the CR3 of a PROCESSOR_START_BLOCK and confirms it', () => {
    const space = kernelSpace(0x900);
    addLowStub(space, 0x13, 0x900000n);
    const found = findDtb(raw(space));
    expect(found.dtb).toBe(0x900000n);
    expect(found.method).toBe('low-stub');
    expect(found.foundAt).toBe(0x13000n);
    expect(found.evidence).toMatchObject({ kuserSharedData: true, selfMapIndex: SELF_MAP, rootBlock: undefined, rejected: undefined });
    expect(found.evidence.kernelEntries).toBeGreaterThanOrEqual(2);
    expect(found.summary).toMatch(/^DTB 0x900000 \(x64, low stub \(PROCESSOR_START_BLOCK\) at 0x13000: self-map index 0x1a3, \d+ kernel entries, KUSER_SHARED_DATA mapped\)$/);
    // The stub's page and no more than the stub's window were read.
    expect(found.framesScanned).toBeLessThan(0x100);
  });

  it('falls back to the scan when the stub names a table that does not map the kernel', () => {
    const space = kernelSpace(0x1e0);
    addUserTables(space, 0x9e0);
    addLowStub(space, 0x20, 0x9e0000n);
    const found = findDtb(raw(space));
    expect(brief(found)).toBe('0x1e0000 self-map confirmed');
    const stale = found.candidates.find((c) => c.method === 'low-stub')!;
    expect(stale.dtb).toBe(0x9e0000n);
    expect(stale.evidence.rejected).toMatch(/^KUSER_SHARED_DATA \(0xfffff78000000000\) is not readable: PML4E not present/);
  });

  it('ignores a page that is almost a stub (CompletionFlag 0)', () => {
    const space = kernelSpace(0x1e0);
    addLowStub(space, 0x20, 0x1e0000n);
    space.frames.get(0x20)![4] = 0; // CompletionFlag
    const found = findDtb(raw(space));
    expect(found.method).toBe('self-map');
    expect(found.candidates.every((c) => c.method === 'self-map')).toBe(true);
  });
});

describe('findDtb: self-map scans', () => {
  it('finds the kernel PML4 among user tables that map themselves and junk that references itself', () => {
    const space = kernelSpace(0x1e0);
    addUserTables(space, 0x160);
    addUserTables(space, 0x260);
    addJunk(space, 0x170, 'bare');
    addJunk(space, 0x171, 'reserved-bit');
    addJunk(space, 0x172, 'two-self-maps');
    addJunk(space, 0x173, 'past-memory');
    const found = findDtb(raw(space));
    expect(found.dtb).toBe(0x1e0000n);
    expect(found.evidence).toMatchObject({ selfMapIndex: SELF_MAP, kuserSharedData: true, userEntries: 0, rejected: undefined });
    expect(found.summary).toMatch(/^DTB 0x1e0000 \(x64, self-map scan at 0x1e0000: self-map index 0x1a3, \d+ kernel entries, KUSER_SHARED_DATA mapped\)$/);
    // The page test refuses the reserved PS bit, two self-references and entries past memory;
    // the bare junk page and the user tables are examined and rejected for KUSER_SHARED_DATA.
    expect(found.candidates.map(brief)).toEqual([
      '0x1e0000 self-map confirmed',
      // The junk page has more kernel-half entries than the user tables: ranked first of the rejected.
      expect.stringMatching(/^0x170000 self-map KUSER_SHARED_DATA .* is not readable/),
      expect.stringMatching(/^0x160000 self-map KUSER_SHARED_DATA \(0xfffff78000000000\) is not readable: PML4E not present at physical 0x160f78/),
      expect.stringMatching(/^0x260000 self-map KUSER_SHARED_DATA .* is not readable/),
    ]);
    // The tree reads through the DTB found, as it does from its own region.
    const doc = decodeTree(new PagedImage(raw(space), found.dtb), sample.root, sample.options);
    expect(normalised(doc)).toEqual(normalised(decodeTree(SegmentImage.region(sample.bytes, sample.root), sample.root, sample.options)));
  });

  it('takes any self-map index from 0x100 to 0x1FE (Windows 10 randomises it), and no other', () => {
    for (const index of [0x100, 0x1ed, 0x1fe]) {
      const found = findDtb(raw(kernelSpace(0x1e0, { selfMap: index })));
      expect([index, found.dtb, found.evidence.selfMapIndex]).toEqual([index, 0x1e0000n, index]);
    }
    for (const index of [0xff, 0x1ff]) {
      expect(() => findDtb(raw(kernelSpace(0x1e0, { selfMap: index })))).toThrow(/no page of it is a top-level page table that maps itself/);
    }
  });

  it('ranks a shadow table that maps KUSER_SHARED_DATA below the kernel table', () => {
    const space = kernelSpace(0x190);
    addUserTables(space, 0x150, true);
    const found = findDtb(raw(space));
    expect(found.dtb).toBe(0x190000n);
    const shadow = found.candidates.find((c) => c.dtb === 0x150000n)!;
    expect(shadow.evidence).toMatchObject({ kuserSharedData: true, kernelEntries: 1, rejected: undefined });
    expect(found.evidence.kernelEntries).toBeGreaterThan(1);
  });

  it('with a root, rejects a table that maps KUSER_SHARED_DATA but not the root', () => {
    // The shadow comes first in memory and in a window of its own: without a root it is taken.
    const space = kernelSpace(0x900);
    addUserTables(space, 0x150, true);
    expect(findDtb(raw(space)).dtb).toBe(0x150000n);
    const found = findDtb(raw(space), { root: sample.root });
    expect(found.dtb).toBe(0x900000n);
    expect(found.evidence).toMatchObject({ kuserSharedData: true, rootBlock: true, rejected: undefined });
    expect(found.summary).toMatch(/KUSER_SHARED_DATA mapped, root block read\)$/);
    const shadow = found.candidates.find((c) => c.dtb === 0x150000n)!;
    expect(shadow.evidence.rootBlock).toBe(false);
    expect(shadow.evidence.rejected).toBe(`no block at the root 0x${sample.root.toString(16)}: it is not readable: PML4E not present at physical 0x150${(Number((sample.root >> 39n) & 0x1ffn) * 8).toString(16)} (entry 0x0)`);
  });

  it('rejects a root that is mapped but holds no block', () => {
    const space = kernelSpace(0x1e0);
    expect(() => findDtb(raw(space), { root: sample.root + 8n })).toThrow(
      /no kernel DirectoryTableBase found .*: 1 candidate\(s\), none confirmed: 0x1e0000 \(no block at the root 0x[0-9a-f]+: its Header.Size is not \d+\); give it with --dtb$/,
    );
  });

  it('scans past the low windows with progress, and stops at the first chunk with a confirmed table', () => {
    // A 1 GiB machine whose kernel PML4 is at 320 MiB, the first page of the sixth 64 MiB chunk:
    // the stub's window, then chunks 0-5 are read (the low windows once), the rest not.
    const space = kernelSpace(0x14000, { physicalPages: 0x40000 });
    const file = join(DIR, 'high.raw');
    writeRawPhysical(space).toFile(file);
    const seen: [number, number][] = [];
    const memory = openPhysicalImage(file);
    try {
      const found = findDtb(memory, { progress: (d, t) => seen.push([d, t]) });
      expect(found.dtb).toBe(0x14000000n);
      expect(seen).toEqual([1, 2, 3, 4, 5].map((k) => [k * (64 << 20), 1 << 30]));
      expect(found.framesScanned).toBe(0xff + 0x18000);
    } finally {
      memory.close();
    }
  });

  it('is fast on a 4 GiB sparse image with the table in the low window', () => {
    const space = kernelSpace(0x1e0, { physicalPages: 1 << 20 });
    const file = join(DIR, 'big.raw');
    writeRawPhysical(space).toFile(file);
    const memory = openPhysicalImage(file);
    try {
      const t = performance.now();
      const found = findDtb(memory, { root: sample.root });
      const ms = performance.now() - t;
      expect(found.dtb).toBe(0x1e0000n);
      expect(found.framesScanned).toBeLessThan(0x300);
      expect(ms).toBeLessThan(500); // the bench case (dtb/raw@4g) holds it to 100 ms on a quiet machine
    } finally {
      memory.close();
    }
  });

  it('wades through an image full of junk self-references, keeping a bounded report', () => {
    const space = kernelSpace(0x6100, { physicalPages: 0x8000 });
    for (let i = 0; i < 200; i++) addJunk(space, 0x6000 + i, 'bare');
    const found = findDtb(raw(space));
    expect(found.dtb).toBe(0x6100000n);
    expect(found.abi.name).toBe('x64');
    expect(found.candidates.length).toBe(1 + 64);
    expect(found.candidates.slice(1).every((c) => c.evidence.rejected?.startsWith('KUSER_SHARED_DATA'))).toBe(true);
  });

  it('says what it found when nothing is confirmed', () => {
    const space = kernelSpace(0x1e0);
    addUserTables(space, 0x160);
    space.frames.delete(0x1e0); // no kernel PML4 at all
    let error: unknown;
    try {
      findDtb(raw(space));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CaptureError);
    expect((error as Error).message).toMatch(
      /^DTB discovery @0x0: no kernel DirectoryTableBase found in raw physical memory image buffer \(0x[0-9a-f]+ bytes, \d+ frames\) \(\d+ frames scanned\): 1 candidate\(s\), none confirmed: 0x160000 \(KUSER_SHARED_DATA \(0xfffff78000000000\) is not readable: .*\); give it with --dtb$/,
    );
  });

  it('refuses an image with no self-mapping table', () => {
    expect(() => findDtb(RawPhysicalMemory.fromBytes(new Uint8Array(0x300000)))).toThrow(
      'DTB discovery @0x0: no kernel DirectoryTableBase found in raw physical memory image buffer (0x300000 bytes, 768 frames) (1023 frames scanned): no page of it is a top-level page table that maps itself; give it with --dtb',
    );
  });
});
