import { describe, expect, it } from 'vitest';
import { LayoutError } from '../../src/errors.js';
import {
  X64,
  X86,
  ULONG,
  UCHAR,
  USHORT,
  PVOID,
  array,
  bits,
  field,
  layoutOf,
  placeStruct,
  struct,
  union,
} from '../../src/layout/index.js';

const none = () => undefined;

describe('layout anchors', () => {
  it('the block list is 152 bytes on x64 and 76 on x86', () => {
    expect(layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64).size).toBe(152);
    expect(layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X86).size).toBe(76);
    expect(layoutOf('NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST', X64).size).toBe(152);
    expect(layoutOf('NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST', X86).size).toBe(76);
  });

  it('DWnd exists from NDIS 6.1 on', () => {
    const d60 = layoutOf('TCP_OFFLOAD_STATE_DELEGATED', X64, '6.0');
    const d61 = layoutOf('TCP_OFFLOAD_STATE_DELEGATED', X64, '6.1');
    expect(d60.fields.map((f) => f.name)).not.toContain('DWnd');
    expect(d61.fields.find((f) => f.name === 'DWnd')?.offset).toBe(0x78);
    expect(d60.size).toBe(0x78);
    expect(d61.size).toBe(0x80);
  });
});

describe('placeStruct: Microsoft rules', () => {
  it('bit-fields of different unit sizes do not share a unit', () => {
    const l = placeStruct(
      struct('T', '', [bits('a', UCHAR, 3), bits('b', USHORT, 3), bits('c', USHORT, 14), field('d', UCHAR)]),
      X64,
      '6.1',
      none,
    );
    expect(l.fields.map((f) => [f.name, f.offset, f.bitOffset])).toEqual([
      ['a', 0, 0],
      ['b', 2, 0],
      ['c', 4, 0], // 3 + 14 > 16: a new unit
      ['d', 6, undefined],
    ]);
    expect(l.size).toBe(8);
    expect(l.align).toBe(2);
  });

  it('unions of a pointer and an integer take the larger size and alignment', () => {
    const l = placeStruct(struct('U', '', [field('x', UCHAR), union(field('p', PVOID), field('n', ULONG))]), X86, '6.1', none);
    expect(l.fields.map((f) => [f.name, f.offset])).toEqual([
      ['x', 0],
      ['p', 4],
      ['n', 4],
    ]);
    expect(l.size).toBe(8);
    const l64 = placeStruct(struct('U', '', [field('x', UCHAR), union(field('p', PVOID), field('n', ULONG))]), X64, '6.1', none);
    expect(l64.size).toBe(16);
  });

  it('tail padding rounds the size up to the alignment', () => {
    const l = placeStruct(struct('P', '', [field('p', array(PVOID, 3)), field('c', UCHAR)]), X64, '6.1', none);
    expect(l.size).toBe(32);
  });

  it('refuses what C would refuse', () => {
    expect(() => placeStruct(struct('B', '', [bits('a', UCHAR, 9)]), X64, '6.1', none)).toThrow(LayoutError);
    expect(() => placeStruct(struct('B', '', [bits('a', PVOID, 3)]), X64, '6.1', none)).toThrow(LayoutError);
    expect(() => placeStruct(struct('B', '', [field('a', UCHAR), field('a', ULONG)]), X64, '6.1', none)).toThrow(
      LayoutError,
    );
    expect(() => placeStruct(struct('B', '', [field('a', { kind: 'struct', name: 'NOPE' })]), X64, '6.1', none)).toThrow(
      /unknown type NOPE/,
    );
  });
});
