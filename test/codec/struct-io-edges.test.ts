/**
 * readStruct / writeStruct / toInteger / toBytes at their edges, with exact values and whole
 * messages: every member kind on both ABIs, bit-fields at the ends of their units, signed and
 * unsigned words, pointers at 2^32, 2^63 and 2^64-1, arrays that are not bytes, and anonymous
 * unions whose alternatives are byte arrays, pointer arrays and nested structs.
 */
import { describe, expect, it } from 'vitest';
import { readStruct, toBytes, toInteger, writeStruct } from '../../src/codec/struct-io.js';
import { EncodeError } from '../../src/errors.js';
import { X64, X86, type Abi } from '../../src/layout/abi.js';
import {
  NDIS_STATUS,
  PVOID,
  UCHAR,
  ULONG,
  USHORT,
  array,
  enumRef,
  field,
  inline,
  struct,
  union,
  type TypeRef,
} from '../../src/layout/descriptor.js';
import { placeStruct, type StructLayout } from '../../src/layout/msvc.js';
import { layoutOf } from '../../src/layout/registry.js';

const dvOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const filled = (n: number, v: number) => new Uint8Array(n).fill(v);
const place = (d: ReturnType<typeof struct>, abi: Abi): StructLayout => placeStruct(d, abi, '6.1', () => undefined);

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EncodeError);
    return (e as Error).message;
  }
  throw new Error('did not throw');
}

const u8: TypeRef = UCHAR;
const st: TypeRef = NDIS_STATUS;
const en: TypeRef = enumRef('TCP_OFFLOAD_CONNECTION_STATE');
const ptr: TypeRef = PVOID;

describe('toInteger', () => {
  it('NDIS_STATUS: the whole signed range, and unsigned words from 2^31 up wrap to negative', () => {
    expect(toInteger(2147483647, st, undefined, 8, 'p')).toBe(2147483647n);
    expect(toInteger(2147483648, st, undefined, 8, 'p')).toBe(-2147483648n);
    expect(toInteger('0x80000001', st, undefined, 8, 'p')).toBe(-2147483647n);
    expect(toInteger(0xffffffff, st, undefined, 8, 'p')).toBe(-1n);
    expect(toInteger(-2147483648n, st, undefined, 8, 'p')).toBe(-2147483648n);
    expect(messageOf(() => toInteger('0x100000000', st, undefined, 8, 'p'))).toBe(
      'p: 0x100000000 does not fit the member (-2147483648..2147483647)',
    );
    expect(messageOf(() => toInteger(-2147483649, st, undefined, 8, 'p'))).toBe(
      'p: -2147483649 does not fit the member (-2147483648..2147483647)',
    );
  });

  it('enums are unsigned 32-bit words', () => {
    expect(toInteger(0, en, undefined, 4, 'p')).toBe(0n);
    expect(toInteger('0xffffffff', en, undefined, 4, 'p')).toBe(0xffffffffn);
    expect(messageOf(() => toInteger(-1, en, undefined, 4, 'p'))).toBe('p: -1 does not fit the member (0..4294967295)');
    expect(messageOf(() => toInteger(0x100000000, en, undefined, 8, 'p'))).toBe(
      'p: 4294967296 does not fit the member (0..4294967295)',
    );
  });

  it('pointers take the pointer size of the ABI', () => {
    expect(toInteger('0xffffffffffffffff', ptr, undefined, 8, 'p')).toBe(0xffffffffffffffffn);
    expect(toInteger(2n ** 63n, ptr, undefined, 8, 'p')).toBe(0x8000000000000000n);
    expect(messageOf(() => toInteger(2n ** 64n, ptr, undefined, 8, 'p'))).toBe(
      'p: 18446744073709551616 does not fit the member (0..18446744073709551615)',
    );
    expect(messageOf(() => toInteger('0x100000000', ptr, undefined, 4, 'p'))).toBe('p: 0x100000000 does not fit the member (0..4294967295)');
    // A bit-field of a signed type is unsigned in its width: no wrapping of large values.
    expect(messageOf(() => toInteger(8, st, 3, 8, 'p'))).toBe('p: 8 does not fit a 3-bit field (0..7)');
  });

  it('refuses what is not an integer, showing the value as JSON', () => {
    expect(messageOf(() => toInteger(1.5, u8, undefined, 8, 'a.b'))).toBe('a.b: expected an integer, got 1.5');
    expect(messageOf(() => toInteger(Number.NaN, u8, undefined, 8, 'p'))).toBe('p: expected an integer, got null');
    expect(messageOf(() => toInteger('12abc', u8, undefined, 8, 'p'))).toBe('p: expected an integer, got "12abc"');
    // Anchored at both ends: text before the number is refused too.
    expect(messageOf(() => toInteger('abc12', u8, undefined, 8, 'p'))).toBe('p: expected an integer, got "abc12"');
    expect(messageOf(() => toInteger('x0x12', u8, undefined, 8, 'p'))).toBe('p: expected an integer, got "x0x12"');
    expect(messageOf(() => toInteger(undefined, u8, undefined, 8, 'p'))).toBe('p: expected an integer, got undefined');
    expect(messageOf(() => toInteger([1], u8, undefined, 8, 'p'))).toBe('p: expected an integer, got [1]');
    // JSON.stringify throws on a BigInt inside an object: String() is used instead.
    expect(messageOf(() => toInteger({ a: 1n }, u8, undefined, 8, 'p'))).toBe('p: expected an integer, got [object Object]');
  });
});

