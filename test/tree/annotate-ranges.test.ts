/**
 * The exact byte labels of structRanges and annotateTree: member names with their nested prefixes,
 * union alternatives and bit-fields merged into one label, padding, the context cell and address
 * bytes a block points to, the padding between the parts of a combined state, address order with
 * ties kept in tree order, and state cut off by the end of a capture.
 */
import { describe, expect, it } from 'vitest';
import {
  SegmentImage,
  UCHAR,
  ULONG,
  USHORT,
  X64,
  annotateTree,
  array,
  decodeTree,
  encodeTree,
  field,
  inline,
  layoutOf,
  placeStruct,
  struct,
  structRanges,
  union,
  type BlockInput,
  type ByteRange,
} from '../../src/index.js';

const K = 0xffffc70a00000000n;
/** [offset, size, label] with the structure's name left off; label null for padding. */
type Row = [number, number, string | null];
const rows = (ranges: ByteRange[], base: bigint): Row[] =>
  ranges.map((r) => [Number(r.address - base), r.size, r.padding ? null : r.label.slice(r.label.indexOf('.') + 1)]);

describe('structRanges', () => {
  it('the x64 block list: Header members by their dotted names, C padding labelled as such', () => {
    const ranges = structRanges(layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64), K, 'blocks[3]');
    expect(rows(ranges, K)).toEqual([
      [0x00, 1, 'Header.Type'],
      [0x01, 1, 'Header.Revision'],
      [0x02, 2, 'Header.Size'],
      [0x04, 4, null],
      [0x08, 8, 'NextBlock'],
      [0x10, 8, 'DependentBlockList'],
      [0x18, 4, 'Status'],
      [0x1c, 4, null],
      [0x20, 16, 'NdisReserved'],
      [0x30, 8, 'MiniportOffloadContext'],
      [0x38, 8, 'NdisOffloadHandle'],
      [0x40, 16, 'ProtocolReserved'],
      [0x50, 16, 'MiniportReserved'],
      [0x60, 16, 'ImReserved'],
      [0x70, 16, 'Scratch'],
      [0x80, 8, 'SourceHandle'],
      [0x88, 4, 'PortNumber'],
      [0x8c, 4, null],
      [0x90, 8, 'NetBufferListChain'],
    ]);
    expect(ranges.every((r) => r.path === 'blocks[3]')).toBe(true);
    expect(ranges[0]!.label).toBe('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Type');
    expect(ranges[3]).toEqual({ address: K + 4n, size: 4, path: 'blocks[3]', label: 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST padding', padding: true });
  });

  it('TCP delegated state: nested structs, and each union as one range as wide as its widest alternative', () => {
    const ranges = structRanges(layoutOf('TCP_OFFLOAD_STATE_DELEGATED', X64, '6.1'), 0x1000n, 'p');
    expect(rows(ranges, 0x1000n)).toEqual([
      [0, 4, 'Header.Length'],
      [4, 4, 'Header.RecognizedOptions'],
      [8, 4, 'State'],
      [12, 2, 'Flags'],
      [14, 2, null],
      [16, 4, 'RcvNxt'],
      [20, 4, 'RcvWnd'],
      [24, 4, 'SndUna'],
      [28, 4, 'SndNxt'],
      [32, 4, 'SndMax'],
      [36, 4, 'SndWnd'],
      [40, 4, 'MaxSndWnd'],
      [44, 4, 'SendWL1'],
      [48, 4, 'CWnd'],
      [52, 4, 'SsThresh'],
      [56, 2, 'SRtt'],
      [58, 2, 'RttVar'],
      [60, 4, 'TsRecent'],
      [64, 4, 'TsRecentAge'],
      [68, 4, 'TsTime'],
      [72, 4, 'TotalRT'],
      [76, 1, 'DupAckCount'],
      [77, 1, 'SndWndProbeCount'],
      [78, 2, null],
      [80, 1, 'KeepAlive.ProbeCount'],
      [81, 3, null],
      [84, 4, 'KeepAlive.TimeoutDelta'],
      [88, 1, 'Retransmit.Count'],
      [89, 3, null],
      [92, 4, 'Retransmit.TimeoutDelta'],
      [96, 8, 'SendDataHead | SendBacklogSize'],
      [104, 8, 'SendDataTail'],
      [112, 8, 'BufferedData | ReceiveBacklogSize'],
      [120, 4, 'DWnd'],
      [124, 4, null],
    ]);
  });

  it('a union whose first alternative is the narrower, and one whose alternatives overlap in part', () => {
    // struct { UCHAR Tag; union { UCHAR Small; ULONG Large; }; union { struct { UCHAR a; UCHAR arr[3]; } s; USHORT c; }; }
    const desc = struct('TRICKY', 'test', [
      field('Tag', UCHAR),
      union(field('Small', UCHAR), field('Large', ULONG)),
      union(field('s', inline(field('a', UCHAR), field('arr', array(UCHAR, 3)))), field('c', USHORT)),
    ]);
    const layout = placeStruct(desc, X64, '6.1', () => undefined);
    expect(layout.size).toBe(12);
    expect(structRanges(layout, 0n, 'x')).toEqual([
      { address: 0n, size: 1, path: 'x', label: 'TRICKY.Tag', padding: false },
      { address: 1n, size: 3, path: 'x', label: 'TRICKY padding', padding: true },
      // Widest first at one offset; the range spans the widest.
      { address: 4n, size: 4, path: 'x', label: 'TRICKY.Large | Small', padding: false },
      // c covers bytes 8-9, s.a byte 8, s.arr bytes 9-11: one range over all four bytes.
      { address: 8n, size: 4, path: 'x', label: 'TRICKY.c | s.a | s.arr', padding: false },
    ]);
  });
});

const ph = (): BlockInput => ({ role: 'placeholder' });
const linker = (): BlockInput => ({ role: 'linker', type: 'NeighborOffloadState' });
const IP4_STATE = {
  PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': '10.0.0.1', '*DestinationAddress': '10.0.0.2' },
  PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1500 },
  PATH_OFFLOAD_STATE_DELEGATED: {},
};

