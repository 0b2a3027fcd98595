/**
 * The restructure codecs against readStruct / writeStruct, and an independent cross-check: every
 * structure written again by hand with @solana/buffer-layout from the C declarations (declaration
 * order, explicit padding blobs, bits() for bit-fields), for x64 and x86, NDIS 6.0 and 6.1.
 */
import * as BL from '@solana/buffer-layout';
import fc from 'fast-check';
import * as r from 'restructure';
import { describe, expect, it } from 'vitest';
import { EncodeError } from '../../src/errors.js';
import { restructureCodec, restructureCodecFor } from '../../src/codec/restructure.js';
import { readStruct, writeStruct, type PlainStruct, type PlainValue } from '../../src/codec/struct-io.js';
import { ABIS, X64, X86, type Abi } from '../../src/layout/abi.js';
import {
  NDIS_REVISIONS,
  PVOID,
  SCALARS,
  UCHAR,
  ULONG,
  USHORT,
  anonStruct,
  bits,
  field,
  inline,
  struct,
  union,
  type NdisRevision,
  type TypeRef,
} from '../../src/layout/descriptor.js';
import { placeStruct, type PlacedField } from '../../src/layout/msvc.js';
import { STRUCTS, layoutOf } from '../../src/layout/registry.js';

// ---- arbitrary plain values of a layout (one alternative per anonymous union) ----

function scalarArb(t: TypeRef, ptrSize: number): fc.Arbitrary<number | bigint> {
  if (t.kind === 'pointer') return fc.bigInt({ min: 0n, max: (1n << BigInt(ptrSize * 8)) - 1n });
  if (t.kind === 'enum') return fc.integer({ min: 0, max: 0xffffffff });
  if (t.kind !== 'scalar') throw new Error(`not a scalar: ${t.kind}`);
  const { size, signed } = SCALARS[t.name];
  return signed ? fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) : fc.integer({ min: 0, max: 2 ** (size * 8) - 1 });
}

function valueArb(f: PlacedField, ptrSize: number): fc.Arbitrary<PlainValue> {
  if (f.fields) return plainArb(f.fields, ptrSize);
  if (f.bitWidth !== undefined) return fc.integer({ min: 0, max: 2 ** f.bitWidth - 1 });
  if (f.type.kind === 'array') {
    const { of, count } = f.type;
    if (of.kind === 'scalar' && of.name === 'UCHAR') return fc.uint8Array({ minLength: count, maxLength: count });
    return fc.array(scalarArb(of, ptrSize), { minLength: count, maxLength: count });
  }
  return scalarArb(f.type, ptrSize);
}

function plainArb(fields: readonly PlacedField[], ptrSize: number): fc.Arbitrary<PlainStruct> {
  const parts: fc.Arbitrary<PlainStruct>[] = [];
  const unions = new Map<number, Map<number, PlacedField[]>>();
  for (const f of fields) {
    if (!f.union) {
      parts.push(valueArb(f, ptrSize).map((v) => ({ [f.name]: v })));
      continue;
    }
    const alts = unions.get(f.union.id) ?? new Map<number, PlacedField[]>();
    unions.set(f.union.id, alts);
    const { union: _, ...member } = f; // as a member of its alternative
    alts.set(f.union.alternative, [...(alts.get(f.union.alternative) ?? []), member]);
  }
  for (const alts of unions.values()) {
    parts.push(fc.oneof(...[...alts.values()].map((members) => plainArb(members, ptrSize))));
  }
  return fc.tuple(...parts).map((ps) => Object.assign({}, ...ps) as PlainStruct);
}

const bytesArb = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const dvOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** What writeStruct writes onto a zeroed buffer. */
function written(name: string, abi: Abi, ndis: NdisRevision, plain: PlainStruct): Uint8Array {
  const layout = layoutOf(name, abi, ndis);
  const out = new Uint8Array(layout.size);
  writeStruct(layout, dvOf(out), 0, plain);
  return out;
}

