// scan over an address space that maps the same frames at several kernel addresses (as Windows
// does: the tree's pool pages also through another mapping). The candidates at the aliases link
// into the tree's own mapping; the reader used to list them as one-block roots, lowest alias
// first, and never the whole tree.
import { describe, expect, it } from 'vitest';
import { writeRawPhysical } from '../../src/codec/dump-writer.js';
import { SegmentImage } from '../../src/codec/image.js';
import { PagedImage } from '../../src/codec/paged.js';
import { RawPhysicalMemory } from '../../src/codec/physical.js';
import { decodeTree } from '../../src/tree/decode.js';
import { scanImage } from '../../src/tree/scan.js';
import { placeTree, standardSpace } from '../support/dump-trees.js';

const large = placeTree('large-x64');
const sample = placeTree('sample-x64');
const PML4_SPAN = 1n << 39n;

/** The trees' PML4 entry copied to `aliases` other kernel PML4 indexes: every page mapped there too. */
function aliased(aliases: number[]): { image: PagedImage; offsets: bigint[] } {
  const space = standardSpace([large, sample]);
  const e = space.entryOf(large.root, 0)!;
  const pml4 = new DataView(space.frames.get(e.pfn)!.buffer);
  const home = e.offset / 8;
  const value = pml4.getBigUint64(e.offset, true);
  for (const i of aliases) pml4.setBigUint64(i * 8, value, true);
  return {
    image: new PagedImage(RawPhysicalMemory.fromBytes(writeRawPhysical(space).toBytes()), space.dtb),
    offsets: aliases.map((i) => BigInt(i - home) * PML4_SPAN),
  };
}

const blocksOf = (root: bigint, t: typeof large): number => {
  let n = 0;
  const walk = (bs: { dependents: unknown[] }[]): void => bs.forEach((b) => (n++, walk(b.dependents as { dependents: unknown[] }[])));
  walk(decodeTree(SegmentImage.region(t.bytes, t.root), root, t.options).blocks);
  return n;
};

describe('scan: frames mapped at several kernel addresses', () => {
  it('ranks the trees first, at their own addresses, whatever the aliases', () => {
    const { image, offsets } = aliased([0x100, 0x101]);
    // The aliases are real: the root reads at each of them.
    for (const o of offsets) expect(image.physicalAddress(large.root + o)).toBe(image.physicalAddress(large.root));
    const found = scanImage(image);
    expect(found.slice(0, 2).map((c) => [c.address, c.blocks])).toEqual([
      [large.root, blocksOf(large.root, large)],
      [sample.root, blocksOf(sample.root, sample)],
    ]);
    // No alias of a block of these trees is listed as a root of its own.
    const aliasesOfTrees = found.filter((c) => offsets.some((o) => c.address - o === large.root || c.address - o === sample.root));
    expect(aliasesOfTrees).toEqual([]);
    expect(found.length).toBe(2);
  });

  it('ranks the same without aliases (the reference)', () => {
    const { image } = aliased([]);
    expect(scanImage(image).map((c) => [c.address, c.blocks])).toEqual([
      [large.root, blocksOf(large.root, large)],
      [sample.root, blocksOf(sample.root, sample)],
    ]);
  });
});
