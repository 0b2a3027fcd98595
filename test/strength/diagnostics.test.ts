/**
 * The diagnostics decodeTree gives for one broken tree of each kind, whole: severity, code, path,
 * member, message, address and offset. Programs match codes (docs/json-format.md), people read the
 * messages: this pins both, and the addresses and offsets they point at.
 */
import { describe, expect, it } from 'vitest';
import { SegmentImage } from '../../src/codec/image.js';
import { X86 } from '../../src/layout/abi.js';
import { type DecodeOptions, decodeTree } from '../../src/tree/decode.js';
import type { TreeDocument } from '../../src/tree/document.js';
import { type EncodeInput, encodeTree } from '../../src/tree/encode.js';

const B = 0xffffc70a12340000n;
const rows = (doc: TreeDocument): unknown[] => doc.diagnostics.map((x) => [x.severity, x.code, x.path, x.member ?? null, x.message, x.address, x.offset]);

// A neighbor with a status initiate refuses, over an IPv6 path, over a TCP-layer block of a path
// Type and a TCP delegated part whose Length is the NDIS 6.1 size.
const doc: EncodeInput = {
  base: '0xffffc70a12340000',
  blocks: [
    {
      role: 'new-offload',
      type: 'NeighborOffloadConstState',
      state: { NEIGHBOR_OFFLOAD_STATE_CONST: {} },
      Status: 'NDIS_STATUS_PENDING',
      dependents: [
        {
          role: 'new-offload',
          type: 'Ip6OffloadConstState',
          state: { PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': '::1', '*DestinationAddress': 'fe80::1' } },
          dependents: [
            { role: 'new-offload', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1500 } } },
            { role: 'new-offload', type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { Header: { Length: 128 } } } },
          ],
        },
      ],
    },
  ],
};
const enc = encodeTree(doc);
const decode = (bytes: Uint8Array, options: DecodeOptions, root = B): TreeDocument => decodeTree(SegmentImage.region(bytes, B), root, options);
const clean = decode(enc.bytes, { operation: 'initiate' });
const path = clean.blocks[0]!.dependents[0]!;

/** The IPv6 path's address pointers sent to NULL and out of the image; the neighbor's context cell out of the image. */
function patched(): Uint8Array {
  const bytes = enc.bytes.slice();
  const dv = new DataView(bytes.buffer);
  const pc = path.offset! + 152;
  dv.setBigUint64(pc + 8, 0n, true);
  dv.setBigUint64(pc + 16, B - 0x1000n, true);
  dv.setBigUint64(clean.blocks[0]!.offset! + 48, B + 0x100000n, true);
  return bytes;
}

