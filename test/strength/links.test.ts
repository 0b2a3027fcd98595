/**
 * Broken links, whole: a cycle, a shared block, a TCP block with dependents, a misaligned pointer,
 * an unknown Type, each diagnostic pinned with its message, member, address and offset; the same
 * capture without an operation (what the decoder infers, and says it inferred); and toJson, the
 * helper that turns readStruct's values into the document's spelling.
 */
import { describe, expect, it } from 'vitest';
import { SegmentImage } from '../../src/codec/image.js';
import { readStruct } from '../../src/codec/struct-io.js';
import { X64, X86 } from '../../src/layout/abi.js';
import { layoutOf } from '../../src/layout/registry.js';
import { decodeTree, toJson } from '../../src/tree/decode.js';
import type { BlockJson, TreeDocument } from '../../src/tree/document.js';
import { encodeTree } from '../../src/tree/encode.js';

const enc = encodeTree({
  blocks: [
    {
      role: 'linker',
      type: 'NeighborOffloadState',
      '*MiniportOffloadContext': '0x1',
      dependents: [
        {
          role: 'new-offload',
          type: 'Ip4OffloadConstState',
          state: { PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': '10.0.0.1', '*DestinationAddress': '10.0.0.2' } },
          dependents: [{ role: 'placeholder' }, { role: 'new-offload', type: 'TcpOffloadConstState', state: { TCP_OFFLOAD_STATE_CONST: { LocalPort: 1, RemotePort: 2 } } }],
        },
        { role: 'placeholder' },
      ],
    },
    { role: 'placeholder', dependents: [{ role: 'placeholder' }] },
  ],
});
const B = enc.base;
const clean = decodeTree(SegmentImage.region(enc.bytes, B), B, { operation: 'initiate' });
const at = (path: string): BlockJson => {
  let list = clean.blocks;
  let block: BlockJson | undefined;
  for (const m of path.matchAll(/\[(\d+)\]/g)) {
    block = list[Number(m[1])]!;
    list = block.dependents;
  }
  return block!;
};
const blockLayout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64, '6.1');
const member = (name: string): number => blockLayout.fields.find((f) => f.name === name)!.offset;

/** The capture with 256 zero bytes after it and every link broken as the file comment says. */
function broken(): Uint8Array {
  const bytes = new Uint8Array(enc.bytes.length + 256);
  bytes.set(enc.bytes);
  const dv = new DataView(bytes.buffer);
  const path = at('blocks[0].dependents[0]');
  const tcp = at('blocks[0].dependents[0].dependents[1]');
  // The TCP block's NextBlock back to its path (a cycle), its DependentBlockList to the placeholder before it.
  dv.setBigUint64(tcp.offset! + member('NextBlock'), BigInt(path.address), true);
  dv.setBigUint64(tcp.offset! + member('DependentBlockList'), BigInt(at('blocks[0].dependents[0].dependents[0]').address), true);
  // The second neighbor's dependent goes on to the first neighbor's second path (shared, not a cycle).
  dv.setBigUint64(at('blocks[1].dependents[0]').offset! + member('NextBlock'), BigInt(at('blocks[0].dependents[1]').address), true);
  // The second neighbor goes on to a misaligned block in the zeros after the tree.
  dv.setBigUint64(at('blocks[1]').offset! + member('NextBlock'), B + BigInt(enc.bytes.length + 4), true);
  // The TCP block's Type is no offload state type.
  dv.setUint8(tcp.offset! + member('Header'), 200);
  return bytes;
}
const rows = (doc: TreeDocument): unknown[] => doc.diagnostics.map((x) => [x.severity, x.code, x.path, x.member ?? null, x.message, x.address, x.offset]);

