/**
 * diffTrees between two captures of one tree: blocks matched by path, paths ordered as numbers
 * (blocks[2] before blocks[10]), blocks only one side has, and the changed members of the blocks
 * both have, in both directions. hex64, the document's pointer spelling, too.
 */
import { describe, expect, it } from 'vitest';
import { SegmentImage, decodeTree, diffTrees, encodeOntoCopy, encodeTree, hex64, hexPtr, type BlockInput, type EncodeInput, type TreeDocument } from '../../src/index.js';

const K = 0xffffc70a00000000n;
const NULL = '0x0000000000000000';

/** Twelve neighbor placeholders in a chain; blocks[2] has one path placeholder, blocks[10] two. */
function twelve(): { bytes: Uint8Array; doc: TreeDocument } {
  const blocks: BlockInput[] = Array.from({ length: 12 }, () => ({ role: 'placeholder' }));
  blocks[2]!.dependents = [{ role: 'placeholder' }];
  blocks[10]!.dependents = [{ role: 'placeholder' }, { role: 'placeholder' }];
  const { bytes } = encodeTree({ abi: 'x64', blocks }, { base: K });
  return { bytes, doc: decodeTree(SegmentImage.region(bytes, K), K) };
}

describe('diffTrees', () => {
  it('matches blocks by path, orders paths numerically and lists the blocks one side lacks', () => {
    const { bytes, doc: a } = twelve();
    const edited = JSON.parse(JSON.stringify(a)) as EncodeInput & TreeDocument;
    const b2 = edited.blocks[2]!;
    const b9 = edited.blocks[9]!;
    const b10 = edited.blocks[10]!;
    const dep2 = b2.DependentBlockList;
    const next10 = b10.NextBlock;
    const dep10 = b10.DependentBlockList;
    b2.DependentBlockList = NULL; // unlinks blocks[2].dependents[0]
    b9.Status = { value: -1073741823, hex: '0xc0000001', name: 'NDIS_STATUS_FAILURE' };
    b10.NextBlock = NULL; // unlinks blocks[11]
    b10.DependentBlockList = NULL; // unlinks both dependents of blocks[10]
    b10.Status = { value: -1073741823, hex: '0xc0000001', name: 'NDIS_STATUS_FAILURE' };
    const b = decodeTree(SegmentImage.region(encodeOntoCopy(edited, bytes, K), K), K);
    expect(b.blocks).toHaveLength(11);

    const onlyA = ['blocks[2].dependents[0]', 'blocks[10].dependents[0]', 'blocks[10].dependents[1]', 'blocks[11]'];
    const change = (i: number, member: string, before: unknown, after: unknown): object => ({
      path: `blocks[${i}]`,
      address: hex64(K + BigInt(i) * 0x98n + (i > 2 ? 0x98n : 0n)), // blocks[2]'s dependent follows it
      member,
      before,
      after,
    });
    expect(diffTrees(a, b)).toEqual({
      changes: [
        change(2, 'DependentBlockList', dep2, NULL),
        change(9, 'Status', 'NDIS_STATUS_SUCCESS', 'NDIS_STATUS_FAILURE'),
        change(10, 'NextBlock', next10, NULL),
        change(10, 'DependentBlockList', dep10, NULL),
        change(10, 'Status', 'NDIS_STATUS_SUCCESS', 'NDIS_STATUS_FAILURE'),
      ],
      onlyInA: onlyA,
      onlyInB: [],
    });
    expect(diffTrees(b, a)).toEqual({
      changes: [
        change(2, 'DependentBlockList', NULL, dep2),
        change(9, 'Status', 'NDIS_STATUS_FAILURE', 'NDIS_STATUS_SUCCESS'),
        change(10, 'NextBlock', NULL, next10),
        change(10, 'DependentBlockList', NULL, dep10),
        change(10, 'Status', 'NDIS_STATUS_FAILURE', 'NDIS_STATUS_SUCCESS'),
      ],
      onlyInA: [],
      onlyInB: onlyA,
    });
  });
});

describe('hex64', () => {
  it('writes 0x and sixteen lowercase hex digits, zero-padded', () => {
    expect(hex64(0n)).toBe('0x0000000000000000');
    expect(hex64(0x98n)).toBe('0x0000000000000098');
    expect(hex64(0xffffc70a12340000n)).toBe('0xffffc70a12340000');
    expect(hexPtr(0x98n, 4)).toBe('0x00000098');
  });
});