describe('toBytes', () => {
  it('takes lists of bytes 0..255, all of them checked', () => {
    expect([...toBytes([0, 255], 4, 'p')]).toEqual([0, 255]);
    expect([...toBytes([0], 4, 'p')]).toEqual([0]);
    expect(messageOf(() => toBytes([1, 256], 4, 'p'))).toBe('p: expected bytes (a hex string), got [1,256]');
    expect(messageOf(() => toBytes([-1], 4, 'p'))).toBe('p: expected bytes (a hex string), got [-1]');
    expect(messageOf(() => toBytes([1, 'a'], 4, 'p'))).toBe('p: expected bytes (a hex string), got [1,"a"]');
  });

  it('takes hex text with surrounding blanks; refuses other things with the value', () => {
    expect([...toBytes(' 0a0B ', 4, 'p')]).toEqual([10, 11]);
    expect([...toBytes('\n01 02\t', 4, 'p')]).toEqual([1, 2]);
    expect(messageOf(() => toBytes('0g', 4, 'p'))).toBe('p: expected bytes (a hex string), got "0g"');
    expect(messageOf(() => toBytes(7, 4, 'p'))).toBe('p: expected bytes (a hex string), got 7');
    expect(messageOf(() => toBytes(null, 4, 'p'))).toBe('p: expected bytes (a hex string), got null');
    expect(messageOf(() => toBytes('0102030405', 4, 'p'))).toBe('p: 5 bytes do not fit UCHAR[4]');
  });
});

