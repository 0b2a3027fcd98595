/**
 * The restructure codecs at their edges. Every codec here is built inside its test
 * (`restructureCodec`, not the cached `restructureCodecFor`), so what is checked is the build too:
 * the parts laid end to end at the layout's offsets with the sizes of the C members, byte-for-byte
 * agreement with writeStruct / readStruct on both ABIs and both NDIS revisions, nested structs with
 * tail padding, arrays that are not bytes, truncated input, and whole error messages.
 */
import type * as r from 'restructure';
import { describe, expect, it } from 'vitest';
import { restructureCodec, restructureCodecFor } from '../../src/codec/restructure.js';
import { readStruct, writeStruct, type PlainStruct } from '../../src/codec/struct-io.js';
import { EncodeError } from '../../src/errors.js';
import { ABIS, X64, X86, type Abi } from '../../src/layout/abi.js';
import { NDIS_REVISIONS, UCHAR, ULONG, USHORT, array, enumRef, field, inline, struct } from '../../src/layout/descriptor.js';
import { placeStruct, type PlacedField, type StructLayout } from '../../src/layout/msvc.js';
import { STRUCTS, layoutOf } from '../../src/layout/registry.js';

const dvOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const place = (d: ReturnType<typeof struct>, abi: Abi): StructLayout => placeStruct(d, abi, '6.1', () => undefined);
const CASES = ABIS.flatMap((abi) => NDIS_REVISIONS.map((ndis) => ({ abi, ndis })));

function messageOf(f: () => unknown, cls: new (...a: any[]) => Error = EncodeError): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    return (e as Error).message;
  }
  throw new Error('did not throw');
}

/** What writeStruct writes onto a zeroed buffer. */
function written(layout: StructLayout, plain: Record<string, unknown>): number[] {
  const out = new Uint8Array(layout.size);
  writeStruct(layout, dvOf(out), 0, plain);
  return [...out];
}

/**
 * Walks a codec's parts in order: every part starts where the previous one ended, at the offset its
 * key or member says, with the size of the C member; nested structs the same, recursively.
 */
function checkParts(codec: r.Struct<any>, fields: readonly PlacedField[], start: number, end: number, where: string): void {
  let at = start;
  const byName = new Map(fields.map((f) => [f.name, f]));
  for (const [key, type] of Object.entries(codec.fields)) {
    const size = type.size();
    const tagged = /^\((padding|bits|union)@(\d+)\)$/.exec(key);
    if (tagged) {
      expect(Number(tagged[2]), `${where} ${key}`).toBe(at);
      if (tagged[1] === 'bits') expect(size, `${where} ${key}`).toBe(fields.find((f) => f.offset === at && f.bitWidth !== undefined)!.size);
      if (tagged[1] === 'union') {
        const members = fields.filter((f) => f.union && f.offset === at);
        expect(size, `${where} ${key}`).toBe(Math.max(...fields.filter((f) => f.union?.id === members[0]!.union!.id).map((f) => f.offset + f.size)) - at);
      }
    } else {
      const f = byName.get(key)!;
      expect(f, `${where} ${key}`).toBeDefined();
      expect([f.offset, size], `${where} ${key}`).toEqual([at, f.size]);
      if (f.fields) checkParts(type as r.Struct<any>, f.fields, f.offset, f.offset + f.size, `${where}.${key}`);
    }
    at += size;
  }
  expect(at, `${where}: the parts cover the structure`).toBe(end);
  expect(codec.size(), where).toBe(end - start);
}

describe.each(CASES)('restructure codecs built from the layouts ($abi.name, NDIS $ndis)', ({ abi, ndis }) => {
  it('lay their parts end to end at the C offsets, each with the size of its C member', () => {
    for (const { name } of STRUCTS) {
      const layout = layoutOf(name, abi, ndis);
      checkParts(restructureCodec(layout), layout.fields, 0, layout.size, `${name}`);
    }
  });

  it('decode a patterned buffer to what readStruct gives, and encode it back to the same bytes but padding', () => {
    for (const { name } of STRUCTS) {
      const layout = layoutOf(name, abi, ndis);
      const codec = restructureCodec(layout);
      const bytes = Uint8Array.from({ length: layout.size }, (_, i) => (i * 37 + 11) & 0xff);
      const plain = readStruct(layout, dvOf(bytes), 0);
      expect(codec.fromBuffer(bytes), name).toEqual(plain);
      expect([...codec.toBuffer(plain)], name).toEqual(written(layout, plain));
    }
  });
});

