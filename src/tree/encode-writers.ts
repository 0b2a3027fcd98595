/**
 * encodeTree's struct writers: one function per layout, compiled once from the layout, that writes
 * a document object when every member it gives is known and every value a plain in-range number,
 * a "0x" pointer or a nested object of such. Otherwise it returns false: at the first value it does
 * not take, or at the end when the object has keys that are not members. By then it has written
 * only members the object gives, with the values it gives, and the general code (writeStruct)
 * writes them again or throws its EncodeError.
 *
 * Why compiled: each member becomes a named load (`o["LocalPort"]`, one inline cache per member for
 * documents whose objects share a shape) and a store at a constant offset, checked with one or two
 * integer comparisons. Unknown members are found by counting: one for-in over the object's keys,
 * against the number of members the function wrote.
 */
import { SCALARS } from '../layout/descriptor.js';
import type { PlacedField, StructLayout } from '../layout/msvc.js';

/** Writes `obj` at `base` as writeStruct would, or returns false (see above). */
export type StructWriter = (dv: DataView, base: number, obj: Record<string, unknown>) => boolean;

/** What a state part needs besides its layout: the encoder's own members are not the document's to give. */
export interface PartSpec {
  /** Offset of Header.Length, written with the part's size when the document gives no Header. */
  lengthAt: number;
  /** TCP_OFFLOAD_STATE_DELEGATED: State may be a connection state's name (or { name, value }). */
  connectionState?: (v: unknown) => unknown;
}

const TWO32 = 4294967296;

/** A plain object (JSON.parse's kind): for-in then sees exactly its own keys, as Object.keys would. */
export const isPlain = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

// parseHexPointer's result, and the last string it parsed (documents repeat "0x0000000000000000").
let hexLo = 0;
let hexHi = 0;
let hexLast: string | undefined;
const HEX_POINTER = /^0x[0-9a-fA-F]{1,16}$/;

/** Parses "0x" and 1 to 16 hex digits into hexLo/hexHi; false for anything else. */
function parseHexPointer(v: string): boolean {
  if (v === hexLast) return true;
  if (!HEX_POINTER.test(v)) return false;
  hexLo = Number.parseInt(v.slice(Math.max(2, v.length - 8)), 16);
  hexHi = v.length > 10 ? Number.parseInt(v.slice(2, v.length - 8), 16) : 0;
  hexLast = v;
  return true;
}

/** A context cell given as "0x" and up to 16 hex digits (the decoder's form), non-NULL, written as two halves; false otherwise. */
export function writeHexPointer(dv: DataView, at: number, v: unknown, ptr: number): boolean {
  if (typeof v !== 'string' || !parseHexPointer(v)) return false;
  if (ptr === 4 && hexHi !== 0) return false; // out of range: the general code says so
  if (hexLo === 0 && hexHi === 0) return false; // NULL: the general code decides what that means here
  dv.setUint32(at, hexLo, true);
  if (ptr === 8) dv.setUint32(at + 4, hexHi, true);
  return true;
}

/** A pointer member: a safe integer in range, or "0x" text (NULL included). */
function putPointer(dv: DataView, at: number, v: unknown, ptr: number): boolean {
  if (typeof v === 'number') {
    if (!(v >= 0 && v <= (ptr === 8 ? Number.MAX_SAFE_INTEGER : 0xffffffff)) || !Number.isInteger(v)) return false;
    dv.setUint32(at, v % TWO32, true);
    if (ptr === 8) dv.setUint32(at + 4, Math.floor(v / TWO32), true);
    return true;
  }
  if (typeof v !== 'string' || !parseHexPointer(v) || (ptr === 4 && hexHi !== 0)) return false;
  dv.setUint32(at, hexLo, true);
  if (ptr === 8) dv.setUint32(at + 4, hexHi, true);
  return true;
}

