/**
 * Copying read and write of whole structures as plain objects keyed by C member names, driven
 * by the layout. This is what the JSON document and the encoder use; the hot paths use views.
 *
 * Plain values: integers (bit-fields, enums, NDIS_STATUS signed) as numbers, pointers as bigint,
 * UCHAR arrays as Uint8Array (a copy), other arrays as arrays, nested structs as objects.
 */
import { EncodeError } from '../errors.js';
import { SCALARS, type TypeRef } from '../layout/descriptor.js';
import type { PlacedField, StructLayout } from '../layout/msvc.js';

export type PlainValue = number | bigint | Uint8Array | PlainValue[] | PlainStruct;
export interface PlainStruct {
  [member: string]: PlainValue;
}

function readScalar(t: TypeRef, dv: DataView, at: number, ptrSize: number): number | bigint {
  switch (t.kind) {
    case 'pointer':
      return ptrSize === 8 ? dv.getBigUint64(at, true) : BigInt(dv.getUint32(at, true));
    case 'enum':
      return dv.getUint32(at, true);
    case 'scalar': {
      const { size, signed } = SCALARS[t.name];
      if (size === 1) return dv.getUint8(at);
      if (size === 2) return dv.getUint16(at, true);
      return signed ? dv.getInt32(at, true) : dv.getUint32(at, true);
    }
    default:
      throw new Error(`not a scalar: ${t.kind}`);
  }
}

function readField(f: PlacedField, dv: DataView, base: number, ptrSize: number): PlainValue {
  const at = base + f.offset;
  if (f.fields) return readFields(f.fields, dv, base, ptrSize);
  if (f.bitWidth !== undefined) {
    const unit = Number(readScalar(f.type, dv, at, ptrSize)) >>> 0;
    return Math.floor(unit / 2 ** f.bitOffset!) % 2 ** f.bitWidth;
  }
  if (f.type.kind === 'array') {
    const { of, count } = f.type;
    if (of.kind === 'scalar' && of.name === 'UCHAR') return new Uint8Array(dv.buffer, dv.byteOffset + at, count).slice();
    const stride = f.size / count;
    return Array.from({ length: count }, (_, i) => readScalar(of, dv, at + i * stride, ptrSize));
  }
  return readScalar(f.type, dv, at, ptrSize);
}

function readFields(fields: readonly PlacedField[], dv: DataView, base: number, ptrSize: number): PlainStruct {
  const o: PlainStruct = {};
  for (const f of fields) o[f.name] = readField(f, dv, base, ptrSize);
  return o;
}

/** Reads a whole structure at `offset` of `dv` into a plain object. */
export function readStruct(layout: StructLayout, dv: DataView, offset: number): PlainStruct {
  return readFields(layout.fields, dv, offset, layout.abi.pointerSize);
}

// ---------------------------------------------------------------------------------------------

/** Integer range of a type (a bit-field's by its width), for validating values before they are written; undefined for a type that is not an integer. */
export function integerRange(t: TypeRef, bitsWidth: number | undefined, ptrSize: number): { min: bigint; max: bigint } | undefined {
  if (bitsWidth !== undefined) return { min: 0n, max: (1n << BigInt(bitsWidth)) - 1n };
  if (t.kind === 'pointer') return { min: 0n, max: (1n << BigInt(ptrSize * 8)) - 1n };
  if (t.kind === 'enum') return { min: 0n, max: 0xffffffffn };
  if (t.kind === 'scalar') {
    const { size, signed } = SCALARS[t.name];
    const w = BigInt(size * 8);
    return signed ? { min: -(1n << (w - 1n)), max: (1n << (w - 1n)) - 1n } : { min: 0n, max: (1n << w) - 1n };
  }
  return undefined;
}

function rangeOf(t: TypeRef, bitsWidth: number | undefined, ptrSize: number): { min: bigint; max: bigint } {
  const range = integerRange(t, bitsWidth, ptrSize);
  if (!range) throw new Error(`no range for ${t.kind}`);
  return range;
}

