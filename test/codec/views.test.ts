/**
 * The generated views against the layout-driven copying codec (readStruct / writeStruct), for every
 * structure, both ABIs and both NDIS revisions: getters read what readStruct reads, setters write
 * what writeStruct writes and nothing else. Plus: the committed generated files are up to date.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emitViews, viewModuleName } from '../../src/codec/gen/emit-views.js';
import { readStruct, writeStruct, type PlainStruct, type PlainValue } from '../../src/codec/struct-io.js';
import { viewsFor } from '../../src/codec/views.js';
import { ABIS, type Abi } from '../../src/layout/abi.js';
import { NDIS_REVISIONS, SCALARS, type TypeRef } from '../../src/layout/descriptor.js';
import type { PlacedField, StructLayout } from '../../src/layout/msvc.js';
import { STRUCTS, layoutOf } from '../../src/layout/registry.js';

// Views are accessed by member name, as the walk over PlacedFields finds them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Dyn = any;

const isBytes = (f: PlacedField): boolean =>
  f.type.kind === 'array' && f.type.of.kind === 'scalar' && f.type.of.name === 'UCHAR';

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
    if (isBytes(f)) return fc.uint8Array({ minLength: count, maxLength: count });
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

/** expect(a).toEqual(b) for byte arrays, without the deep-equality cost when they are equal. */
function expectSameBytes(a: Uint8Array, b: Uint8Array, message?: string): void {
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) expect(Array.from(a), message).toEqual(Array.from(b));
}

// ---- the walk over PlacedFields through a view ----

/** Everything a view's getters give, as a plain object shaped like readStruct's. */
function readViaView(fields: readonly PlacedField[], view: Dyn): PlainStruct {
  const o: PlainStruct = {};
  for (const f of fields) {
    if (f.fields) o[f.name] = readViaView(f.fields, view[f.name]);
    else if (isBytes(f)) o[f.name] = Uint8Array.from(view[f.name] as Uint8Array);
    else if (f.type.kind === 'array') o[f.name] = Array.from({ length: f.type.count }, (_, i) => view[f.name](i));
    else o[f.name] = view[f.name];
  }
  return o;
}

/** Writes the members present in `plain` through the view's setters. */
function writeViaView(fields: readonly PlacedField[], view: Dyn, plain: PlainStruct): void {
  for (const f of fields) {
    if (!(f.name in plain)) continue;
    const v = plain[f.name]!;
    if (f.fields) writeViaView(f.fields, view[f.name], v as PlainStruct);
    else if (isBytes(f)) (view[f.name] as Uint8Array).set(v as Uint8Array);
    else if (f.type.kind === 'array') (v as PlainValue[]).forEach((e, i) => view[`set${f.name}`](i, e));
    else view[f.name] = v;
  }
}

/** One settable thing: a member (or an array element) with the path of nested members to it. */
interface Leaf {
  path: readonly PlacedField[];
  field: PlacedField;
  index?: number;
  value: PlainValue;
}

function leavesOf(fields: readonly PlacedField[], plain: PlainStruct, path: readonly PlacedField[] = []): Leaf[] {
  const out: Leaf[] = [];
  for (const f of fields) {
    if (!(f.name in plain)) continue;
    const v = plain[f.name]!;
    if (f.fields) out.push(...leavesOf(f.fields, v as PlainStruct, [...path, f]));
    else if (f.type.kind === 'array' && !isBytes(f)) (v as PlainValue[]).forEach((e, i) => out.push({ path, field: f, index: i, value: e }));
    else out.push({ path, field: f, value: v });
  }
  return out;
}

/** Bits a leaf may change, per byte of the structure (relative to `base`). */
function allowedMask(leaf: Leaf, size: number): Uint8Array {
  const mask = new Uint8Array(size);
  const f = leaf.field;
  if (f.bitWidth !== undefined) {
    for (let bit = f.bitOffset!; bit < f.bitOffset! + f.bitWidth; bit++) mask[f.offset + (bit >> 3)]! |= 1 << (bit & 7);
  } else if (leaf.index !== undefined && f.type.kind === 'array') {
    const stride = f.size / f.type.count;
    mask.fill(0xff, f.offset + leaf.index * stride, f.offset + (leaf.index + 1) * stride);
  } else {
    mask.fill(0xff, f.offset, f.offset + f.size);
  }
  return mask;
}

/** The same single-member write as a writeStruct object: {Outer: {Inner: v}}; arrays keep their other elements. */
function leafObject(leaf: Leaf, current: PlainStruct): PlainStruct {
  let v: PlainValue = leaf.value;
  let here: PlainStruct = current;
  for (const p of leaf.path) here = here[p.name] as PlainStruct;
  if (leaf.index !== undefined) {
    const arr = [...(here[leaf.field.name] as PlainValue[])];
    arr[leaf.index] = v;
    v = arr;
  }
  let o: PlainStruct = { [leaf.field.name]: v };
  for (const p of [...leaf.path].reverse()) o = { [p.name]: o };
  return o;
}