function expectSameBytes(a: Uint8Array, b: Uint8Array, message?: string): void {
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) expect(Array.from(a), message).toEqual(Array.from(b));
}

const CASES = ABIS.flatMap((abi) => NDIS_REVISIONS.flatMap((ndis) => STRUCTS.map((s) => ({ abi, ndis, name: s.name }))));

// ---------------------------------------------------------------------------------------------

describe.each(CASES)('restructure codec of $name ($abi.name, NDIS $ndis)', ({ abi, ndis, name }) => {
  const layout = layoutOf(name, abi, ndis);
  const codec = restructureCodecFor(name, abi, ndis);

  it('has the layout size', () => {
    expect(codec.size()).toBe(layout.size);
  });

  it('decodes random bytes to what readStruct gives', () => {
    fc.assert(
      fc.property(bytesArb(layout.size), (bytes) => {
        expect(codec.fromBuffer(bytes)).toEqual(readStruct(layout, dvOf(bytes), 0));
      }),
    );
  });

  it('encodes a decoded object to the bytes writeStruct writes (padding zero)', () => {
    fc.assert(
      fc.property(bytesArb(layout.size), (bytes) => {
        const plain = readStruct(layout, dvOf(bytes), 0);
        expectSameBytes(codec.toBuffer(plain), written(name, abi, ndis, plain));
      }),
    );
  });

  it('encodes random plain values to the bytes writeStruct writes, and decodes them back', () => {
    fc.assert(
      fc.property(plainArb(layout.fields, abi.pointerSize), (plain) => {
        const bytes = codec.toBuffer(plain);
        expectSameBytes(bytes, written(name, abi, ndis, plain));
        expect(codec.fromBuffer(bytes)).toMatchObject(plain);
      }),
    );
  });
});