/** A value as an error message shows it (JSON.stringify throws on a BigInt inside an object). */
function shown(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Accepts a number, a bigint or a "0x…" / decimal string; returns a bigint in range or throws. */
export function toInteger(v: unknown, t: TypeRef, bitsWidth: number | undefined, ptrSize: number, path: string): bigint {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^(0x[0-9a-f]+|-?[0-9]+)$/i.test(v.trim())) n = BigInt(v.trim());
  else throw new EncodeError(path, `expected an integer, got ${shown(v)}`);
  const { min, max } = rangeOf(t, bitsWidth, ptrSize);
  // NDIS_STATUS is signed in memory but written as an unsigned hex word by everyone: take both.
  if (t.kind === 'scalar' && SCALARS[t.name].signed && bitsWidth === undefined && n > max && n <= 0xffffffffn) {
    n -= 1n << 32n;
  }
  if (n < min || n > max) {
    throw new EncodeError(path, `${v} does not fit ${bitsWidth !== undefined ? `a ${bitsWidth}-bit field` : 'the member'} (${min}..${max})`);
  }
  return n;
}

function writeScalar(t: TypeRef, dv: DataView, at: number, n: bigint, ptrSize: number): void {
  const size = t.kind === 'pointer' ? ptrSize : t.kind === 'enum' ? 4 : t.kind === 'scalar' ? SCALARS[t.name].size : 0;
  if (size === 8) dv.setBigUint64(at, BigInt.asUintN(64, n), true);
  else if (size === 4) dv.setUint32(at, Number(BigInt.asUintN(32, n)), true);
  else if (size === 2) dv.setUint16(at, Number(n), true);
  else dv.setUint8(at, Number(n));
}

/** Parses a byte array given as Uint8Array, number[] or a hex string (spaces, colons and dashes allowed). */
export function toBytes(v: unknown, count: number, path: string): Uint8Array {
  let bytes: Uint8Array;
  if (v instanceof Uint8Array) bytes = v;
  else if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) bytes = Uint8Array.from(v);
  else if (typeof v === 'string' && /^([0-9a-f]{2}[\s:-]?)*$/i.test(v.trim())) {
    const hex = v.replace(/[\s:-]/g, '');
    bytes = Uint8Array.from({ length: hex.length / 2 }, (_, i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16));
  } else throw new EncodeError(path, `expected bytes (a hex string), got ${shown(v)}`);
  if (bytes.length > count) throw new EncodeError(path, `${bytes.length} bytes do not fit UCHAR[${count}]`);
  return bytes;
}

function writeField(f: PlacedField, dv: DataView, base: number, v: unknown, ptrSize: number, path: string, onto: boolean): void {
  const at = base + f.offset;
  if (f.fields) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
      throw new EncodeError(path, 'expected an object');
    }
    writeFields(f.fields, dv, base, v as Record<string, unknown>, ptrSize, path, onto);
    return;
  }
  if (f.bitWidth !== undefined) {
    const n = Number(toInteger(v, f.type, f.bitWidth, ptrSize, path));
    const unitSize = f.size;
    const unit = Number(readScalar(f.type, dv, at, ptrSize)) >>> 0;
    const lowMask = 2 ** f.bitOffset!;
    const fieldSpan = 2 ** f.bitWidth;
    // Replace bits [bitOffset, bitOffset + width) with arithmetic that stays exact for 32-bit units.
    const below = unit % lowMask;
    const above = Math.floor(unit / (lowMask * fieldSpan)) * (lowMask * fieldSpan);
    writeScalar(f.type, dv, at, BigInt(above + n * lowMask + below), unitSize === 4 ? 4 : ptrSize);
    return;
  }
  if (f.type.kind === 'array') {
    const { of, count } = f.type;
    if (of.kind === 'scalar' && of.name === 'UCHAR') {
      const bytes = toBytes(v, count, path);
      const target = new Uint8Array(dv.buffer, dv.byteOffset + at, count);
      target.fill(0);
      target.set(bytes);
      return;
    }
    if (!Array.isArray(v) || v.length !== count) throw new EncodeError(path, `expected an array of ${count}`);
    const stride = f.size / count;
    v.forEach((e, i) => writeScalar(of, dv, at + i * stride, toInteger(e, of, undefined, ptrSize, `${path}[${i}]`), ptrSize));
    return;
  }
  writeScalar(f.type, dv, at, toInteger(v, f.type, undefined, ptrSize, path), ptrSize);
}