/** A nested structure's value: an object (the nested writer takes only plain ones: no arrays, no byte arrays). */
const isStructValue = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Part Header: given only as a plain object with its Length (else partMembers' default would differ). */
const isPartHeader = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && isPlain(v) && (v as Record<string, unknown>).Length !== undefined;

const SET = { 1: 'setUint8', 2: 'setUint16', 4: 'setUint32' } as const;
const GET = { 1: 'getUint8', 2: 'getUint16', 4: 'getUint32' } as const;

/** The statements that check `v` and write it for one member; `nested` names the writer of a nested structure. */
function putCode(f: PlacedField, ptrSize: number, nested: () => string): string | undefined {
  const at = `b + ${f.offset}`;
  const fail = 'return false;';
  if (f.fields) return `if (!isStructValue(v) || !${nested()}(dv, b, v)) ${fail}`;
  const size = f.size as 1 | 2 | 4;
  const kind = f.type.kind;
  if (f.bitWidth !== undefined) {
    if ((kind !== 'scalar' && kind !== 'enum') || !(size in SET)) return undefined;
    // An integer in 0 .. 2^width - 1 (for a number, v >>> 0 === v: an integer in 0 .. 2^32 - 1), merged into its unit.
    const max = 2 ** f.bitWidth - 1;
    const low = 2 ** f.bitOffset!;
    const span = low * 2 ** f.bitWidth;
    return (
      `if (typeof v !== 'number' || (v >>> 0) !== v || v > ${max}) ${fail} ` +
      `u = dv.${GET[size]}(${at}, true); dv.${SET[size]}(${at}, Math.floor(u / ${span}) * ${span} + v * ${low} + (u % ${low}), true);`
    );
  }
  if (kind === 'pointer') return `if (!putPointer(dv, ${at}, v, ${ptrSize})) ${fail}`;
  if (kind === 'scalar' && SCALARS[f.type.name].signed) {
    // NDIS_STATUS: -2^31 .. 2^32 - 1, stored as its 32 bits.
    return `if (typeof v !== 'number' || ((v | 0) !== v && (v >>> 0) !== v)) ${fail} dv.setInt32(${at}, v | 0, true);`;
  }
  if ((kind === 'scalar' || kind === 'enum') && size in SET) {
    const check = size === 4 ? '(v >>> 0) !== v' : `(v & ${2 ** (8 * size) - 1}) !== v`;
    return `if (typeof v !== 'number' || ${check}) ${fail} dv.${SET[size]}(${at}, v, true);`;
  }
  return undefined; // arrays and the rest: the general code
}

/** The nested writers a writer calls, by the name it calls them. */
type Nested = Map<string, readonly PlacedField[]>;

/**
 * The body of a writer over `fields`: counts the object's keys (for a part, not the keys the encoder
 * writes itself), writes each member given, and is true when every key counted was written.
 */
function writerSource(fields: readonly PlacedField[], ptrSize: number, nested: Nested, part?: PartSpec, partSize?: number): string {
  const lines: string[] = ['if (!isPlain(o)) return false;', 'let n = 0, c = 0, v, u, a;'];
  // Part keys that are not the document's to give: '*' keys (what a pointer points to) and the address pointers.
  lines.push(
    part
      ? "for (const k in o) if (k.charCodeAt(0) !== 42 && k !== 'SourceAddress' && k !== 'DestinationAddress') n++;"
      : 'for (const k in o) n++;',
  );
  const load = (f: PlacedField): string => `v = o[${JSON.stringify(f.name)}];`;
  const nestedName = (f: PlacedField) => (): string => {
    const name = `w${nested.size}`;
    nested.set(name, f.fields!);
    return name;
  };
  const unions = new Map<number, PlacedField[]>();
  for (const f of fields) {
    if (f.union) {
      const list = unions.get(f.union.id) ?? [];
      list.push(f);
      unions.set(f.union.id, list);
      continue;
    }
    if (part && (f.name === 'SourceAddress' || f.name === 'DestinationAddress')) continue;
    const code = putCode(f, ptrSize, nestedName(f));
    if (part && f.name === 'Header') {
      lines.push(load(f), `if (v === undefined) dv.setUint32(b + ${part.lengthAt}, ${partSize}, true);`);
      lines.push(`else { if (!isPartHeader(v)) return false; ${code} c++; }`);
      continue;
    }
    if (part?.connectionState && f.name === 'State') {
      lines.push(load(f), `if (v !== undefined) { v = connectionState(v); ${code ?? 'return false;'} c++; }`);
      continue;
    }
    lines.push(load(f), `if (v !== undefined) { ${code ?? 'return false;'} c++; }`);
  }
  // Anonymous unions: the members given must belong to one alternative; only scalars and pointers here.
  for (const members of unions.values()) {
    lines.push('a = -1;');
    for (const f of members) {
      lines.push(load(f), `if (v !== undefined) { if (a === -1) a = ${f.union!.alternative}; else if (a !== ${f.union!.alternative}) return false; }`);
    }
    for (const f of members) {
      const code = f.fields || f.bitWidth !== undefined ? undefined : putCode(f, ptrSize, nestedName(f));
      lines.push(load(f), `if (v !== undefined) { ${code ?? 'return false;'} c++; }`);
    }
  }
  lines.push('return c === n;');
  return lines.join('\n');
}

const HELPERS = { isPlain, isStructValue, isPartHeader, putPointer };

function compileWriter(fields: readonly PlacedField[], ptrSize: number, part?: PartSpec, partSize?: number): StructWriter {
  const nested: Nested = new Map();
  const top = writerSource(fields, ptrSize, nested, part, partSize);
  // Nested writers are compiled first (they may nest in turn) and passed in by name.
  const names: string[] = [];
  const writers: StructWriter[] = [];
  for (const [name, inner] of nested) {
    names.push(name);
    writers.push(compileWriter(inner, ptrSize));
  }
  const params = [...Object.keys(HELPERS), 'connectionState', ...names];
  const args = [...Object.values(HELPERS), part?.connectionState, ...writers];
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(...params, `return function (dv, b, o) {\n${top}\n};`)(...args) as StructWriter;
}

/** Compiles the writer of a state part (see PartSpec); partWriter() keeps one per layout. */
export function compilePartWriter(layout: StructLayout, spec: PartSpec): StructWriter {
  return compileWriter(layout.fields, layout.abi.pointerSize, spec, layout.size);
}

const partWriters = new WeakMap<StructLayout, StructWriter>();

/** The writer of a state part, compiled once per layout. */
export function partWriter(layout: StructLayout, spec: PartSpec): StructWriter {
  let w = partWriters.get(layout);
  if (!w) partWriters.set(layout, (w = compilePartWriter(layout, spec)));
  return w;
}
