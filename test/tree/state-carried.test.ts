/**
 * Which blocks carry state, by operation (docs/tree-rules.md): never a placeholder, whatever its
 * Type; nothing in an invalidate; and when the context cell is outside the capture, the role comes
 * from whether a matching Length follows the block.
 */
import { describe, expect, it } from 'vitest';
import { SegmentImage, decodeTree, encodeTree } from '../../src/index.js';

const K = 0xffffc70a00000000n;

describe('state carried', () => {
  it('a placeholder with a state Type carries no state in a query; a new offload carries none in an invalidate', () => {
    // Both encoded with their state present in the bytes, so that reading it would find it.
    const konst = { NEIGHBOR_OFFLOAD_STATE_CONST: { VlanId: 7 } };
    for (const [operation, role] of [['query', 'placeholder'], ['invalidate', 'new-offload']] as const) {
      const { bytes } = encodeTree({ abi: 'x64', blocks: [{ role, type: 'NeighborOffloadConstState', state: konst }] }, { base: K });
      const doc = decodeTree(SegmentImage.region(bytes, K), K, { operation });
      expect([doc.blocks[0]!.role, doc.blocks[0]!.state, doc.diagnostics]).toEqual([role, undefined, []]);
    }
  });

  it('a context cell outside the capture: new offload when its state follows, linker when not', () => {
    const konst = { NEIGHBOR_OFFLOAD_STATE_CONST: { VlanId: 7 } };
    const { bytes } = encodeTree({ abi: 'x64', blocks: [{ role: 'new-offload', type: 'NeighborOffloadConstState', state: konst }] }, { base: K });
    // Block 0x98 bytes, state 44 (0x2c), then the cell at 0xc8: cut just before it.
    const cut = SegmentImage.region(bytes.subarray(0, 0xc8), K);
    const doc = decodeTree(cut, K);
    expect(doc.blocks[0]!.role).toBe('new-offload');
    expect(doc.blocks[0]!.state).toEqual({ NEIGHBOR_OFFLOAD_STATE_CONST: { Header: { Length: 44, RecognizedOptions: 0 }, DlSourceAddress: '00'.repeat(32), VlanId: 7 } });
    const linker = bytes.slice(0, 0xc8);
    linker[0x98] = 45; // Header.Length no longer that of NEIGHBOR_OFFLOAD_STATE_CONST
    const other = decodeTree(SegmentImage.region(linker, K), K);
    expect([other.blocks[0]!.role, other.blocks[0]!.state]).toEqual(['linker', undefined]);
  });
});
