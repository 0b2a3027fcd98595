/**
 * Behaviour the rest of the suite reaches only in passing (coverage and mutation testing showed
 * which): typed errors and their fields, memory images at their edges, view plumbing, the windbg
 * text of layouts, the layout engine's and the C declarations' refusals, restructure codecs' and
 * the struct codec's checks. Each test states what a caller can rely on.
 */
import * as r from 'restructure';
import { describe, expect, it } from 'vitest';
import {
  AddressError,
  BoundsError,
  DecodeError,
  DumpError,
  EncodeError,
  LayoutError,
  OffloadError,
  UsageError,
} from '../../src/errors.js';
import { Location, SegmentImage, hi32, joinHalves, lo32 } from '../../src/codec/image.js';
import { pointer32, pointer64, restructureCodec, restructureCodecFor } from '../../src/codec/restructure.js';
import { readStruct, toBytes, toInteger, writeStruct } from '../../src/codec/struct-io.js';
import { checkIndex } from '../../src/codec/view-base.js';
import { viewsFor } from '../../src/codec/views.js';
import { X64, X86, abiByName } from '../../src/layout/abi.js';
import { cDeclaration, cDeclarations } from '../../src/layout/c-decl.js';
import { describeStatus, flagNames, isStatusAllowed, statusHex, statusName, stateType, stateTypeNamed } from '../../src/layout/constants.js';
import { formatLayoutText, layoutToJson, windbgType } from '../../src/layout/describe.js';
import { NDIS_STATUS, PVOID, UCHAR, ULONG, USHORT, array, bits, enumRef, field, inline, pointer, struct, structRef, union } from '../../src/layout/descriptor.js';
import { placeStruct } from '../../src/layout/msvc.js';
import { descriptorOf, layoutOf } from '../../src/layout/registry.js';
import { errorOf } from '../support/errors.js';

describe('typed errors', () => {
  it('carry a stable code, their fields, a message built from them, and their own class name', () => {
    const cases: [OffloadError, string, string][] = [
      [new LayoutError('S', 'm', 'too wide'), 'LAYOUT', 'S.m: too wide'],
      [new UsageError('no'), 'USAGE', 'no'],
      [new AddressError(0x1000n, 8, 'root'), 'ADDRESS', 'root: 0x1000 (+8 bytes) is outside the captured memory'],
      [new AddressError(0x10n, 4, 'x', 'is NULL'), 'ADDRESS', 'x: 0x10 (+4 bytes) is NULL'],
      [new BoundsError('Scratch[3]', 3, 1, 2), 'BOUNDS', 'Scratch[3] @0x3: need 1 bytes, have 2'],
      [new EncodeError('$.abi', 'unknown'), 'ENCODE', '$.abi: unknown'],
      [new DecodeError(16, 'bad'), 'DECODE', '@0x10: bad'],
      [new DecodeError(undefined, 'bad'), 'DECODE', 'bad'],
      [new DumpError(0x20, 'bad header'), 'DUMP', 'dump @0x20: bad header'],
    ];
    for (const [e, code, message] of cases) {
      expect(e).toBeInstanceOf(OffloadError);
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe(code);
      expect(e.message).toBe(message);
      expect(e.name).toBe(e.constructor.name);
    }
    const b = new BoundsError('p', 5, 6, 7);
    expect([b.path, b.offset, b.need, b.have]).toEqual(['p', 5, 6, 7]);
    const a = new AddressError(1n, 2, 'q');
    expect([a.address, a.size, a.path]).toEqual([1n, 2, 'q']);
    expect(new DecodeError(3, 'x').offset).toBe(3);
    expect(new DumpError(9, 'x').fileOffset).toBe(9);
    expect(new LayoutError('A', 'b', 'c').structName).toBe('A');
  });
});