describe('restructure codec details', () => {
  it('restructureCodecFor defaults to NDIS 6.1 and caches per layout', () => {
    const codec = restructureCodecFor('TCP_OFFLOAD_STATE_DELEGATED', X64);
    expect(codec).toBe(restructureCodecFor('TCP_OFFLOAD_STATE_DELEGATED', X64, '6.1'));
    expect(codec.size()).toBe(128);
    expect(restructureCodecFor('TCP_OFFLOAD_STATE_DELEGATED', X64, '6.0').size()).toBe(120);
    expect(restructureCodecFor('TCP_OFFLOAD_STATE_DELEGATED', X86).size()).toBe(112);
  });

  it('a nested struct keeps its tail padding: the next member is read and written after it', () => {
    for (const abi of [X64, X86]) {
      const layout = place(
        struct('NT', 'a nested struct with tail padding', [
          field('Lead', USHORT),
          field('In', inline(field('x', ULONG), field('c', UCHAR))),
          field('After', USHORT),
          field('Last', UCHAR),
        ]),
        abi,
      );
      expect([layout.size, ...layout.fields.map((f) => f.offset)]).toEqual([16, 0, 4, 12, 14]);
      const codec = restructureCodec(layout);
      const bytes = Uint8Array.from([9, 0, 0xee, 0xee, 1, 0, 0, 0, 2, 0xee, 0xee, 0xee, 3, 0, 4, 0xee]);
      expect(codec.fromBuffer(bytes)).toEqual({ Lead: 9, In: { x: 1, c: 2 }, After: 3, Last: 4 });
      const plain = { Lead: 9, In: { x: 1, c: 2 }, After: 3, Last: 4 };
      expect([...codec.toBuffer(plain)]).toEqual([9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 4, 0]);
      expect([...codec.toBuffer(plain)]).toEqual(written(layout, plain));
      expect(codec.fields.In!.size()).toBe(8);
    }
  });

  it('arrays of other scalars and of enums are number lists (even an enum named UCHAR), as readStruct gives them', () => {
    const layout = place(struct('ARRS', 'arrays', [field('E', array(enumRef('UCHAR'), 2)), field('W', array(USHORT, 2)), field('L', array(ULONG, 2))]), X86);
    const codec = restructureCodec(layout);
    const bytes = Uint8Array.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 3, 4, 5, 6, 7, 0, 0, 0x80, 9, 0, 0, 0]);
    expect(codec.fromBuffer(bytes)).toEqual({ E: [1, 0xffffffff], W: [0x0403, 0x0605], L: [0x80000007, 9] });
    expect(codec.fromBuffer(bytes)).toEqual(readStruct(layout, dvOf(bytes), 0));
    expect([...codec.toBuffer({ E: [1, 0xffffffff], W: [0x0403, 0x0605], L: [0x80000007, 9] })]).toEqual([...bytes]);
    expect([...codec.toBuffer({ W: [1, 2] })]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(messageOf(() => codec.toBuffer({ E: '0102' } as never))).toBe('ARRS.E: expected an array of 2');
    expect(codec.fields.W!.size()).toBe(4);
    expect(codec.fields.E!.size()).toBe(8);
  });

  it('a byte array left out is zeros; one cut short by the end of the input is a RangeError naming it', () => {
    const layout = layoutOf('NEIGHBOR_OFFLOAD_STATE_CONST', X64);
    const codec = restructureCodec(layout);
    const out = codec.toBuffer({ VlanId: 5 });
    expect([...out]).toEqual([...new Array(40).fill(0), 5, 0, 0, 0]);
    expect([...codec.toBuffer({ Header: { Length: 44 }, DlSourceAddress: [0xaa] })]).toEqual([44, ...new Array(7).fill(0), 0xaa, ...new Array(35).fill(0)]);
    expect(messageOf(() => codec.fromBuffer(new Uint8Array(20)), RangeError)).toBe('NEIGHBOR_OFFLOAD_STATE_CONST.DlSourceAddress: need 32 bytes, have 12');
    expect(messageOf(() => codec.fromBuffer(new Uint8Array(8)), RangeError)).toBe('NEIGHBOR_OFFLOAD_STATE_CONST.DlSourceAddress: need 32 bytes, have 0');
    expect(codec.fromBuffer(new Uint8Array(44)).DlSourceAddress).toEqual(new Uint8Array(32));
  });

  it('names the member in every error, as writeStruct does', () => {
    const tconst = restructureCodec(layoutOf('TCP_OFFLOAD_STATE_CONST', X86));
    expect(messageOf(() => tconst.toBuffer({ SndWindScale: 16 }))).toBe('TCP_OFFLOAD_STATE_CONST.SndWindScale: 16 does not fit a 4-bit field (0..15)');
    expect(messageOf(() => tconst.toBuffer({ RcvWindScale: 'x' } as never))).toBe('TCP_OFFLOAD_STATE_CONST.RcvWindScale: expected an integer, got "x"');
    expect(messageOf(() => tconst.toBuffer({ Header: { Length: -1 } }))).toBe('TCP_OFFLOAD_STATE_CONST.Header.Length: -1 does not fit the member (0..4294967295)');
    const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
    const codec = restructureCodec(block);
    for (const plain of [{ Scratch: [1] }, { Header: 3 }, { Header: null }, { Header: { Sise: 1 } }, { Scratch: [0, 'x'] }, { NextBlock: 2n ** 64n }, { Status: 0x100000000 }]) {
      const mine = messageOf(() => codec.toBuffer(plain as never));
      const theirs = messageOf(() => written(block, plain));
      expect(mine.replace('Scratch[1]', 'Scratch'), JSON.stringify(plain, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))).toBe(theirs.replace('Scratch[1]', 'Scratch'));
    }
    expect(messageOf(() => codec.toBuffer({ Scratch: [1] } as never))).toBe('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Scratch: expected an array of 2');
    expect(messageOf(() => codec.toBuffer({ Header: { Sise: 1 } } as never))).toBe('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Sise: no such member');
    expect(messageOf(() => codec.toBuffer({ Header: null } as never))).toBe('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header: expected an object');
  });

  it('union conflicts name the alternative that does not read back; agreeing alternatives encode as writeStruct', () => {
    for (const { abi, ndis } of CASES) {
      const layout = layoutOf('TCP_OFFLOAD_STATE_DELEGATED', abi, ndis);
      const codec = restructureCodec(layout);
      expect(messageOf(() => codec.toBuffer({ SendDataHead: 1n, SendDataTail: 2n, SendBacklogSize: 3 }))).toBe(
        'TCP_OFFLOAD_STATE_DELEGATED.SendDataHead/SendDataTail: conflicts with another member of the same union: they share bytes; give one of them',
      );
      expect(messageOf(() => codec.toBuffer({ BufferedData: abi.pointerSize === 8 ? 0x100000007n : 7n, ReceiveBacklogSize: 8 }))).toBe(
        'TCP_OFFLOAD_STATE_DELEGATED.BufferedData: conflicts with another member of the same union: they share bytes; give one of them',
      );
      expect(messageOf(() => codec.toBuffer({ SendBacklogSize: 'x' } as never))).toBe('TCP_OFFLOAD_STATE_DELEGATED.SendBacklogSize: expected an integer, got "x"');
      const agree: PlainStruct = { SendDataHead: 0xfffffffen, SendBacklogSize: 0xfffffffe, BufferedData: 0x80000000n, ReceiveBacklogSize: 0x80000000 };
      const bytes = codec.toBuffer(agree);
      expect([...bytes]).toEqual(written(layout, agree));
      expect([...bytes.subarray(96, 100)]).toEqual([0xfe, 0xff, 0xff, 0xff]);
      expect(codec.fromBuffer(bytes)).toMatchObject({ ...agree, SendDataTail: 0n });
    }
  });
});