describe('restructure codec details', () => {
  it('composes in a user r.Struct (packed, as restructure always is)', () => {
    const state = restructureCodecFor('PATH_OFFLOAD_STATE_CONST', X86);
    const outer = new r.Struct({ tag: r.uint8, state, after: r.uint16le });
    const value = {
      tag: 7,
      state: { Header: { Length: 16, RecognizedOptions: 0 }, SourceAddress: 0x1000n, DestinationAddress: 0xfffffffen },
      after: 0xbeef,
    };
    const bytes = outer.toBuffer(value);
    expect(Buffer.from(bytes).toString('hex')).toBe('07' + '1000000000000000' + '00100000' + 'feffffff' + 'efbe');
    expect(outer.fromBuffer(bytes)).toMatchObject(value);
  });

  it('a 64-bit pointer keeps all 64 bits', () => {
    const codec = restructureCodecFor('PATH_OFFLOAD_STATE_CONST', X64);
    const plain = { Header: { Length: 24, RecognizedOptions: 0 }, SourceAddress: 0xffff_ffff_ffff_fff1n, DestinationAddress: 0x8000_0000_0000_0000n };
    expect(codec.fromBuffer(codec.toBuffer(plain))).toEqual(plain);
  });

  it('anonymous unions: alternatives that agree encode once; conflicting ones throw like writeStruct', () => {
    const layout = layoutOf('TCP_OFFLOAD_STATE_DELEGATED', X64);
    const codec = restructureCodec(layout);
    const agree = { SendDataHead: 0x1_0000_0005n, SendDataTail: 9n, SendBacklogSize: 5, ReceiveBacklogSize: 3 };
    const bytes = codec.toBuffer(agree);
    expectSameBytes(bytes, written(layout.name, X64, '6.1', agree));
    expect(codec.fromBuffer(bytes)).toMatchObject({ ...agree, BufferedData: 3n });
    const conflict = { SendDataHead: 0x1_0000_0005n, SendBacklogSize: 6 };
    expect(() => codec.toBuffer(conflict)).toThrow(EncodeError);
    expect(() => written(layout.name, X64, '6.1', conflict)).toThrow(EncodeError);
    // A later, smaller alternative alone writes only its own bytes.
    expect(codec.fromBuffer(codec.toBuffer({ SendBacklogSize: 6 }))).toMatchObject({ SendDataHead: 6n, SendDataTail: 0n });
  });

  // Shapes STRUCTS does not have: a named struct as a union alternative, a later alternative
  // larger than the first, bit-fields inside a union alternative.
  const odd = [
    struct('ODD_1', 'a named struct inside an anonymous union', [
      field('A', UCHAR),
      union(field('S', inline(field('x', USHORT), field('y', ULONG))), field('n', ULONG)),
    ]),
    struct('ODD_2', 'the second alternative is the larger', [
      union(field('Small', UCHAR), anonStruct(bits('Lo', ULONG, 3), bits('Hi', ULONG, 29), field('Ptr', PVOID))),
      field('Tail', USHORT),
    ]),
  ];
  it.each(ABIS.flatMap((abi) => odd.map((d) => ({ abi, d }))))('$d.name ($abi.name): codec, readStruct and writeStruct agree', ({ abi, d }) => {
    const layout = placeStruct(d, abi, '6.1', () => undefined);
    const codec = restructureCodec(layout);
    const write = (plain: PlainStruct) => {
      const out = new Uint8Array(layout.size);
      writeStruct(layout, dvOf(out), 0, plain);
      return out;
    };
    fc.assert(
      fc.property(bytesArb(layout.size), plainArb(layout.fields, abi.pointerSize), (bytes, plain) => {
        const read = readStruct(layout, dvOf(bytes), 0);
        expect(codec.fromBuffer(bytes)).toEqual(read);
        expectSameBytes(codec.toBuffer(read), write(read));
        expectSameBytes(codec.toBuffer(plain), write(plain));
      }),
    );
  });

  it('rejects unknown members and out-of-range values; missing members encode as zero', () => {
    const codec = restructureCodecFor('TCP_OFFLOAD_STATE_CONST', X64);
    expect(() => codec.toBuffer({ Flags: 1, Bogus: 2 })).toThrow(/Bogus: no such member/);
    expect(() => codec.toBuffer({ SndWindScale: 16 })).toThrow(EncodeError);
    expect(() => codec.toBuffer({ Flags: 0x10000 })).toThrow(EncodeError);
    expect(Array.from(codec.toBuffer({ RcvWindScale: 0xf }))).toEqual([...new Array(14).fill(0), 0xf0, ...new Array(9).fill(0)]);
    // NDIS_STATUS takes the unsigned hex word as writeStruct does.
    const block = restructureCodecFor('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X86);
    expect(block.fromBuffer(block.toBuffer({ Status: 0xc0000001 })).Status).toBe(-0x3fffffff);
  });
});

// ---------------------------------------------------------------------------------------------
// The independent second encoding: @solana/buffer-layout 4.0.1, written by hand from the C
// declarations in offload-structures.md. buffer-layout has no bigint integer (nu64/ns64 are
// lossy Numbers above 2^53), so a pointer is two u32 words (one on x86) read as a bigint.

/** A pointer: one or two little-endian u32 words, as a bigint. */
class Ptr extends BL.Layout<bigint> {
  constructor(
    private readonly x64: boolean,
    property?: string,
  ) {
    super(x64 ? 8 : 4, property);
  }
  decode(b: Uint8Array, offset = 0): bigint {
    const lo = BigInt(BL.u32().decode(b, offset));
    return this.x64 ? lo | (BigInt(BL.u32().decode(b, offset + 4)) << 32n) : lo;
  }
  encode(src: bigint, b: Uint8Array, offset = 0): number {
    BL.u32().encode(Number(src & 0xffff_ffffn), b, offset);
    if (this.x64) BL.u32().encode(Number(src >> 32n), b, offset + 4);
    return this.span;
  }
}

/** A C anonymous union: every alternative decoded from the same bytes, each encoded over them in turn. */
class Overlay extends BL.Layout<Record<string, unknown>> {
  constructor(
    readonly alternatives: BL.Structure<any>[],
    span: number,
    property: string,
  ) {
    super(span, property);
  }
  decode(b: Uint8Array, offset = 0): Record<string, unknown> {
    return Object.assign({}, ...this.alternatives.map((a) => a.decode(b, offset)));
  }
  encode(src: Record<string, unknown>, b: Uint8Array, offset = 0): number {
    for (const a of this.alternatives) a.encode(src, b, offset);
    return this.span;
  }
}

/** Bit-fields sharing one storage unit, least significant bit first (Microsoft rules). */
function bitUnit(word: BL.UInt, fields: [number, string][]): BL.BitStructure {
  const unit = BL.bits(word, false, `_bits_${fields.map(([, n]) => n).join('_')}`);
  for (const [width, name] of fields) unit.addField(width, name);
  return unit;
}

/** C padding: an unnamed blob, neither decoded nor written. */
const pad = (n: number) => BL.blob(n);

function bufferLayoutDefs(abi: Abi, ndis: NdisRevision): Record<string, BL.Structure<any>> {
  const x64 = abi.pointerSize === 8;
  const n61 = ndis === '6.1';
  const ptr = (p?: string) => new Ptr(x64, p);
  const ptrs = (n: number, p: string) => BL.seq(ptr(), n, p);
  const { u8, u16, u32, s32, struct } = BL;
  const ifX64 = (...l: BL.Layout<any>[]) => (x64 ? l : []);

  const NDIS_OBJECT_HEADER = struct<any>([u8('Type'), u8('Revision'), u16('Size')]);
  const blockList = (middle: BL.Layout<any>[]) =>
    struct<any>([
      NDIS_OBJECT_HEADER.replicate('Header'),
      ...ifX64(pad(4)),
      ptr('NextBlock'),
      ptr('DependentBlockList'),
      s32('Status'),
      ...ifX64(pad(4)),
      ...middle,
      ptrs(2, 'ProtocolReserved'),
      ptrs(2, 'MiniportReserved'),
      ptrs(2, 'ImReserved'),
      ptrs(2, 'Scratch'),
      ptr('SourceHandle'),
      u32('PortNumber'),
      ...ifX64(pad(4)),
      ptr('NetBufferListChain'),
    ]);
  const OFFLOAD_STATE_HEADER = struct<any>([u32('Length'), u32('RecognizedOptions')]);
  const header = () => OFFLOAD_STATE_HEADER.replicate('Header');

  const NEIGHBOR_OFFLOAD_STATE_CONST = struct<any>([header(), BL.blob(32, 'DlSourceAddress'), bitUnit(u32(), [[12, 'VlanId']])]);
  const NEIGHBOR_OFFLOAD_STATE_CACHED = struct<any>([header(), BL.blob(32, 'DlDestinationAddress'), u32('HostReachabilityDelta')]);
  const NEIGHBOR_OFFLOAD_STATE_DELEGATED = struct<any>([header(), u32('NicReachabilityDelta')]);
  const PATH_OFFLOAD_STATE_CONST = struct<any>([header(), ptr('SourceAddress'), ptr('DestinationAddress')]);
  const PATH_OFFLOAD_STATE_CACHED = struct<any>([header(), u32('PathMtu')]);
  const PATH_OFFLOAD_STATE_DELEGATED = struct<any>([header()]);
  const TCP_OFFLOAD_STATE_CONST = struct<any>([
    header(),
    u16('Flags'),
    u16('RemotePort'),
    u16('LocalPort'),
    bitUnit(u8(), [[4, 'SndWindScale'], [4, 'RcvWindScale']]),
    pad(1),
    u16('RemoteMss'),
    pad(2),
    u32('HashValue'),
  ]);
  const TCP_OFFLOAD_STATE_CACHED = struct<any>([
    header(),
    u16('Flags'),
    pad(2),
    u32('InitialRcvWnd'),
    u32('RcvIndicationSize'),
    u8('KaProbeCount'),
    pad(3),
    u32('KaTimeout'),
    u32('KaInterval'),
    u32('MaxRT'),
    bitUnit(u32(), [[20, 'FlowLabel']]),
    u8('TtlOrHopLimit'),
    u8('TosOrTrafficClass'),
    bitUnit(u8(), [[3, 'UserPriority']]),
    pad(1),
  ]);
  const TCP_OFFLOAD_STATE_DELEGATED = struct<any>([
    header(),
    u32('State'), // enum TCP_OFFLOAD_CONNECTION_STATE (values 0..11)
    u16('Flags'),
    pad(2),
    ...['RcvNxt', 'RcvWnd', 'SndUna', 'SndNxt', 'SndMax', 'SndWnd', 'MaxSndWnd', 'SendWL1', 'CWnd', 'SsThresh'].map((n) => u32(n)),
    u16('SRtt'),
    u16('RttVar'),
    ...['TsRecent', 'TsRecentAge', 'TsTime', 'TotalRT'].map((n) => u32(n)),
    u8('DupAckCount'),
    u8('SndWndProbeCount'),
    pad(2),
    struct([u8('ProbeCount'), pad(3), u32('TimeoutDelta')], 'KeepAlive'),
    struct([u8('Count'), pad(3), u32('TimeoutDelta')], 'Retransmit'),
    // offset 96: 8-aligned on x64 already
    new Overlay([struct([ptr('SendDataHead'), ptr('SendDataTail')]), struct([u32('SendBacklogSize')])], x64 ? 16 : 8, '_union0'),
    new Overlay([struct([ptr('BufferedData')]), struct([u32('ReceiveBacklogSize')])], x64 ? 8 : 4, '_union1'),
    ...(n61 ? [u32('DWnd')] : []),
    ...(x64 && n61 ? [pad(4)] : []), // 124 -> 128 (x64 aligns the struct to 8)
  ]);
  const combined = (parts: BL.Structure<any>[], ...padding: BL.Layout<any>[][]) =>
    struct<any>([
      ...padding[0]!,
      parts[0]!.replicate('ConstState'),
      ...padding[1]!,
      parts[1]!.replicate('CachedState'),
      ...padding[2]!,
      parts[2]!.replicate('DelegatedState'),
      ...padding[3]!,
    ]);
  const ipState = () =>
    // 24 + 12 + 8 = 44 on x64, tail-padded to 48 (alignment 8); 16 + 12 + 8 = 36 on x86
    combined([PATH_OFFLOAD_STATE_CONST, PATH_OFFLOAD_STATE_CACHED, PATH_OFFLOAD_STATE_DELEGATED], [], [], [], ifX64(pad(4)));

  return {
    NDIS_OBJECT_HEADER,
    NDIS_MINIPORT_OFFLOAD_BLOCK_LIST: blockList([ptrs(2, 'NdisReserved'), ptr('MiniportOffloadContext'), ptr('NdisOffloadHandle')]),
    NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST: blockList([ptrs(3, 'NdisReserved'), ptr('OffloadHandle')]),
    OFFLOAD_STATE_HEADER,
    NEIGHBOR_OFFLOAD_STATE_CONST,
    NEIGHBOR_OFFLOAD_STATE_CACHED,
    NEIGHBOR_OFFLOAD_STATE_DELEGATED,
    PATH_OFFLOAD_STATE_CONST,
    PATH_OFFLOAD_STATE_CACHED,
    PATH_OFFLOAD_STATE_DELEGATED,
    TCP_OFFLOAD_STATE_CONST,
    TCP_OFFLOAD_STATE_CACHED,
    TCP_OFFLOAD_STATE_DELEGATED,
    NEIGHBOR_OFFLOAD_STATE: combined(
      [NEIGHBOR_OFFLOAD_STATE_CONST, NEIGHBOR_OFFLOAD_STATE_CACHED, NEIGHBOR_OFFLOAD_STATE_DELEGATED],
      [], [], [], [],
    ),
    IP4_OFFLOAD_STATE: ipState(),
    IP6_OFFLOAD_STATE: ipState(),
    // CONST 24 + CACHED 44 = 68; DELEGATED aligns to 8 on x64 -> 4 bytes of padding
    TCP_OFFLOAD_STATE: combined(
      [TCP_OFFLOAD_STATE_CONST, TCP_OFFLOAD_STATE_CACHED, TCP_OFFLOAD_STATE_DELEGATED],
      [], [], ifX64(pad(4)), [],
    ),
  };
}

/** buffer-layout's decoded shape -> readStruct's: groups (`_…`) flattened, blobs as plain Uint8Array. */
function fromBL(def: BL.Layout<any>, v: any): any {
  if (def instanceof BL.Blob) return new Uint8Array(v as Uint8Array);
  if (!(def instanceof BL.Structure)) return v;
  const o: Record<string, unknown> = {};
  for (const fd of (def as BL.Structure<any>).fields as BL.Layout<any>[]) {
    if (fd.property === undefined) continue;
    if (fd.property.startsWith('_')) Object.assign(o, v[fd.property]);
    else o[fd.property] = fromBL(fd, v[fd.property]);
  }
  return o;
}

/** readStruct's shape -> buffer-layout's: the members of each group gathered under its property. */
function toBL(def: BL.Layout<any>, plain: any): any {
  if (def instanceof Overlay) return Object.assign({}, ...def.alternatives.map((a) => toBL(a, plain)));
  if (def instanceof BL.BitStructure) return Object.fromEntries(def.fields.map((f) => [f.property, plain[f.property]]));
  if (!(def instanceof BL.Structure) || plain === undefined) return plain;
  const o: Record<string, unknown> = {};
  for (const fd of (def as BL.Structure<any>).fields as BL.Layout<any>[]) {
    if (fd.property === undefined) continue;
    o[fd.property] = fd.property.startsWith('_') ? toBL(fd, plain) : toBL(fd, plain[fd.property]);
  }
  return o;
}

describe.each(CASES)('buffer-layout cross-check of $name ($abi.name, NDIS $ndis)', ({ abi, ndis, name }) => {
  const layout = layoutOf(name, abi, ndis);
  const def = bufferLayoutDefs(abi, ndis)[name]!;

  it('the hand-written definition has the engine size', () => {
    expect(def).toBeDefined();
    expect(def.span).toBe(layout.size);
  });

  it('decodes random bytes as readStruct does', () => {
    fc.assert(
      fc.property(bytesArb(layout.size), (bytes) => {
        expect(fromBL(def, def.decode(bytes))).toEqual(readStruct(layout, dvOf(bytes), 0));
      }),
    );
  });

  it('encodes random plain values to the bytes writeStruct writes', () => {
    fc.assert(
      fc.property(plainArb(layout.fields, abi.pointerSize), (plain) => {
        const out = new Uint8Array(layout.size);
        def.encode(toBL(def, plain), out, 0);
        expectSameBytes(out, written(name, abi, ndis, plain));
      }),
    );
  });

  it('encodes a decoded object to the bytes writeStruct writes (padding zero)', () => {
    fc.assert(
      fc.property(bytesArb(layout.size), (bytes) => {
        const plain = readStruct(layout, dvOf(bytes), 0);
        const out = new Uint8Array(layout.size);
        def.encode(toBL(def, plain), out, 0);
        expectSameBytes(out, written(name, abi, ndis, plain));
      }),
    );
  });
});

it('buffer-layout defines a structure for every structure of STRUCTS', () => {
  expect(Object.keys(bufferLayoutDefs(X64, '6.1')).sort()).toEqual(STRUCTS.map((s) => s.name).sort());
});