const sameValue = (a: PlainValue, b: unknown, f: PlacedField, ptrSize: number, path: string): boolean => {
  if (a instanceof Uint8Array) {
    const bytes = toBytes(b, a.length, path);
    return bytes.length === a.length ? bytes.every((x, i) => x === a[i]) : bytes.every((x, i) => x === a[i]) && a.subarray(bytes.length).every((x) => x === 0);
  }
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i], f, ptrSize, path));
  if (typeof a === 'object') {
    // A nested struct inside a union: the same when every member given reads back as given.
    if (typeof b !== 'object' || b === null || !f.fields) return false;
    const given = b as Record<string, unknown>;
    // A member it does not have is not the same: writing it then says 'no such member'.
    if (Object.keys(given).some((k) => !f.fields!.some((g) => g.name === k))) return false;
    return f.fields.every((g) => !(g.name in given) || sameValue(a[g.name]!, given[g.name], g, ptrSize, `${path}.${g.name}`));
  }
  const elemType = f.type.kind === 'array' ? f.type.of : f.type;
  return toInteger(b, elemType, f.bitWidth, ptrSize, path) === BigInt(a);
};

function writeFields(
  fields: readonly PlacedField[],
  dv: DataView,
  base: number,
  obj: Record<string, unknown>,
  ptrSize: number,
  path: string,
  onto: boolean,
): void {
  const known = new Set(fields.map((f) => f.name));
  for (const k of Object.keys(obj)) {
    if (!known.has(k)) throw new EncodeError(`${path}.${k}`, 'no such member');
  }
  // Members of one anonymous union overlap: write only the alternatives whose value differs from
  // the bytes already there, then check that they read back as given. Onto a capture the others
  // (which held the bytes' value) are unedited forms of the same bytes, and the edited one wins;
  // on fresh bytes every alternative given must read back.
  const unionMembers = new Map<number, PlacedField[]>();
  for (const f of fields) {
    if (!(f.name in obj)) continue;
    if (f.union) {
      const list = unionMembers.get(f.union.id) ?? [];
      list.push(f);
      unionMembers.set(f.union.id, list);
      continue;
    }
    writeField(f, dv, base, obj[f.name], ptrSize, `${path}.${f.name}`, onto);
  }
  for (const members of unionMembers.values()) {
    const changed = members.filter((f) => !sameValue(readField(f, dv, base, ptrSize), obj[f.name], f, ptrSize, `${path}.${f.name}`));
    for (const f of changed) writeField(f, dv, base, obj[f.name], ptrSize, `${path}.${f.name}`, onto);
    for (const f of onto ? changed : members) {
      if (!sameValue(readField(f, dv, base, ptrSize), obj[f.name], f, ptrSize, `${path}.${f.name}`)) {
        throw new EncodeError(
          `${path}.${f.name}`,
          `conflicts with ${changed.map((c) => c.name).join(', ')}: they share bytes of one union; give one of them`,
        );
      }
    }
  }
}

/**
 * Writes the members given in `obj` into the structure at `offset`; members not given keep their
 * bytes. Values are checked against their C types first: nothing out of range is truncated.
 * `onto`: the bytes are a capture's, so an alternative of a union that still holds their value is
 * an unedited form of the bytes another alternative changes (otherwise every one must read back).
 */
export function writeStruct(layout: StructLayout, dv: DataView, offset: number, obj: Record<string, unknown>, path = layout.name, onto = false): void {
  writeFields(layout.fields, dv, offset, obj, layout.abi.pointerSize, path, onto);
}