const EXPECTED: Record<string, unknown[]> = {
  "clean": [["warning", "STATUS_NOT_ALLOWED", "blocks[0]", "Status", "Status NDIS_STATUS_PENDING is not one a target may write to complete initiate", "0xffffc70a12340018", 24], ["warning", "TYPE_LAYER_MISMATCH", "blocks[0].dependents[0].dependents[0]", "Header.Type", "Header.Type Ip4OffloadCachedState is path state, but the block sits at the tcp layer", "0xffffc70a123401a8", 424]],
  "patched": [["info", "CONTEXT_OUTSIDE_IMAGE", "blocks[0]", "MiniportOffloadContext", "*MiniportOffloadContext is not in the image; role 'new-offload' inferred from the bytes after the block", "0xffffc70a12440000", null], ["warning", "STATUS_NOT_ALLOWED", "blocks[0]", "Status", "Status NDIS_STATUS_PENDING is not one a target may write to complete initiate", "0xffffc70a12340018", 24], ["warning", "ADDRESS_NULL", "blocks[0].dependents[0]", "PATH_OFFLOAD_STATE_CONST.SourceAddress", "PATH_OFFLOAD_STATE_CONST.SourceAddress is NULL", "0x0000000000000000", null], ["warning", "ADDRESS_OUTSIDE_IMAGE", "blocks[0].dependents[0]", "PATH_OFFLOAD_STATE_CONST.DestinationAddress", "PATH_OFFLOAD_STATE_CONST.DestinationAddress 0xffffc70a1233f000 (+16 address bytes) is outside the captured memory", "0xffffc70a1233f000", null], ["warning", "TYPE_LAYER_MISMATCH", "blocks[0].dependents[0].dependents[0]", "Header.Type", "Header.Type Ip4OffloadCachedState is path state, but the block sits at the tcp layer", "0xffffc70a123401a8", 424]],
  "patched-noop": [["info", "STATE_INFERRED", "blocks[0]", null, "no operation given: state inferred present (OFFLOAD_STATE_HEADER.Length matches NEIGHBOR_OFFLOAD_STATE_CONST)", "0xffffc70a12340098", 152], ["info", "CONTEXT_OUTSIDE_IMAGE", "blocks[0]", "MiniportOffloadContext", "*MiniportOffloadContext is not in the image; role 'new-offload' inferred from the bytes after the block", "0xffffc70a12440000", null], ["info", "STATE_INFERRED", "blocks[0].dependents[0]", null, "no operation given: state inferred present (OFFLOAD_STATE_HEADER.Length matches PATH_OFFLOAD_STATE_CONST)", "0xffffc70a12340168", 360], ["warning", "ADDRESS_NULL", "blocks[0].dependents[0]", "PATH_OFFLOAD_STATE_CONST.SourceAddress", "PATH_OFFLOAD_STATE_CONST.SourceAddress is NULL", "0x0000000000000000", null], ["warning", "ADDRESS_OUTSIDE_IMAGE", "blocks[0].dependents[0]", "PATH_OFFLOAD_STATE_CONST.DestinationAddress", "PATH_OFFLOAD_STATE_CONST.DestinationAddress 0xffffc70a1233f000 (+16 address bytes) is outside the captured memory", "0xffffc70a1233f000", null], ["info", "STATE_INFERRED", "blocks[0].dependents[0].dependents[0]", null, "no operation given: state inferred present (OFFLOAD_STATE_HEADER.Length matches PATH_OFFLOAD_STATE_CACHED)", "0xffffc70a12340240", 576], ["warning", "TYPE_LAYER_MISMATCH", "blocks[0].dependents[0].dependents[0]", "Header.Type", "Header.Type Ip4OffloadCachedState is path state, but the block sits at the tcp layer", "0xffffc70a123401a8", 424], ["info", "STATE_INFERRED", "blocks[0].dependents[0].dependents[1]", null, "no operation given: state inferred present (OFFLOAD_STATE_HEADER.Length matches TCP_OFFLOAD_STATE_DELEGATED)", "0xffffc70a123402f0", 752]],
  "cut": [["warning", "STATUS_NOT_ALLOWED", "blocks[0]", "Status", "Status NDIS_STATUS_PENDING is not one a target may write to complete initiate", "0xffffc70a12340018", 24], ["warning", "TYPE_LAYER_MISMATCH", "blocks[0].dependents[0].dependents[0]", "Header.Type", "Header.Type Ip4OffloadCachedState is path state, but the block sits at the tcp layer", "0xffffc70a123401a8", 424], ["info", "CONTEXT_OUTSIDE_IMAGE", "blocks[0].dependents[0].dependents[1]", "MiniportOffloadContext", "*MiniportOffloadContext is not in the image; role 'new-offload' inferred from the bytes after the block", "0xffffc70a12340370", null], ["error", "STATE_TRUNCATED", "blocks[0].dependents[0].dependents[1]", "TCP_OFFLOAD_STATE_DELEGATED", "TCP_OFFLOAD_STATE_DELEGATED (128 bytes) runs past the end of the captured memory at 0xffffc70a12340318 (40 of 128 bytes captured)", "0xffffc70a123402f0", 752]],
  // The error found past the limit takes the warning's place; the warning is counted in its summary.
  "limits": [["error", "LIMIT_BLOCKS", "blocks[0].dependents[0].dependents[0]", null, "more than 2 blocks; raise the limit (maxBlocks / --max-blocks) to decode further", "0xffffc70a123401a8", 424], ["warning", "STATUS_NOT_ALLOWED", "blocks[0]", "Status", "1 warning of this code not listed one by one (more than 1 diagnostic), at blocks[0]: Status NDIS_STATUS_PENDING is not one a target may write to complete query", "0xffffc70a12340018", 24], ["warning", "DIAGNOSTICS_LIMIT", "blocks", null, "more than 1 diagnostic: 1 warning counted in one summary per code, not listed one by one", "0xffffc70a12340000", null]],
  "root-null": [["error", "ROOT_NULL", "blocks[0]", null, "the root pointer is NULL", "0x0000000000000000", null]],
  "ndis60": [["warning", "STATUS_NOT_ALLOWED", "blocks[0]", "Status", "Status NDIS_STATUS_PENDING is not one a target may write to complete initiate", "0xffffc70a12340018", 24], ["warning", "TYPE_LAYER_MISMATCH", "blocks[0].dependents[0].dependents[0]", "Header.Type", "Header.Type Ip4OffloadCachedState is path state, but the block sits at the tcp layer", "0xffffc70a123401a8", 424], ["warning", "STATE_LENGTH_MISMATCH", "blocks[0].dependents[0].dependents[1]", "TCP_OFFLOAD_STATE_DELEGATED.Header.Length", "TCP_OFFLOAD_STATE_DELEGATED.Header.Length is 128, the structure is 120 bytes (that is the NDIS 6.1 size: try --ndis 6.1)", "0xffffc70a123402f0", 752]],
  "x86-layer": [["warning", "TYPE_LAYER_MISMATCH", "blocks[0]", "Header.Type", "Header.Type TcpOffloadConstState is tcp state, but the block sits at the neighbor layer", "0x80a00000", 0], ["error", "STATE_TRUNCATED", "blocks[0]", "TCP_OFFLOAD_STATE_CONST", "TCP_OFFLOAD_STATE_CONST (24 bytes) runs past the end of the captured memory at 0x80a00050 (4 of 24 bytes captured)", "0x80a0004c", 76]],
  "limit-blocks": [["warning", "STATUS_NOT_ALLOWED", "blocks[0]", "Status", "Status NDIS_STATUS_PENDING is not one a target may write to complete query", "0xffffc70a12340018", 24], ["error", "LIMIT_BLOCKS", "blocks[0].dependents[0].dependents[0]", null, "more than 2 blocks; raise the limit (maxBlocks / --max-blocks) to decode further", "0xffffc70a123401a8", 424]],
};