describe('memory images', () => {
  it('refuse no segments, overlapping segments that disagree and segments past 2^64', () => {
    expect(() => new SegmentImage([])).toThrow(UsageError);
    expect(() => new SegmentImage([{ base: 0x1000n, bytes: new Uint8Array(16) }, { base: 0x1008n, bytes: new Uint8Array(16).fill(1) }])).toThrow(/overlap and disagree at 0x1008/);
    expect(() => SegmentImage.region(new Uint8Array(16), 0xfffffffffffffff8n)).toThrow(/does not fit a 64-bit address space/);
    expect(() => SegmentImage.region(new Uint8Array(16), -1n)).toThrow(UsageError);
    // Adjacent segments are fine; a segment ending exactly at 2^64 too.
    expect(new SegmentImage([{ base: 0x1000n, bytes: new Uint8Array(16) }, { base: 0x1010n, bytes: new Uint8Array(16) }]).kind).toBe('segments');
    expect(SegmentImage.region(new Uint8Array(16), 0xfffffffffffffff0n).kind).toBe('region');
  });

  it('sort segments by address, locate ranges in them and nowhere else', () => {
    const hi = new Uint8Array(32).fill(2);
    const lo = new Uint8Array(16).fill(1);
    const image = new SegmentImage([{ base: 0x2000n, bytes: hi, name: 'hi' }, { base: 0x1000n, bytes: lo }]);
    expect([...image.ranges()]).toEqual([
      { address: 0x1000n, length: 16 },
      { address: 0x2000n, length: 32 },
    ]);
    const loc = new Location();
    expect(image.locate(0x2008n, 24, loc)).toBe(true);
    expect([loc.segment, loc.offset, loc.imageOffset, loc.gathered]).toEqual([1, 8, 8, false]);
    expect(loc.view.getUint8(loc.offset)).toBe(2);
    expect(image.locate(0x2008n, 25, loc)).toBe(false); // one byte past the end
    expect(image.locate(0x1000n, 16, loc)).toBe(true);
    expect(image.locate(0x0fffn, 1, loc)).toBe(false);
    expect(image.locate(0x1010n, 1, loc)).toBe(false); // the gap
    expect(image.locate(-1n, 1, loc)).toBe(false);
    expect(image.locate(1n << 64n, 0, loc)).toBe(false);
    expect(image.offsetOf(0x2010n)).toEqual({ segment: 1, offset: 16 });
    expect(image.offsetOf(0x1800n)).toBeUndefined();
    expect(image.explain(0x2010n, 64)).toBe('runs past the end of the captured memory at 0x2020 (16 of 64 bytes captured)');
    expect(image.explain(0x1800n, 4)).toBe('is outside the captured memory');
    expect(image.writable).toBe(true);
  });

  it('locate by 32-bit halves as by BigInt, across 2^32 and far from the segment', () => {
    const image = SegmentImage.region(new Uint8Array(0x2000), 0xfffff000n);
    const loc = new Location();
    expect(image.locateHalves(lo32(0x100000800n), hi32(0x100000800n), 8, loc)).toBe(true);
    expect(loc.offset).toBe(0x1800);
    expect(image.locateHalves(0, 0x7fffffff, 1, loc)).toBe(false);
    expect(joinHalves(0xffffffff, 0xffffffff)).toBe(0xffffffffffffffffn);
    expect(joinHalves(-1, 0)).toBe(0xffffffffn);
    expect([lo32(0x123456789abcdef0n), hi32(0x123456789abcdef0n)]).toEqual([0x9abcdef0, 0x12345678]);
    expect(SegmentImage.region(new ArrayBuffer(8), 0n).segments[0]!.bytes.length).toBe(8);
  });
});