const EXPECTED = {
  initiate: [["warning","TYPE_UNKNOWN","blocks[0].dependents[0].dependents[1]","Header.Type","Header.Type 200 is not an offload state type of a layer","0xffffc000000001f8",504],["error","TCP_HAS_DEPENDENTS","blocks[0].dependents[0].dependents[1]","DependentBlockList","a TCP block's DependentBlockList must be NULL, is 0xffffc00000000160; not followed","0xffffc000000001f8",504],["error","CYCLE","blocks[0].dependents[0].dependents[2]","NextBlock","NextBlock leads back to the block at blocks[0].dependents[0]: a cycle; not followed again","0xffffc000000000a0",160],["error","BLOCK_SHARED","blocks[1].dependents[1]","NextBlock","NextBlock leads back to the block at blocks[0].dependents[1], reached twice; not followed again","0xffffc000000002b0",688],["warning","POINTER_MISALIGNED","blocks[2]","NextBlock","NextBlock 0xffffc0000000047c is not 8-byte aligned","0xffffc0000000047c",1148],["warning","HEADER_SIZE_MISMATCH","blocks[2]","Header.Size","Header.Size is 0, the block is 152 bytes on x64","0xffffc0000000047c",1148]],
  inferred: [["info","STATE_INFERRED","blocks[0]",null,"no operation given: no state inferred (no OFFLOAD_STATE_HEADER whose Length matches NEIGHBOR_OFFLOAD_STATE_CONST follows)","0xffffc00000000098",152],["info","STATE_INFERRED","blocks[0].dependents[0]",null,"no operation given: state inferred present (OFFLOAD_STATE_HEADER.Length matches PATH_OFFLOAD_STATE_CONST)","0xffffc00000000138",312],["warning","TYPE_UNKNOWN","blocks[0].dependents[0].dependents[1]","Header.Type","Header.Type 200 is not an offload state type of a layer","0xffffc000000001f8",504],["error","TCP_HAS_DEPENDENTS","blocks[0].dependents[0].dependents[1]","DependentBlockList","a TCP block's DependentBlockList must be NULL, is 0xffffc00000000160; not followed","0xffffc000000001f8",504],["error","CYCLE","blocks[0].dependents[0].dependents[2]","NextBlock","NextBlock leads back to the block at blocks[0].dependents[0]: a cycle; not followed again","0xffffc000000000a0",160],["error","BLOCK_SHARED","blocks[1].dependents[1]","NextBlock","NextBlock leads back to the block at blocks[0].dependents[1], reached twice; not followed again","0xffffc000000002b0",688],["warning","POINTER_MISALIGNED","blocks[2]","NextBlock","NextBlock 0xffffc0000000047c is not 8-byte aligned","0xffffc0000000047c",1148],["warning","HEADER_SIZE_MISMATCH","blocks[2]","Header.Size","Header.Size is 0, the block is 152 bytes on x64","0xffffc0000000047c",1148]],
};

describe('broken links, whole diagnostics', () => {
  it('in an initiate: each link once, each problem where it is', () => {
    const bytes = broken();
    const before = bytes.slice();
    const doc = decodeTree(SegmentImage.region(bytes, B), B, { operation: 'initiate' });
    expect(rows(doc)).toEqual(EXPECTED.initiate);
    expect(doc.blocks.map((b) => b.address)).toEqual([clean.blocks[0]!.address, clean.blocks[1]!.address, '0xffffc0000000047c']);
    expect(Buffer.from(bytes).equals(Buffer.from(before))).toBe(true);
  });

  it('without an operation: what was inferred, either way, is said', () => {
    expect(rows(decodeTree(SegmentImage.region(broken(), B), B))).toEqual(EXPECTED.inferred);
  });
});