describe('readStruct: exact values of every member kind', () => {
  it('pointers as bigint at 2^32, 2^63 and 2^64-1 (x64) and 2^32-1 (x86); NDIS_STATUS signed; arrays of pointers', () => {
    const x64 = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
    const b = new Uint8Array(x64.size);
    const dv = dvOf(b);
    dv.setBigUint64(8, 0x100000000n, true); // NextBlock
    dv.setBigUint64(16, 0x8000000000000000n, true); // DependentBlockList
    dv.setUint32(24, 0xc0000001, true); // Status
    dv.setBigUint64(112, 0xffffffffffffffffn, true); // Scratch[0]
    dv.setBigUint64(120, 0xffffffffn, true); // Scratch[1]
    dv.setUint32(136, 0xffffffff, true); // PortNumber: unsigned
    b[0] = 0xff;
    b[1] = 0x80;
    dv.setUint16(2, 0xfffe, true);
    const o = readStruct(x64, dv, 0);
    expect(o.Header).toEqual({ Type: 255, Revision: 128, Size: 65534 });
    expect(o.NextBlock).toBe(0x100000000n);
    expect(o.DependentBlockList).toBe(0x8000000000000000n);
    expect(o.Status).toBe(-1073741823);
    expect(o.Scratch).toEqual([0xffffffffffffffffn, 0xffffffffn]);
    expect(o.PortNumber).toBe(4294967295);

    const x86 = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X86);
    const c = filled(x86.size, 0xff);
    const p = readStruct(x86, dvOf(c), 0);
    expect(p.NextBlock).toBe(0xffffffffn);
    expect(p.Scratch).toEqual([0xffffffffn, 0xffffffffn]);
    expect(p.Status).toBe(-1);
    expect(p.PortNumber).toBe(0xffffffff);
  });

  it('bit-fields at the ends of their units, and enums as unsigned words', () => {
    const cached = layoutOf('TCP_OFFLOAD_STATE_CACHED', X86);
    const b = filled(cached.size, 0);
    const dv = dvOf(b);
    dv.setUint32(36, 0xfff00001, true); // FlowLabel: bits 0..19 = 0x00001, the 12 bits above are junk
    b[42] = 0xfc; // UserPriority: bits 0..2 = 4
    const o = readStruct(cached, dv, 0);
    expect(o.FlowLabel).toBe(1);
    expect(o.UserPriority).toBe(4);
    dv.setUint32(36, 0x000fffff, true);
    expect(readStruct(cached, dv, 0).FlowLabel).toBe(0xfffff);

    const tconst = layoutOf('TCP_OFFLOAD_STATE_CONST', X64);
    const t = new Uint8Array(tconst.size);
    t[14] = 0x9f;
    expect(readStruct(tconst, dvOf(t), 0)).toMatchObject({ SndWindScale: 0xf, RcvWindScale: 0x9 });

    const del = layoutOf('TCP_OFFLOAD_STATE_DELEGATED', X64);
    const d = new Uint8Array(del.size);
    dvOf(d).setUint32(8, 0xfffffffe, true);
    expect(readStruct(del, dvOf(d), 0).State).toBe(4294967294);
  });

  it('a byte array is a copy: later changes to the buffer do not reach it', () => {
    const nconst = layoutOf('NEIGHBOR_OFFLOAD_STATE_CONST', X64);
    const b = new Uint8Array(nconst.size);
    b[8] = 0x11;
    const o = readStruct(nconst, dvOf(b), 0);
    b[8] = 0x22;
    const mac = o.DlSourceAddress as Uint8Array;
    expect(mac[0]).toBe(0x11);
    expect(mac.length).toBe(32);
    expect(mac.buffer).not.toBe(b.buffer);
  });

  it('arrays of other scalars and of enums are number lists, not bytes (even an enum named UCHAR)', () => {
    for (const abi of [X64, X86]) {
      const layout = place(struct('ARRS', 'arrays', [field('E', array(enumRef('UCHAR'), 2)), field('W', array(USHORT, 2)), field('L', array(ULONG, 2))]), abi);
      expect(layout.size).toBe(20);
      const b = Uint8Array.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 3, 4, 5, 6, 7, 0, 0, 0x80, 9, 0, 0, 0]);
      const o = readStruct(layout, dvOf(b), 0);
      expect(o).toEqual({ E: [1, 0xffffffff], W: [0x0403, 0x0605], L: [0x80000007, 9] });
      // Written back from those lists, the same bytes.
      const out = new Uint8Array(20);
      writeStruct(layout, dvOf(out), 0, o);
      expect([...out]).toEqual([...b]);
      writeStruct(layout, dvOf(out), 0, { W: ['0x1', 2], E: [0, '4294967295'] });
      expect([...out.subarray(0, 12)]).toEqual([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 2, 0]);
      expect(messageOf(() => writeStruct(layout, dvOf(out), 0, { W: [1, 0x10000] }))).toBe('ARRS.W[1]: 65536 does not fit the member (0..65535)');
      expect(messageOf(() => writeStruct(layout, dvOf(out), 0, { E: '0102' }))).toBe('ARRS.E: expected an array of 2');
    }
  });
});