describe('views', () => {
  it('point at a located range, and refuse array indexes outside the member', () => {
    const bytes = new Uint8Array(400);
    const image = SegmentImage.region(bytes, 0x1000n);
    const loc = new Location();
    expect(image.locate(0x1010n, 152, loc)).toBe(true);
    const view = new (viewsFor(X64).NDIS_MINIPORT_OFFLOAD_BLOCK_LIST)().atLocation(loc);
    view.PortNumber = 7;
    expect(view.base).toBe(16);
    expect(new DataView(bytes.buffer).getUint32(16 + layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64).fields.find((f) => f.name === 'PortNumber')!.offset, true)).toBe(7);
    expect(() => view.Scratch(2)).toThrow(BoundsError);
    expect(() => view.Scratch(-1)).toThrow(BoundsError);
    expect(() => view.Scratch(0.5)).toThrow(BoundsError);
    expect(() => checkIndex('Scratch', 1, 2)).not.toThrow();
    expect(errorOf(() => checkIndex('NdisReserved', 2, 2))).toMatchObject({ path: 'NdisReserved[2]', offset: 2, need: 1, have: 2 });
  });
});

describe('windbg text of layouts', () => {
  it('spells every kind of type as windbg does', () => {
    expect(windbgType(UCHAR, X64)).toBe('UChar');
    expect(windbgType(USHORT, X64)).toBe('Uint2B');
    expect(windbgType(ULONG, X64)).toBe('Uint4B');
    expect(windbgType(NDIS_STATUS, X64)).toBe('Int4B');
    expect(windbgType(enumRef('TCP_OFFLOAD_CONNECTION_STATE'), X64)).toBe('_TCP_OFFLOAD_CONNECTION_STATE');
    expect(windbgType(PVOID, X86)).toBe('Ptr32 Void');
    expect(windbgType(pointer('PVOID'), X64)).toBe('Ptr64 Ptr64 Void');
    expect(windbgType(pointer('UCHAR'), X64)).toBe('Ptr64 UChar');
    expect(windbgType(pointer('NET_BUFFER_LIST'), X64)).toBe('Ptr64 _NET_BUFFER_LIST');
    expect(windbgType(array(PVOID, 2), X64)).toBe('[2] Ptr64 Void');
    expect(windbgType(structRef('NDIS_OBJECT_HEADER'), X64)).toBe('_NDIS_OBJECT_HEADER');
    expect(windbgType(inline(field('Count', UCHAR)), X64)).toBe('<unnamed-tag>');
  });

  it('prints dt -r style text: offsets, nested members indented, bit positions (Bit / Bits)', () => {
    const text = formatLayoutText(layoutOf('TCP_OFFLOAD_STATE_CONST', X64));
    const lines = text.split('\n');
    expect(lines[0]).toBe('TCP_OFFLOAD_STATE_CONST  (x64, NDIS 6.1): size 0x018 (24), align 4');
    expect(lines).toContain('   +0x000 Header            : _OFFLOAD_STATE_HEADER');
    expect(lines).toContain('      +0x000 Length            : Uint4B');
    expect(lines).toContain('   +0x00e SndWindScale      : Pos 0, 4 Bits');
    expect(lines).toContain('   +0x00e RcvWindScale      : Pos 4, 4 Bits');
    const one = placeStruct(struct('ONE', 'one bit', [bits('Flag', ULONG, 1), field('Next', UCHAR)]), X64, '6.1', () => undefined);
    expect(formatLayoutText(one).split('\n')).toContain('   +0x000 Flag : Pos 0, 1 Bit');
  });

  it('gives the layout --json shape: every member, nested members, bit positions', () => {
    const json = layoutToJson(layoutOf('NEIGHBOR_OFFLOAD_STATE_CONST', X86, '6.0'));
    expect(json).toMatchObject({ name: 'NEIGHBOR_OFFLOAD_STATE_CONST', size: 44 });
    const vlan = (json as unknown as { fields: { name: string; bitOffset?: number; bitWidth?: number; offset: number }[] }).fields.find((f) => f.name === 'VlanId');
    expect(vlan).toMatchObject({ offset: 40, bitOffset: 0, bitWidth: 12 });
  });
});

