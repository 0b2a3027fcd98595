/**
 * restructure (https://github.com/foliojs/restructure) codecs built from the layouts, for users who
 * compose structures with restructure: `r.Struct({ block: restructureCodecFor(...), ... })`.
 *
 * A codec decodes to the plain object `readStruct` gives (pointers as bigint, UCHAR arrays as a
 * Uint8Array copy, bit-fields as numbers, nested structs as objects) and encodes such an object
 * to the bytes `writeStruct` writes onto a zeroed buffer. Every offset comes from the layout: the
 * members are laid end to end with r.Reserved filling the gaps (padding) between them.
 *
 * restructure packs the members of a user's r.Struct: add r.Reserved where C would align a codec.
 *
 * Encoding: a member left out is written as zero; a member the structure does not have throws;
 * values are checked as writeStruct checks them (`toInteger`, `toBytes`).
 * Anonymous unions: decoding yields every alternative (they overlap). Encoding writes the given
 * alternatives in declaration order into the union's bytes, then checks that each reads back as
 * given; conflicting alternatives throw, as in writeStruct. Values decoded from bytes always
 * agree, so the result is the bytes of the first alternative when it covers the union.
 */
import * as r from 'restructure';
import { EncodeError } from '../errors.js';
import type { Abi } from '../layout/abi.js';
import { SCALARS, type NdisRevision, type TypeRef } from '../layout/descriptor.js';
import type { PlacedField, StructLayout } from '../layout/msvc.js';
import { layoutOf } from '../layout/registry.js';
import { toBytes, toInteger, type PlainStruct } from './struct-io.js';

type Members = Record<string, unknown>;

// restructure ships no type declarations, so the public types below describe the parts of its
// streams and types that a codec uses, instead of naming restructure's own (which would make a
// TypeScript program that imports this library need a declaration of restructure to compile).
// restructure's Struct, Number and streams have these members, so they fit in either direction.

/** restructure's DecodeStream, as far as a codec reads it. */
export interface RestructureDecodeStream {
  buffer: Uint8Array;
  view: DataView;
  pos: number;
  length: number;
}

/** restructure's EncodeStream, as far as a codec writes it. */
export interface RestructureEncodeStream {
  buffer: Uint8Array;
  view: DataView;
  pos: number;
}

/** A restructure type: what can be a member of an `r.Struct`. */
export interface RestructureType<T> {
  decode(stream: RestructureDecodeStream, parent?: unknown): T;
  encode(stream: RestructureEncodeStream, value: T, parent?: unknown): void;
  size(value?: T | null, parent?: unknown): number;
}

/** A restructure `Struct` (it is one at run time): its parts, and the whole-buffer calls. */
export interface RestructureCodec<T> extends RestructureType<T> {
  /** The parts in order: members by their C names, padding, bit-field units and unions as `(kind@offset)`. */
  readonly fields: Readonly<Record<string, RestructureType<unknown>>>;
  fromBuffer(buffer: Uint8Array): T;
  toBuffer(value: T): Uint8Array;
}

/** 64-bit little-endian pointer as a bigint (restructure has no 64-bit integer type). */
export const pointer64: RestructureType<bigint> = {
  size: () => 8,
  decode(s) {
    const v = s.view.getBigUint64(s.pos, true);
    s.pos += 8;
    return v;
  },
  encode(s, v) {
    s.view.setBigUint64(s.pos, v, true);
    s.pos += 8;
  },
};

/** 32-bit little-endian pointer, also as a bigint (as readStruct gives it). */
export const pointer32: RestructureType<bigint> = {
  size: () => 4,
  decode(s) {
    const v = BigInt(s.view.getUint32(s.pos, true));
    s.pos += 4;
    return v;
  },
  encode(s, v) {
    s.view.setUint32(s.pos, Number(v), true);
    s.pos += 4;
  },
};

/** restructure's unsigned number of a storage unit size. */
const unsigned = (size: number): r.Number => (size === 1 ? r.uint8 : size === 2 ? r.uint16le : r.uint32le);

/** The restructure type that holds one value of a scalar C type, unchecked. */
function rawScalar(t: TypeRef, ptrSize: number): r.Type<number> | r.Type<bigint> {
  if (t.kind === 'pointer') return ptrSize === 8 ? pointer64 : pointer32;
  if (t.kind === 'enum') return r.uint32le;
  if (t.kind === 'scalar') return SCALARS[t.name].signed ? r.int32le : unsigned(SCALARS[t.name].size);
  throw new Error(`not a scalar: ${t.kind}`);
}