function setLeaf(view: Dyn, leaf: Leaf): void {
  let v: Dyn = view;
  for (const p of leaf.path) v = v[p.name];
  const f = leaf.field;
  if (isBytes(f)) (v[f.name] as Uint8Array).set(leaf.value as Uint8Array);
  else if (leaf.index !== undefined) v[`set${f.name}`](leaf.index, leaf.value);
  else v[f.name] = leaf.value;
}

function getLeaf(view: Dyn, leaf: Leaf): PlainValue {
  let v: Dyn = view;
  for (const p of leaf.path) v = v[p.name];
  const f = leaf.field;
  if (isBytes(f)) return Uint8Array.from(v[f.name] as Uint8Array);
  if (leaf.index !== undefined) return v[f.name](leaf.index);
  return v[f.name];
}

// ---------------------------------------------------------------------------------------------

const CASES = ABIS.flatMap((abi) => NDIS_REVISIONS.flatMap((ndis) => STRUCTS.map((s) => ({ abi, ndis, name: s.name }))));

function newView(abi: Abi, layout: StructLayout): Dyn {
  const Cls = (viewsFor(abi, layout.ndis) as Dyn)[layout.name];
  expect(Cls, `no generated view for ${layout.name}`).toBeDefined();
  return new Cls();
}

describe.each(CASES)('view $name ($abi.name, NDIS $ndis)', ({ abi, ndis, name }) => {
  const layout = layoutOf(name, abi, ndis);
  const ptrSize = abi.pointerSize;
  const MARGIN = 16; // the structure sits at a random offset inside a larger buffer

  it('has the layout size and alignment', () => {
    const Cls = (viewsFor(abi, ndis) as Dyn)[name];
    expect(Cls.size).toBe(layout.size);
    expect(Cls.align).toBe(layout.align);
  });

  it('getters give what readStruct gives', () => {
    const view = newView(abi, layout);
    fc.assert(
      fc.property(bytesArb(layout.size + MARGIN), fc.nat(MARGIN), (bytes, base) => {
        const dv = dvOf(bytes);
        expect(readViaView(layout.fields, view.at(dv, base))).toEqual(readStruct(layout, dv, base));
      }),
    );
  });

  it('setters write the bytes writeStruct writes', () => {
    const view = newView(abi, layout);
    fc.assert(
      fc.property(plainArb(layout.fields, ptrSize), fc.nat(MARGIN), (plain, base) => {
        const viaView = new Uint8Array(layout.size + MARGIN);
        const viaWrite = new Uint8Array(layout.size + MARGIN);
        writeViaView(layout.fields, view.at(dvOf(viaView), base), plain);
        writeStruct(layout, dvOf(viaWrite), base, plain);
        expectSameBytes(viaView, viaWrite);
      }),
    );
  });

  it('each setter touches only its own bytes (bit-fields: only their bits) and reads back', () => {
    const view = newView(abi, layout);
    fc.assert(
      fc.property(bytesArb(layout.size + MARGIN), fc.nat(MARGIN), plainArb(layout.fields, ptrSize), (bytes, base, plain) => {
        const current = readStruct(layout, dvOf(bytes), base);
        for (const leaf of leavesOf(layout.fields, plain)) {
          const what = `${[...leaf.path, leaf.field].map((p) => p.name).join('.')}${leaf.index === undefined ? '' : `[${leaf.index}]`}`;
          const after = bytes.slice();
          setLeaf(view.at(dvOf(after), base), leaf);
          const back = getLeaf(view, leaf);
          if (back instanceof Uint8Array) expectSameBytes(back, leaf.value as Uint8Array, `${what} reads back`);
          else if (back !== leaf.value) expect(back, `${what} reads back`).toBe(leaf.value);

          const mask = allowedMask(leaf, layout.size);
          for (let i = 0; i < after.length; i++) {
            const rel = i - base;
            const allowed = rel >= 0 && rel < layout.size ? mask[rel]! : 0;
            if (((bytes[i]! ^ after[i]!) & ~allowed) !== 0) {
              expect.fail(`${what}: byte ${rel} changed outside the member (${bytes[i]} -> ${after[i]}, allowed mask 0x${allowed.toString(16)})`);
            }
          }

          const viaWrite = bytes.slice();
          writeStruct(layout, dvOf(viaWrite), base, leafObject(leaf, current));
          expectSameBytes(after, viaWrite, `${what}: same bytes as writeStruct`);
        }
      }),
    );
  });
});

describe('generated views', () => {
  it('STRUCT_VIEWS has exactly the structures of STRUCTS', () => {
    for (const abi of ABIS) {
      for (const ndis of NDIS_REVISIONS) {
        expect(Object.keys(viewsFor(abi, ndis)).sort()).toEqual(STRUCTS.map((s) => s.name).sort());
      }
    }
  });

  it.each(ABIS.flatMap((abi) => NDIS_REVISIONS.map((ndis) => ({ abi, ndis }))))(
    'src/codec/generated for $abi.name NDIS $ndis is up to date',
    ({ abi, ndis }) => {
      const file = new URL(`../../src/codec/generated/${viewModuleName(abi, ndis)}.ts`, import.meta.url);
      const committed = readFileSync(file, 'utf8');
      expect(committed === emitViews(abi, ndis), `src/codec/generated/${viewModuleName(abi, ndis)}.ts is stale: run \`npm run generate\``).toBe(true);
    },
  );
});