describe('the layout engine refuses what C refuses', () => {
  const place = (members: Parameters<typeof struct>[2]) => () => placeStruct(struct('BAD', 'bad', members), X64, '6.1', (n) => (n === 'INNER' ? struct('INNER', '', [field('a', ULONG)]) : undefined));
  const cases: [string, () => unknown, RegExp][] = [
    ['a bit-field of a pointer', place([bits('p', PVOID as never, 3)]), /BAD\.p: a bit-field needs an integer type, not PVOID/],
    ['a bit-field wider than its type', place([bits('b', UCHAR, 9)]), /BAD\.b: bit-field width 9 does not fit UCHAR/],
    ['a bit-field of no bits', place([bits('b', ULONG, 0)]), /bit-field width 0/],
    ['a duplicate member', place([field('a', ULONG), field('a', UCHAR)]), /BAD\.a: duplicate member name/],
    ['a duplicate inside an anonymous union', place([field('a', ULONG), union(field('a', UCHAR))]), /duplicate member name/],
    ['no member at all', place([]), /a structure needs at least one member/],
    ['an array of no elements', place([field('x', array(ULONG, 0))]), /array length 0 is not a positive integer/],
    ['an unknown structure', place([field('s', structRef('NOPE'))]), /BAD\.s: unknown type NOPE/],
  ];
  for (const [name, fn, message] of cases) {
    it(name, () => {
      const e = errorOf(fn);
      expect(e).toBeInstanceOf(LayoutError);
      expect(String((e as Error).message)).toMatch(message);
    });
  }

  it('lays out what it accepts as MSVC does: bit-field units by type, unions, revisions', () => {
    const l = placeStruct(
      struct('OK', '', [bits('a', UCHAR, 3), bits('b', UCHAR, 5), bits('c', UCHAR, 1), bits('d', USHORT, 2), field('e', structRef('INNER')), union(field('u', ULONG), field('v', UCHAR)), field('n', ULONG, { since: '6.1' })]),
      X64,
      '6.0',
      (n) => (n === 'INNER' ? struct('INNER', '', [field('i', ULONG)]) : undefined),
    );
    const at = (n: string) => l.fields.find((f) => f.name === n)!;
    expect([at('a').offset, at('a').bitOffset, at('b').bitOffset, at('c').offset, at('c').bitOffset, at('d').offset]).toEqual([0, 0, 3, 1, 0, 2]);
    expect(at('e').offset).toBe(4);
    expect([at('u').offset, at('v').offset, at('u').union?.id === at('v').union?.id]).toEqual([8, 8, true]);
    expect(l.fields.some((f) => f.name === 'n')).toBe(false); // since 6.1
    expect(l.size).toBe(12);
    expect(Object.isFrozen(l) && Object.isFrozen(l.fields)).toBe(true);
    expect(() => descriptorOf('NOPE')).toThrow(/unknown structure 'NOPE'/);
    expect(() => abiByName('arm')).toThrow(/unknown ABI 'arm'/);
    expect(abiByName('x86')).toBe(X86);
  });
});

describe('C declarations', () => {
  it('refuse a structure that contains itself, an unknown structure or an unknown enum', () => {
    const self = struct('SELF', '', [field('s', structRef('SELF'))]);
    expect(() => cDeclarations(X64, '6.1', [self])).toThrow(/contains itself/);
    expect(() => cDeclarations(X64, '6.1', [struct('A', '', [field('b', structRef('B'))])])).toThrow(/unknown type B/);
    expect(() => cDeclarations(X64, '6.1', [struct('E', '', [field('e', enumRef('NOPE'))])])).toThrow(/unknown enum NOPE/);
  });

  it('declare members as C writes them, with the revision\'s members only', () => {
    const d = struct('D', 'a */ comment', [
      field('p', pointer('PVOID')),
      field('q', pointer('UCHAR')),
      field('r', pointer('OTHER')),
      field('v', array(PVOID, 2)),
      field('w', ULONG, { since: '6.1' }),
      union(field('x', UCHAR), field('y', USHORT)),
      field('k', inline(field('Count', UCHAR))),
      bits('f', ULONG, 3),
    ]);
    const c60 = cDeclaration(d, '6.0');
    expect(c60).toContain('/* a * / comment */');
    expect(c60).toContain('void **p;');
    expect(c60).toContain('uint8_t *q;');
    expect(c60).toContain('struct OTHER *r;');
    expect(c60).toContain('void *v[2];');
    expect(c60).not.toContain(' w;');
    expect(c60).toContain('    union {\n        uint8_t x;\n        uint16_t y;\n    };');
    expect(c60).toContain('    struct {\n        uint8_t Count;\n    } k;');
    expect(c60).toContain('uint32_t f : 3;');
    expect(cDeclaration(d, '6.1')).toContain('uint32_t w;');
    const header = cDeclarations(X86, '6.0', [descriptorOf('OFFLOAD_STATE_HEADER')]);
    expect(header).toContain('_Static_assert(sizeof(void *) == 4, "these declarations are for x86");');
    expect(header).not.toContain('Pointed to');
  });
});

