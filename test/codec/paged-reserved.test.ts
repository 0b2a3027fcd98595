// Reserved bits in x64 page tables: a PML4E with the PS bit set maps nothing (a processor faults on
// it). The reader used to walk it as a pointer to a PDPT and read the tree behind it.
import { describe, expect, it } from 'vitest';
import { writeRawPhysical } from '../../src/codec/dump-writer.js';
import { Location } from '../../src/codec/image.js';
import { PagedImage } from '../../src/codec/paged.js';
import { RawPhysicalMemory } from '../../src/codec/physical.js';
import { decodeTree } from '../../src/tree/decode.js';
import { scanImage } from '../../src/tree/scan.js';
import { standardSpace, standardTrees } from '../support/dump-trees.js';

const TREES = standardTrees();
const sample = TREES.find((t) => t.name === 'sample-x64')!;

function withReservedBit(): { image: PagedImage; at: number; entry: bigint } {
  const space = standardSpace(TREES);
  const e = space.entryOf(sample.root, 0)!;
  const table = space.frames.get(e.pfn)!;
  const v = new DataView(table.buffer);
  const entry = v.getBigUint64(e.offset, true) | 0x80n;
  v.setBigUint64(e.offset, entry, true);
  return { image: new PagedImage(RawPhysicalMemory.fromBytes(writeRawPhysical(space).toBytes()), space.dtb), at: e.pfn * 4096 + e.offset, entry };
}

describe('a PML4E with the reserved PS bit', () => {
  it('translates nothing, and says why', () => {
    const { image, at, entry } = withReservedBit();
    expect(image.locate(sample.root, 8, new Location())).toBe(false);
    expect(image.physicalAddress(sample.root)).toBeUndefined();
    expect(image.explain(sample.root, 8)).toBe(
      `is not readable: PML4E 0x${entry.toString(16)} at physical 0x${at.toString(16)} has the reserved PS bit (bit 7) set: a processor faults on it, so it maps nothing (a corrupt table, or not a page table)`,
    );
  });

  it('is a diagnostic when decoding a tree behind it', () => {
    const { image, at, entry } = withReservedBit();
    const doc = decodeTree(image, sample.root, sample.options);
    expect(doc.blocks).toEqual([]);
    expect(doc.diagnostics.map((d) => d.message)).toEqual([
      `root 0x${sample.root.toString(16)}: the block (152 bytes) is not readable: PML4E 0x${entry.toString(16)} at physical 0x${at.toString(16)} has the reserved PS bit (bit 7) set: a processor faults on it, so it maps nothing (a corrupt table, or not a page table)`,
    ]);
  });

  it('leaves what it would map out of ranges() and the scan', () => {
    const { image } = withReservedBit();
    const top = sample.root >> 39n;
    expect([...image.ranges()].filter((r) => r.address >> 39n === top)).toEqual([]);
    expect(scanImage(image).map((c) => c.address)).not.toContain(sample.root);
  });
});
