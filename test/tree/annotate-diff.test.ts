import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SegmentImage, STRUCTS, X64, X86, annotateTree, decodeTree, diffTrees, layoutOf, structRanges, type EncodeInput, encodeOntoCopy } from '../../src/index.js';

const BASE = 0xffffc70a12340000n;
const bytes = new Uint8Array(readFileSync('fixtures/sample-x64.bin'));

describe('annotations', () => {
  it('tile every structure exactly: members and padding, no gap, no overlap', () => {
    for (const abi of [X64, X86]) {
      for (const s of STRUCTS) {
        const l = layoutOf(s.name, abi);
        const ranges = structRanges(l, 0x1000n, 'p');
        let at = 0x1000n;
        for (const r of ranges) {
          expect(r.address).toBe(at);
          at += BigInt(r.size);
        }
        expect(at - 0x1000n).toBe(BigInt(l.size));
      }
    }
  });

  it('mark the padding C inserts, and label union alternatives together', () => {
    const block = structRanges(layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64), 0n, 'p');
    expect(block.filter((r) => r.padding).map((r) => [Number(r.address), r.size])).toEqual([[4, 4], [0x1c, 4], [0x8c, 4]]);
    const delegated = structRanges(layoutOf('TCP_OFFLOAD_STATE_DELEGATED', X64), 0n, 'p');
    expect(delegated.map((r) => r.label)).toContain('TCP_OFFLOAD_STATE_DELEGATED.SendDataHead | SendBacklogSize');
    expect(structRanges(layoutOf('TCP_OFFLOAD_STATE_CONST', X64), 0n, 'p').map((r) => r.label)).toContain(
      'TCP_OFFLOAD_STATE_CONST.SndWindScale | RcvWindScale',
    );
  });

  it('cover every byte of the compactly encoded sample but the alignment gaps', () => {
    const doc = decodeTree(SegmentImage.region(bytes, BASE), BASE, { operation: 'initiate' });
    const ranges = annotateTree(doc, X64);
    const covered = new Uint8Array(bytes.length);
    for (const r of ranges) for (let i = 0; i < r.size; i++) covered[Number(r.address - BASE) + i]! += 1;
    expect(covered.every((c) => c <= 1)).toBe(true);
    const uncovered = covered.filter((c) => c === 0).length;
    expect(uncovered).toBeLessThan(8 * 10); // at most an alignment gap per block
  });
});

describe('diff', () => {
  it('finds exactly the edited fields, by path', () => {
    const image = SegmentImage.region(bytes, BASE);
    const a = decodeTree(image, BASE, { operation: 'initiate' });
    const edited = JSON.parse(JSON.stringify(a)) as EncodeInput & typeof a;
    edited.blocks[1]!.dependents[0]!.state!.PATH_OFFLOAD_STATE_CACHED!.PathMtu = 1400;
    edited.blocks[0]!.Status = { value: 0, hex: '0x00000000', name: 'NDIS_STATUS_SUCCESS' };
    const b = decodeTree(SegmentImage.region(encodeOntoCopy(edited, bytes, BASE), BASE), BASE, { operation: 'initiate' });
    const d = diffTrees(a, b);
    expect(d.changes.map((c) => [c.path, c.member, c.before, c.after])).toEqual([
      ['blocks[0]', 'Status', 'NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS', 'NDIS_STATUS_SUCCESS'],
      ['blocks[1].dependents[0]', 'state.PATH_OFFLOAD_STATE_CACHED.PathMtu', 9000, 1400],
    ]);
    expect(diffTrees(a, a)).toEqual({ changes: [], onlyInA: [], onlyInB: [] });
  });
});