describe('constants', () => {
  it('name statuses, flags and state types, and say which statuses an operation allows', () => {
    expect(statusName(0xc0000001)).toBe('NDIS_STATUS_FAILURE');
    expect(statusName(0x40020001)).toBeUndefined();
    expect(statusHex(-1)).toBe('0xffffffff');
    expect(statusHex(0x103)).toBe('0x00000103');
    expect(describeStatus(0x40020001)).toBe('unknown (0x40020001)');
    expect(isStatusAllowed('initiate', 0x40020004)).toBe(true);
    expect(isStatusAllowed('query', 0x40020004)).toBe(false);
    expect(isStatusAllowed('terminate', 0xc0000001)).toBe(true);
    expect(flagNames('TCP_OFFLOAD_STATE_CACHED', 0x13)).toEqual(['TCP_FLAG_KEEP_ALIVE_ENABLED', 'TCP_FLAG_NAGLING_ENABLED', 'TCP_FLAG_UPDATE_RCV_WND']);
    expect(flagNames('TCP_OFFLOAD_STATE_CONST', 0x0d)).toEqual(['TCP_FLAG_TIMESTAMP_ENABLED', 'TCP_FLAG_WINDOW_SCALING_ENABLED', '0x8']);
    expect(flagNames('NEIGHBOR_OFFLOAD_STATE_CONST', 1)).toEqual([]);
    expect(stateType(17)?.combined).toBe('TCP_OFFLOAD_STATE');
    expect(stateType(18)).toBeUndefined();
    expect(stateTypeNamed('Ip6OffloadState')?.value).toBe(12);
  });
});