/** A scalar member: range-checked like writeStruct; a missing value encodes as zero. */
class Scalar implements r.Type<number | bigint> {
  private readonly raw: r.Type<any>;
  constructor(
    private readonly t: TypeRef,
    private readonly ptrSize: number,
    private readonly path: string,
  ) {
    this.raw = rawScalar(t, ptrSize);
  }
  size(): number {
    return this.raw.size();
  }
  decode(s: r.DecodeStream): number | bigint {
    return this.raw.decode(s);
  }
  encode(s: r.EncodeStream, v: unknown): void {
    const n = v === undefined ? 0n : toInteger(v, this.t, undefined, this.ptrSize, this.path);
    this.raw.encode(s, this.t.kind === 'pointer' ? n : Number(n));
  }
}

/** UCHAR[n]: a Uint8Array copy; shorter input is zero-filled, as writeStruct does. */
class Bytes implements r.Type<Uint8Array> {
  constructor(
    private readonly count: number,
    private readonly path: string,
  ) {}
  size(): number {
    return this.count;
  }
  decode(s: r.DecodeStream): Uint8Array {
    const b = s.readBuffer(this.count);
    if (b.length !== this.count) throw new RangeError(`${this.path}: need ${this.count} bytes, have ${b.length}`);
    return new Uint8Array(b);
  }
  encode(s: r.EncodeStream, v: unknown): void {
    const bytes = v === undefined ? new Uint8Array(0) : toBytes(v, this.count, this.path);
    s.writeBuffer(bytes);
    s.fill(0, this.count - bytes.length);
  }
}

/** A fixed-length array (restructure's r.Array would write however many elements it is given). */
class FixedArray extends r.Array<number | bigint> {
  constructor(
    type: r.Type<number | bigint>,
    count: number,
    private readonly path: string,
  ) {
    super(type, count);
  }
  override size(): number {
    return this.type.size() * this.length;
  }
  override encode(s: r.EncodeStream, v: unknown, parent?: unknown): void {
    const items = v === undefined ? Array.from({ length: this.length }, () => 0n) : v;
    if (!Array.isArray(items) || items.length !== this.length) {
      throw new EncodeError(this.path, `expected an array of ${this.length}`);
    }
    super.encode(s, items, parent);
  }
}

/**
 * One bit-field storage unit holding several members: read once, yields each member into the
 * struct being decoded (restructure passes it as `parent`); on encode, takes them from the value
 * being encoded (`parent.val`). Decodes to no key of its own.
 */
class BitUnit implements r.Type<undefined> {
  constructor(
    private readonly members: readonly PlacedField[],
    private readonly ptrSize: number,
    private readonly path: string,
  ) {}
  size(): number {
    return this.members[0]!.size;
  }
  decode(s: r.DecodeStream, parent: unknown): undefined {
    const unit = unsigned(this.size()).decode(s);
    for (const m of this.members) (parent as Members)[m.name] = Math.floor(unit / 2 ** m.bitOffset!) % 2 ** m.bitWidth!;
    return undefined;
  }
  encode(s: r.EncodeStream, _v: unknown, ctx: unknown): void {
    const val = (ctx as r.EncodeContext).val as Members;
    let unit = 0;
    for (const m of this.members) {
      const v = val[m.name];
      const n = v === undefined ? 0 : Number(toInteger(v, m.type, m.bitWidth, this.ptrSize, `${this.path}.${m.name}`));
      unit += n * 2 ** m.bitOffset!;
    }
    unsigned(this.size()).encode(s, unit);
  }
}

/** An anonymous union: every alternative decoded from the same bytes; see the file comment for encoding. */
class Union implements r.Type<undefined> {
  constructor(
    private readonly alternatives: readonly LayoutStruct[],
    private readonly bytes: number,
    private readonly path: string,
  ) {}
  size(): number {
    return this.bytes;
  }
  decode(s: r.DecodeStream, parent: unknown): undefined {
    const start = s.pos;
    for (const alt of this.alternatives) {
      s.pos = start;
      Object.assign(parent as Members, alt.decode(s));
    }
    s.pos = start + this.bytes;
    return undefined;
  }
  encode(s: r.EncodeStream, _v: unknown, ctx: unknown): void {
    const val = (ctx as r.EncodeContext).val as Members;
    const scratch = new Uint8Array(this.bytes);
    const given = this.alternatives
      .map((alt) => ({ alt, names: alt.names.filter((n) => val[n] !== undefined) }))
      .filter((g) => g.names.length > 0);
    const pick = (o: Members, names: readonly string[]): PlainStruct =>
      Object.fromEntries(names.map((n) => [n, o[n]])) as PlainStruct;
    for (const { alt, names } of given) alt.encode(new r.EncodeStream(scratch), pick(val, names));
    for (const { alt, names } of given) {
      // Compare canonically: both the given and the read-back values re-encoded alone.
      const back = alt.decode(new r.DecodeStream(scratch));
      const want = alt.toBuffer(pick(val, names));
      const got = alt.toBuffer(pick(back, names));
      if (!want.every((b, i) => b === got[i])) {
        throw new EncodeError(`${this.path}.${names.join('/')}`, 'conflicts with another member of the same union: they share bytes; give one of them');
      }
    }
    s.writeBuffer(scratch);
  }
}