describe('writeStruct: exact bytes', () => {
  it('pointers on both ABIs, NDIS_STATUS as a signed word, nothing else touched', () => {
    const x64 = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
    const b = filled(x64.size, 0xaa);
    writeStruct(x64, dvOf(b), 0, { NextBlock: '0xffffffffffffffff', DependentBlockList: 2n ** 32n, Status: 0xc000009a, Scratch: [2n ** 63n, 0] });
    const dv = dvOf(b);
    expect(dv.getBigUint64(8, true)).toBe(0xffffffffffffffffn);
    expect(dv.getBigUint64(16, true)).toBe(0x100000000n);
    expect(dv.getUint32(24, true)).toBe(0xc000009a);
    expect(dv.getBigUint64(112, true)).toBe(0x8000000000000000n);
    expect(dv.getBigUint64(120, true)).toBe(0n);
    expect([...b.subarray(28, 32)]).toEqual([0xaa, 0xaa, 0xaa, 0xaa]); // padding after Status
    expect(readStruct(x64, dv, 0).Status).toBe(0xc000009a - 2 ** 32);

    const x86 = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X86);
    const c = filled(x86.size, 0xaa);
    writeStruct(x86, dvOf(c), 0, { NextBlock: 0xfffffffe, Status: -2 });
    expect([...c.subarray(4, 8)]).toEqual([0xfe, 0xff, 0xff, 0xff]);
    expect([...c.subarray(8, 12)]).toEqual([0xaa, 0xaa, 0xaa, 0xaa]);
    expect([...c.subarray(12, 16)]).toEqual([0xfe, 0xff, 0xff, 0xff]);
    expect(messageOf(() => writeStruct(x86, dvOf(c), 0, { NextBlock: 2n ** 32n }))).toBe(
      'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock: 4294967296 does not fit the member (0..4294967295)',
    );
    expect(messageOf(() => writeStruct(x86, dvOf(c), 0, { Scratch: [0, 'x'] }))).toBe('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Scratch[1]: expected an integer, got "x"');
  });

  it('bit-fields replace only their bits, up to bit 31 of a 32-bit unit', () => {
    const cached = layoutOf('TCP_OFFLOAD_STATE_CACHED', X64);
    const b = filled(cached.size, 0xff);
    const dv = dvOf(b);
    writeStruct(cached, dv, 0, { FlowLabel: 0 });
    expect(dv.getUint32(36, true)).toBe(0xfff00000);
    writeStruct(cached, dv, 0, { FlowLabel: 0xabcde });
    expect(dv.getUint32(36, true)).toBe(0xfffabcde);
    writeStruct(cached, dv, 0, { UserPriority: 2 });
    expect(b[42]).toBe(0xfa);
    expect([b[41], b[43]]).toEqual([0xff, 0xff]);
    expect(messageOf(() => writeStruct(cached, dv, 0, { FlowLabel: 0x100000 }))).toBe(
      'TCP_OFFLOAD_STATE_CACHED.FlowLabel: 1048576 does not fit a 20-bit field (0..1048575)',
    );

    const tconst = layoutOf('TCP_OFFLOAD_STATE_CONST', X86);
    const t = new Uint8Array(tconst.size);
    writeStruct(tconst, dvOf(t), 0, { RcvWindScale: 15, SndWindScale: 1 });
    expect(t[14]).toBe(0xf1);
    expect([t[13], t[15]]).toEqual([0, 0]);
  });

  it('a nested struct must be an object: null, numbers, arrays and byte arrays are refused with the path', () => {
    const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
    for (const v of [null, 5, [1, 2], new Uint8Array(4), 'x']) {
      expect(messageOf(() => writeStruct(block, dvOf(new Uint8Array(block.size)), 0, { Header: v }))).toBe(
        'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header: expected an object',
      );
    }
    expect(messageOf(() => writeStruct(block, dvOf(new Uint8Array(block.size)), 0, { Header: { Sise: 1 } }))).toBe(
      'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.Header.Sise: no such member',
    );
  });
});

// ---- anonymous unions whose alternatives are byte arrays, other arrays, nested structs ----

/** x64: Tag@0, then a 16-byte union at 8: Mac UCHAR[16] | Words USHORT[8] | Ptrs PVOID[2]. */
const UA = place(
  struct('UA', 'a union of arrays', [field('Tag', ULONG), union(field('Mac', array(UCHAR, 16)), field('Words', array(USHORT, 8)), field('Ptrs', array(PVOID, 2)))]),
  X64,
);
/** x64: A@0, then a union at 4: S { USHORT x@4; ULONG y@8 } | ULONG n@4. */
const UN = place(
  struct('UN', 'a nested struct in a union', [field('A', UCHAR), union(field('S', inline(field('x', USHORT), field('y', ULONG))), field('n', ULONG))]),
  X64,
);