describe('the struct codec checks what it writes', () => {
  const header = layoutOf('NDIS_OBJECT_HEADER', X64);
  const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
  const tcp = layoutOf('TCP_OFFLOAD_STATE_DELEGATED', X64);
  const nconst = layoutOf('NEIGHBOR_OFFLOAD_STATE_CONST', X64);
  const dv = (n: number) => new DataView(new ArrayBuffer(n));

  it('toInteger takes numbers, BigInts, hex and decimal text, NDIS_STATUS as unsigned words; refuses the rest with the path', () => {
    const u8 = { kind: 'scalar', name: 'UCHAR' } as const;
    const st = { kind: 'scalar', name: 'NDIS_STATUS' } as const;
    expect(toInteger(255, u8, undefined, 8, 'p')).toBe(255n);
    expect(toInteger(' 0xFF ', u8, undefined, 8, 'p')).toBe(255n);
    expect(toInteger(7n, u8, 3, 8, 'p')).toBe(7n);
    expect(toInteger('0xc0000001', st, undefined, 8, 'p')).toBe(-1073741823n);
    expect(toInteger(-1, st, undefined, 8, 'p')).toBe(-1n);
    expect(toInteger('-2147483648', st, undefined, 8, 'p')).toBe(-2147483648n);
    expect(toInteger('0xffffffff', { kind: 'pointer', to: 'VOID' }, undefined, 4, 'p')).toBe(0xffffffffn);
    expect(toInteger(0xffffffff, { kind: 'enum', name: 'E' }, undefined, 8, 'p')).toBe(0xffffffffn);
    for (const [v, t, w, ptr] of [
      [256, u8, undefined, 8],
      [8, u8, 3, 8],
      [-1, u8, undefined, 8],
      ['0x100000000', st, undefined, 8],
      ['-2147483649', st, undefined, 8],
      ['0x100000000', { kind: 'pointer', to: 'VOID' }, undefined, 4],
      [2 ** 53, u8, undefined, 8],
      ['12abc', u8, undefined, 8],
      ['', u8, undefined, 8],
      [null, u8, undefined, 8],
    ] as const) {
      const e = errorOf(() => toInteger(v, t, w, ptr, 'the.path'));
      expect(e, `${String(v)}`).toBeInstanceOf(EncodeError);
      expect((e as EncodeError).path).toBe('the.path');
    }
    expect(String((errorOf(() => toInteger(8, u8, 3, 8, 'x')) as Error).message)).toBe('x: 8 does not fit a 3-bit field (0..7)');
    expect(String((errorOf(() => toInteger(256, u8, undefined, 8, 'x')) as Error).message)).toBe('x: 256 does not fit the member (0..255)');
  });

  it('toBytes takes bytes, lists of bytes and hex text with separators; refuses too many and junk', () => {
    expect([...toBytes('00:15-5d 4a', 32, 'p')]).toEqual([0, 0x15, 0x5d, 0x4a]);
    expect([...toBytes([1, 2, 255], 32, 'p')]).toEqual([1, 2, 255]);
    expect([...toBytes(Uint8Array.of(9), 32, 'p')]).toEqual([9]);
    expect(toBytes('', 32, 'p').length).toBe(0);
    expect(() => toBytes('abc', 32, 'p')).toThrow(EncodeError);
    expect(() => toBytes([256], 32, 'p')).toThrow(EncodeError);
    expect(() => toBytes([1.5], 32, 'p')).toThrow(EncodeError);
    expect(() => toBytes('zz', 32, 'p')).toThrow(EncodeError);
    expect(String((errorOf(() => toBytes('aabbcc', 2, 'p')) as Error).message)).toBe('p: 3 bytes do not fit UCHAR[2]');
  });

  it('writeStruct writes only the members given, checks shapes, and reads back what it wrote', () => {
    const view = dv(block.size + 8);
    for (let i = 0; i < view.byteLength; i++) view.setUint8(i, 0xaa);
    writeStruct(block, view, 8, { Header: { Size: 152 }, Scratch: ['0x1', 2], PortNumber: 3, NetBufferListChain: '0xffffffffffffffff' });
    const back = readStruct(block, view, 8);
    expect(back.Header).toEqual({ Type: 0xaa, Revision: 0xaa, Size: 152 });
    expect(back.Scratch).toEqual([1n, 2n]);
    expect(back.PortNumber).toBe(3);
    expect(back.NetBufferListChain).toBe(0xffffffffffffffffn);
    expect(back.SourceHandle).toBe(0xaaaaaaaaaaaaaaaan);
    expect([...new Uint8Array(view.buffer, 0, 8)].every((b) => b === 0xaa)).toBe(true);
    expect(() => writeStruct(header, dv(4), 0, { Bogus: 1 })).toThrow(/NDIS_OBJECT_HEADER\.Bogus: no such member/);
    expect(() => writeStruct(block, dv(152), 0, { Header: 5 })).toThrow(/Header: expected an object/);
    expect(() => writeStruct(block, dv(152), 0, { Header: new Uint8Array(4) })).toThrow(/expected an object/);
    expect(() => writeStruct(block, dv(152), 0, { Scratch: [1] })).toThrow(/Scratch: expected an array of 2/);
    expect(() => writeStruct(block, dv(152), 0, { Scratch: 'x' })).toThrow(/expected an array of 2/);
    // A byte array: the bytes given, then zeros.
    const n = dv(nconst.size);
    for (let i = 0; i < n.byteLength; i++) n.setUint8(i, 0xee);
    writeStruct(nconst, n, 0, { DlSourceAddress: '0102', VlanId: 4095 });
    const nb = readStruct(nconst, n, 0);
    expect([...(nb.DlSourceAddress as Uint8Array)]).toEqual([1, 2, ...new Array(30).fill(0)]);
    expect(nb.VlanId).toBe(4095);
    // The bits of the unit outside VlanId keep their junk.
    expect(n.getUint32(40, true) >>> 12).toBe(0xeeeee);
  });

  it('union members that agree write once; that conflict throw naming the other; nested alternatives compare member by member', () => {
    const v = dv(tcp.size);
    writeStruct(tcp, v, 0, { SendDataHead: '0x1122334455667788', SendDataTail: '0x99', SendBacklogSize: 0x55667788 });
    expect(readStruct(tcp, v, 0).SendBacklogSize).toBe(0x55667788);
    expect(() => writeStruct(tcp, dv(tcp.size), 0, { SendDataHead: '0x1', SendBacklogSize: 2 })).toThrow(/TCP_OFFLOAD_STATE_DELEGATED.SendDataHead: conflicts with SendDataHead, SendBacklogSize: they share bytes of one union/);
    const same = dv(tcp.size);
    writeStruct(tcp, same, 0, { BufferedData: '0x0000000100000002', ReceiveBacklogSize: 2 });
    expect(readStruct(tcp, same, 0).BufferedData).toBe(0x100000002n);
    // One alternative alone writes its own bytes only: the high half of BufferedData stays.
    writeStruct(tcp, same, 0, { ReceiveBacklogSize: 3 });
    expect(readStruct(tcp, same, 0).BufferedData).toBe(0x100000003n);
    // Giving both, the one that differs from the bytes is written, and then the other disagrees.
    expect(() => writeStruct(tcp, same, 0, { BufferedData: '0x0000000100000003', ReceiveBacklogSize: 4 })).toThrow(/BufferedData: conflicts with ReceiveBacklogSize/);
  });
});