describe('diagnostics, whole', () => {
  const x86 = encodeTree({ abi: 'x86', base: '0x80a00000', blocks: [{ role: 'linker', type: 'TcpOffloadConstState', '*MiniportOffloadContext': '0x1' }] });
  const cases: [string, () => TreeDocument][] = [
    ['clean', () => clean],
    ['patched', () => decode(patched(), { operation: 'initiate' })],
    ['patched-noop', () => decode(patched(), {})],
    ['cut', () => decode(enc.bytes.slice(0, path.dependents[1]!.offset! + 152 + 40), { operation: 'initiate' })],
    ['limits', () => decode(enc.bytes, { operation: 'query', maxBlocks: 2, maxDiagnostics: 1 })],
    ['root-null', () => decode(enc.bytes, {}, 0n)],
    ['ndis60', () => decode(enc.bytes, { operation: 'initiate', ndis: '6.0' })],
    ['x86-layer', () => decodeTree(SegmentImage.region(x86.bytes, x86.base), x86.root, { abi: X86, operation: 'terminate' })],
    ['limit-blocks', () => decode(enc.bytes, { operation: 'query', maxBlocks: 2 })],
  ];
  for (const [name, run] of cases) {
    it(name, () => {
      expect(rows(run())).toEqual(EXPECTED[name]);
    });
  }
});