/** A UA buffer whose union bytes are `union16`. */
function ua(union16: number[]): Uint8Array {
  const b = new Uint8Array(24);
  b.set(union16, 8);
  return b;
}
const unionBytes = (b: Uint8Array) => [...b.subarray(8, 24)];
const zeros = (n: number) => new Array<number>(n).fill(0);

describe('writeStruct: unions of arrays', () => {
  it('has the layout the tests assume', () => {
    expect(UA.size).toBe(24);
    expect(UA.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ['Tag', 0, 4],
      ['Mac', 8, 16],
      ['Words', 8, 16],
      ['Ptrs', 8, 16],
    ]);
    expect(UN.size).toBe(12);
    expect(UN.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ['A', 0, 1],
      ['S', 4, 8],
      ['n', 4, 4],
    ]);
  });

  it('a byte array alone: written when any byte differs, shorter values zero-filled', () => {
    const b = ua([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    writeStruct(UA, dvOf(b), 0, { Mac: [1, ...zeros(15)] });
    expect(unionBytes(b)).toEqual([1, ...zeros(15)]);
    // A shorter value whose first byte matches is still written.
    const c = ua([1, 2]);
    writeStruct(UA, dvOf(c), 0, { Mac: '0109' });
    expect(unionBytes(c)).toEqual([1, 9, ...zeros(14)]);
    // The given prefix matches but a byte after it is not zero: written (zero-filled).
    const d = ua([1, 2, ...zeros(13), 5]);
    writeStruct(UA, dvOf(d), 0, { Mac: '0102' });
    expect(unionBytes(d)).toEqual([1, 2, ...zeros(14)]);
  });

  it('byte arrays and word arrays that agree are accepted; the ones that differ are named', () => {
    const b = ua([]);
    writeStruct(UA, dvOf(b), 0, { Mac: '0102', Words: [0x0201, 0, 0, 0, 0, 0, 0, 0] });
    expect(unionBytes(b)).toEqual([1, 2, ...zeros(14)]);
    // Full length, equal to the bytes already there: nothing to write, nothing conflicts.
    const full = Array.from({ length: 16 }, (_, i) => i + 1);
    const c = ua(full);
    writeStruct(UA, dvOf(c), 0, { Mac: Uint8Array.from(full), Words: [0x0201, 0x0403, 0x0605, 0x0807, 0x0a09, 0x0c0b, 0x0e0d, 0x100f] });
    expect(unionBytes(c)).toEqual(full);
    // The byte array is already there but the words change bytes it says are zero.
    const d = ua([1, 2]);
    expect(messageOf(() => writeStruct(UA, dvOf(d), 0, { Mac: '0102', Words: [0x0201, 0, 0, 0, 0, 0, 0, 0x0900] }))).toBe(
      'UA.Mac: conflicts with Words: they share bytes of one union; give one of them',
    );
    // Both differ from the bytes: both written in declaration order, and the first disagrees.
    expect(messageOf(() => writeStruct(UA, dvOf(ua([])), 0, { Mac: Uint8Array.from(full), Words: [1, ...zeros(7)] }))).toBe(
      'UA.Mac: conflicts with Mac, Words: they share bytes of one union; give one of them',
    );
    // Words that equal the bytes already there are not written: only the other one is named.
    expect(messageOf(() => writeStruct(UA, dvOf(ua([])), 0, { Mac: Uint8Array.from(full), Words: zeros(8) }))).toBe(
      'UA.Words: conflicts with Mac: they share bytes of one union; give one of them',
    );
    expect(messageOf(() => writeStruct(UA, dvOf(ua([])), 0, { Mac: '0102', Words: [0x0201, 0x0403, 0, 0, 0, 0, 0, 0] }))).toBe(
      'UA.Mac: conflicts with Mac, Words: they share bytes of one union; give one of them',
    );
    expect(messageOf(() => writeStruct(UA, dvOf(ua([])), 0, { Mac: 'zz' }))).toBe('UA.Mac: expected bytes (a hex string), got "zz"');
  });

  it('pointer arrays in a union compare element by element, as pointers', () => {
    const b = ua([]);
    writeStruct(UA, dvOf(b), 0, { Ptrs: [0n, 5n] });
    expect(readStruct(UA, dvOf(b), 0).Ptrs).toEqual([0n, 5n]);
    writeStruct(UA, dvOf(b), 0, { Ptrs: ['0xffffffffffffffff', 5] });
    expect(readStruct(UA, dvOf(b), 0).Ptrs).toEqual([0xffffffffffffffffn, 5n]);
    expect(unionBytes(b)).toEqual([...new Array(8).fill(0xff), 5, ...zeros(7)]);
    // Equal pointers, words that differ: the words are written and the pointers then disagree.
    expect(messageOf(() => writeStruct(UA, dvOf(ua([])), 0, { Ptrs: [0n, 0n], Words: [1, 0, 0, 0, 0, 0, 0, 0] }))).toBe(
      'UA.Ptrs: conflicts with Words: they share bytes of one union; give one of them',
    );
    // Not a list of two: refused as writeField refuses it, not compared element by element.
    expect(messageOf(() => writeStruct(UA, dvOf(ua([])), 0, { Ptrs: 'ab' }))).toBe('UA.Ptrs: expected an array of 2');
    expect(messageOf(() => writeStruct(UA, dvOf(ua([])), 0, { Ptrs: [0n] }))).toBe('UA.Ptrs: expected an array of 2');
    expect(messageOf(() => writeStruct(UA, dvOf(ua([])), 0, { Ptrs: [0n, 2n ** 64n] }))).toMatch(
      /^UA\.Ptrs(\[1\])?: 18446744073709551616 does not fit the member \(0\.\.18446744073709551615\)$/,
    );
  });

  it('a nested struct in a union: written when a member given differs, compared member by member', () => {
    const b = new Uint8Array(12);
    writeStruct(UN, dvOf(b), 0, { S: { x: 0, y: 5 } });
    expect(readStruct(UN, dvOf(b), 0)).toEqual({ A: 0, S: { x: 0, y: 5 }, n: 0 });
    writeStruct(UN, dvOf(b), 0, { S: { x: 0x1234 }, n: 0x1234 });
    expect(readStruct(UN, dvOf(b), 0)).toEqual({ A: 0, S: { x: 0x1234, y: 5 }, n: 0x1234 });
    expect(messageOf(() => writeStruct(UN, dvOf(new Uint8Array(12)), 0, { S: { x: 1 }, n: 2 }))).toBe(
      'UN.S: conflicts with S, n: they share bytes of one union; give one of them',
    );
  });

  it('a nested struct in a union must be an object; bad members are named with their path', () => {
    for (const v of [5, null, 'x']) {
      expect(messageOf(() => writeStruct(UN, dvOf(new Uint8Array(12)), 0, { S: v }))).toBe('UN.S: expected an object');
    }
    expect(messageOf(() => writeStruct(UN, dvOf(new Uint8Array(12)), 0, { S: { y: 'zz' } }))).toBe('UN.S.y: expected an integer, got "zz"');
    expect(messageOf(() => writeStruct(UN, dvOf(new Uint8Array(12)), 0, { S: { x: 0x10000 } }))).toBe('UN.S.x: 65536 does not fit the member (0..65535)');
    expect(messageOf(() => writeStruct(UN, dvOf(new Uint8Array(12)), 0, { n: 'zz' }))).toBe('UN.n: expected an integer, got "zz"');
  });

  it('a member the nested struct does not have is refused, as outside a union, and nothing is written', () => {
    for (const given of [{ z: 1 }, { x: 0, z: 1 }]) {
      const b = new Uint8Array(12);
      expect(messageOf(() => writeStruct(UN, dvOf(b), 0, { S: given }))).toBe('UN.S.z: no such member');
      expect([...b]).toEqual(zeros(12));
    }
  });

  it('a union alternative of TCP_OFFLOAD_STATE_DELEGATED with a bad value is named with its path', () => {
    const del = layoutOf('TCP_OFFLOAD_STATE_DELEGATED', X86, '6.0');
    expect(messageOf(() => writeStruct(del, dvOf(new Uint8Array(del.size)), 0, { SendBacklogSize: 'x' }))).toBe(
      'TCP_OFFLOAD_STATE_DELEGATED.SendBacklogSize: expected an integer, got "x"',
    );
    expect(messageOf(() => writeStruct(del, dvOf(new Uint8Array(del.size)), 0, { BufferedData: 2n ** 32n }))).toBe(
      'TCP_OFFLOAD_STATE_DELEGATED.BufferedData: 4294967296 does not fit the member (0..4294967295)',
    );
  });
});