describe('restructure codecs', () => {
  it('64- and 32-bit pointers keep every bit, both ways', () => {
    const s = new r.Struct({ a: pointer64, b: pointer32 });
    const buf = s.toBuffer({ a: 0xfedcba9876543210n, b: 0xfffffffen });
    expect(buf.length).toBe(12);
    expect(s.fromBuffer(buf)).toMatchObject({ a: 0xfedcba9876543210n, b: 0xfffffffen });
    expect(pointer64.size()).toBe(8);
    expect(pointer32.size()).toBe(4);
  });

  it('check what they encode as writeStruct does, and are made once per layout', () => {
    const codec = restructureCodecFor('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X86);
    expect(restructureCodecFor('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X86)).toBe(codec);
    expect(restructureCodecFor('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X86, '6.0')).not.toBe(codec);
    expect(codec.size()).toBe(76);
    expect(() => codec.toBuffer({ Scratch: [1] } as never)).toThrow(/expected an array of 2/);
    expect(() => codec.toBuffer({ Nope: 1 } as never)).toThrow(/Nope: no such member/);
    expect(() => codec.toBuffer({ Header: 3 } as never)).toThrow(/expected an object/);
    expect(() => codec.toBuffer({ PortNumber: -1 } as never)).toThrow(EncodeError);
    const bytes = restructureCodec(layoutOf('NEIGHBOR_OFFLOAD_STATE_CONST', X64));
    expect(() => bytes.toBuffer({ DlSourceAddress: 'ab'.repeat(33) } as never)).toThrow(/33 bytes do not fit UCHAR\[32\]/);
    expect(() => bytes.fromBuffer(new Uint8Array(10))).toThrow();
    const out = bytes.toBuffer({ DlSourceAddress: 'ff', VlanId: 1 } as never);
    expect([...out.subarray(0, 10)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0]);
  });
});