/** A struct (or one union alternative) as a restructure Struct whose members are laid out from the layout. */
class LayoutStruct extends r.Struct<PlainStruct> {
  constructor(
    /** The member names at this level (bit-field and union members included). */
    readonly names: readonly string[],
    parts: Record<string, r.Type<any>>,
    private readonly bytes: number,
    private readonly path: string,
  ) {
    super(parts);
  }
  override size(): number {
    return this.bytes;
  }
  /** A plain object: restructure's hidden bookkeeping properties (parent, _startOffset…) dropped. */
  override decode(s: r.DecodeStream, parent?: unknown): PlainStruct {
    return { ...super.decode(s, parent) };
  }
  override encode(s: r.EncodeStream, val: PlainStruct | undefined, parent?: unknown): void {
    const v: unknown = val === undefined ? {} : val; // null is not an object here either
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
      throw new EncodeError(this.path, 'expected an object');
    }
    for (const k of Object.keys(v)) {
      if (!this.names.includes(k)) throw new EncodeError(`${this.path}.${k}`, 'no such member');
    }
    super.encode(s, v as PlainStruct, parent);
  }
}

/** The restructure type of one non-bit-field, non-union member. */
function memberType(f: PlacedField, ptrSize: number, path: string): r.Type<any> {
  if (f.fields) return build(f.fields, f.offset, f.offset + f.size, ptrSize, path);
  if (f.type.kind === 'array') {
    const { of, count } = f.type;
    if (of.kind === 'scalar' && of.name === 'UCHAR') return new Bytes(count, path);
    return new FixedArray(new Scalar(of, ptrSize, path), count, path);
  }
  return new Scalar(f.type, ptrSize, path);
}

/** Lays `fields` (absolute offsets) end to end over [start, end), with r.Reserved for every gap. */
function build(fields: readonly PlacedField[], start: number, end: number, ptrSize: number, path: string): LayoutStruct {
  const parts: Record<string, r.Type<any>> = {};
  let at = start; // the first byte not yet covered
  const place = (offset: number, bytes: number, key: string, type: r.Type<any>): void => {
    if (offset < at) throw new Error(`${path}: ${key} at ${offset} overlaps the previous member (ends at ${at})`);
    if (offset > at) parts[`(padding@${at})`] = new r.Reserved(r.uint8, offset - at);
    parts[key] = type;
    at = offset + bytes;
  };

  for (let i = 0; i < fields.length; ) {
    const f = fields[i]!;
    // The run of members that share f's union, or f's bit-field storage unit.
    let j = i + 1;
    const sameGroup = (g: PlacedField): boolean =>
      f.union ? g.union?.id === f.union.id : f.bitWidth !== undefined && g.bitWidth !== undefined && !g.union && g.offset === f.offset;
    while (j < fields.length && sameGroup(fields[j]!)) j++;
    const group = fields.slice(i, j);
    i = j;

    if (f.union) {
      const unionEnd = Math.max(...group.map((g) => g.offset + g.size));
      const alternatives = [...new Set(group.map((g) => g.union!.alternative))].map((a) => {
        const members = group.filter((g) => g.union!.alternative === a).map(({ union: _, ...g }) => g);
        return build(members, f.offset, Math.max(...members.map((g) => g.offset + g.size)), ptrSize, path);
      });
      place(f.offset, unionEnd - f.offset, `(union@${f.offset})`, new Union(alternatives, unionEnd - f.offset, path));
    } else if (f.bitWidth !== undefined) {
      place(f.offset, f.size, `(bits@${f.offset})`, new BitUnit(group, ptrSize, path));
    } else {
      place(f.offset, f.size, f.name, memberType(f, ptrSize, `${path}.${f.name}`));
    }
  }
  if (end > at) parts[`(padding@${at})`] = new r.Reserved(r.uint8, end - at);
  return new LayoutStruct(
    fields.map((f) => f.name),
    parts,
    end - start,
    path,
  );
}

/** The restructure codec of a laid-out structure: `.fromBuffer(buf)`, `.toBuffer(obj)`, `.size()`. */
export function restructureCodec(layout: StructLayout): RestructureCodec<PlainStruct> {
  return build(layout.fields, 0, layout.size, layout.abi.pointerSize, layout.name);
}

const cache = new Map<StructLayout, RestructureCodec<PlainStruct>>();

/** The restructure codec of a structure by name, for an ABI and NDIS revision (6.1 by default). */
export function restructureCodecFor(name: string, abi: Abi, ndis: NdisRevision = '6.1'): RestructureCodec<PlainStruct> {
  const layout = layoutOf(name, abi, ndis);
  let codec = cache.get(layout);
  if (!codec) cache.set(layout, (codec = restructureCodec(layout)));
  return codec;
}