describe('annotateTree', () => {
  it('labels blocks, state parts, the padding between parts, context cells and IP address bytes, in address order', () => {
    // blocks[0] linker → new IPv4 path → [TCP placeholder, new TCP offload with the combined state]; blocks[1] linker.
    const doc = {
      abi: 'x64',
      blocks: [
        {
          ...linker(),
          dependents: [
            {
              role: 'new-offload' as const,
              type: 'Ip4OffloadState',
              state: IP4_STATE,
              dependents: [ph(), { role: 'new-offload' as const, type: 'TcpOffloadState', state: { TCP_OFFLOAD_STATE_CONST: {}, TCP_OFFLOAD_STATE_CACHED: {}, TCP_OFFLOAD_STATE_DELEGATED: {} } }],
            },
          ],
        },
        linker(),
      ],
    };
    const { bytes } = encodeTree(doc, { base: K });
    // The compact encoding: each block, its state, its context cell, its address bytes.
    const dv = new DataView(bytes.buffer);
    expect(bytes.length).toBe(0x418);
    // blocks[1] shares the context cell of blocks[0] (0x98): two labels for the same 8 bytes.
    dv.setBigUint64(0x378 + 0x30, K + 0x98n, true);
    const tree = decodeTree(SegmentImage.region(bytes, K), K, { operation: 'initiate' });
    const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
    const S = (name: string, at: number, path: string): ByteRange[] => structRanges(layoutOf(name, X64), K + BigInt(at), path);
    const R = (at: number, size: number, path: string, label: string, padding = false): ByteRange => ({ address: K + BigInt(at), size, path, label, padding });
    const P0 = 'blocks[0].dependents[0]';
    const P01 = 'blocks[0].dependents[0].dependents[1]';
    expect(annotateTree(tree, X64)).toEqual([
      ...structRanges(block, K, 'blocks[0]'),
      R(0x98, 8, 'blocks[0]', '*MiniportOffloadContext'),
      R(0x98, 8, 'blocks[1]', '*MiniportOffloadContext'),
      ...structRanges(block, K + 0xa0n, P0),
      ...S('PATH_OFFLOAD_STATE_CONST', 0x138, P0),
      ...S('PATH_OFFLOAD_STATE_CACHED', 0x150, P0),
      ...S('PATH_OFFLOAD_STATE_DELEGATED', 0x15c, P0),
      R(0x164, 4, P0, 'IP4_OFFLOAD_STATE padding', true), // the tail of the combined structure, after its last part
      R(0x168, 8, P0, '*MiniportOffloadContext'),
      R(0x170, 4, P0, '*SourceAddress'),
      R(0x174, 4, P0, '*DestinationAddress'),
      ...structRanges(block, K + 0x178n, 'blocks[0].dependents[0].dependents[0]'), // a placeholder: no cell
      ...structRanges(block, K + 0x210n, P01),
      ...S('TCP_OFFLOAD_STATE_CONST', 0x2a8, P01),
      ...S('TCP_OFFLOAD_STATE_CACHED', 0x2c0, P01),
      R(0x2ec, 4, P01, 'TCP_OFFLOAD_STATE padding', true),
      ...S('TCP_OFFLOAD_STATE_DELEGATED', 0x2f0, P01),
      R(0x370, 8, P01, '*MiniportOffloadContext'),
      ...structRanges(block, K + 0x378n, 'blocks[1]'),
    ]);
  });

  it('labels only the parts a capture holds when it ends inside a combined state', () => {
    const { bytes } = encodeTree({ abi: 'x64', blocks: [{ ...linker(), dependents: [{ role: 'new-offload', type: 'Ip4OffloadState', state: IP4_STATE }] }] }, { base: K });
    // Cut inside PATH_OFFLOAD_STATE_CACHED (0x150-0x15b): the cell at 0x168 and the addresses are gone too.
    const tree = decodeTree(SegmentImage.region(bytes.subarray(0, 0x154), K), K, { operation: 'initiate' });
    expect(Object.keys(tree.blocks[0]!.dependents[0]!.state!)).toEqual(['PATH_OFFLOAD_STATE_CONST']);
    const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
    expect(annotateTree(tree, X64)).toEqual([
      ...structRanges(block, K, 'blocks[0]'),
      { address: K + 0x98n, size: 8, path: 'blocks[0]', label: '*MiniportOffloadContext', padding: false },
      ...structRanges(block, K + 0xa0n, 'blocks[0].dependents[0]'),
      ...structRanges(layoutOf('PATH_OFFLOAD_STATE_CONST', X64), K + 0x138n, 'blocks[0].dependents[0]'),
    ]);
  });

  it('a block whose Type has no state parts, given an empty state, is labelled like one without', () => {
    // TcpOffloadResourceState has no state structure: nothing to label, and no tail padding.
    const { bytes } = encodeTree({ base: `0x${K.toString(16)}`, blocks: [{ role: 'linker', type: 'TcpOffloadResourceState', '*MiniportOffloadContext': '0x1234' }] });
    const tree = decodeTree(SegmentImage.region(bytes, K), K, { operation: 'query' });
    const without = annotateTree(tree, X64);
    tree.blocks[0]!.state = {};
    expect(annotateTree(tree, X64)).toEqual(without);
    expect(without.map((r) => r.label).filter((l) => l.includes('padding') && !l.startsWith('NDIS_MINIPORT'))).toEqual([]);
  });
});