describe('keys the document leaves out rather than fill with undefined', () => {
  it('state holds only the parts captured; no *SourceAddress when SourceAddress is NULL', () => {
    const path = at('blocks[0].dependents[0]');
    const cut = decodeTree(SegmentImage.region(enc.bytes.slice(0, path.offset! + 152 + 8), B), B, { operation: 'initiate' });
    const cutPath = cut.blocks[0]!.dependents[0]!;
    expect(cutPath.state).toEqual({});
    expect(cut.diagnostics.map((d) => d.code)).toContain('STATE_TRUNCATED');

    const bytes = enc.bytes.slice();
    const constAt = path.offset! + 152;
    const source = layoutOf('PATH_OFFLOAD_STATE_CONST', X64, '6.1').fields.find((f) => f.name === 'SourceAddress')!.offset;
    new DataView(bytes.buffer).setBigUint64(constAt + source, 0n, true);
    const part = decodeTree(SegmentImage.region(bytes, B), B, { operation: 'initiate' }).blocks[0]!.dependents[0]!.state!.PATH_OFFLOAD_STATE_CONST!;
    expect(Object.keys(part)).not.toContain('*SourceAddress');
    expect(part['*DestinationAddress']).toBe('10.0.0.2');
  });
});

describe('toJson', () => {
  it('spells readStruct values as the document does', () => {
    expect(toJson(0x7bn, 8)).toBe('0x000000000000007b');
    expect(toJson(0x7bn, 4)).toBe('0x0000007b');
    expect(toJson(0xffffc00000000000n, 8)).toBe('0xffffc00000000000');
    expect(toJson(Uint8Array.of(1, 0xab, 0), 8)).toBe('01ab00');
    expect(toJson(Uint8Array.of(), 8)).toBe('');
    expect(toJson([1n, 2, Uint8Array.of(15)], 4)).toEqual(['0x00000001', 2, '0f']);
    expect(toJson({ a: { b: 3n }, c: -1 }, 8)).toEqual({ a: { b: '0x0000000000000003' }, c: -1 });
    expect(toJson(5, 8)).toBe(5);
  });

  it('gives for every state part what decodeTree gives for it', () => {
    // The TCP const part of the clean tree: readStruct + toJson against the document.
    const tcp = at('blocks[0].dependents[0].dependents[1]');
    const layout = layoutOf('TCP_OFFLOAD_STATE_CONST', X64, '6.1');
    const raw = readStruct(layout, new DataView(enc.bytes.buffer, enc.bytes.byteOffset), tcp.offset! + 152);
    expect(toJson(raw, 8)).toEqual(tcp.state!.TCP_OFFLOAD_STATE_CONST);
    const x86 = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X86, '6.1');
    const zeros = toJson(readStruct(x86, new DataView(new ArrayBuffer(x86.size)), 0), 4) as Record<string, unknown>;
    expect(zeros.NextBlock).toBe('0x00000000');
  });
});

describe('a capture of the other NDIS revision', () => {
  it('names the revision whose size the Length is, both ways round', () => {
    const tree = (ndis: '6.0' | '6.1') =>
      encodeTree({ ndis, blocks: [{ role: 'placeholder', dependents: [{ role: 'placeholder', dependents: [{ role: 'new-offload', type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: {} } }] }] }] });
    const mismatch = (encoded: '6.0' | '6.1', read: '6.0' | '6.1'): string | undefined => {
      const e = tree(encoded);
      return decodeTree(SegmentImage.region(e.bytes, e.base), e.root, { operation: 'initiate', ndis: read }).diagnostics.find((d) => d.code === 'STATE_LENGTH_MISMATCH')?.message;
    };
    expect(mismatch('6.0', '6.1')).toBe('TCP_OFFLOAD_STATE_DELEGATED.Header.Length is 120, the structure is 128 bytes (that is the NDIS 6.0 size: try --ndis 6.0)');
    expect(mismatch('6.1', '6.0')).toBe('TCP_OFFLOAD_STATE_DELEGATED.Header.Length is 128, the structure is 120 bytes (that is the NDIS 6.1 size: try --ndis 6.1)');
    expect(mismatch('6.1', '6.1')).toBeUndefined();
  });
});
