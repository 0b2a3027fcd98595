// The Volatility 3 symbol table: the shape of Volatility's ISF schema (6.2.0, with the producer that
// 6.3.0 requires), every reference resolved, and every member where `layout --json` puts it, read
// the way Volatility 3 reads an ISF (anonymous fields lifted into their parent, named ones nested).
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ISF_FORMAT, isfDocument, isfSpec, isfTypeName } from '../../src/export/isf.js';
import { type Abi, X64, X86 } from '../../src/layout/abi.js';
import { OFFLOAD_STATE_TYPE, TCP_OFFLOAD_CONNECTION_STATE } from '../../src/layout/constants.js';
import { NDIS_REVISIONS, type NdisRevision } from '../../src/layout/descriptor.js';
import type { LayoutJson, LayoutJsonField } from '../../src/layout/describe.js';
import { STRUCTS } from '../../src/layout/registry.js';

type Json = unknown;
type Obj = Record<string, Json>;
const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: Json): v is number => Number.isInteger(v);

/**
 * A compact structural check with the rules of volatility3/schemas/schema-6.x.json: required and
 * allowed keys, value types and patterns of metadata, base_types, user_types (fields and type
 * descriptors), enums and symbols. Returns the problems, [] when the document conforms.
 */
function schemaProblems(doc: Json): string[] {
  const problems: string[] = [];
  const fail = (path: string, what: string): void => void problems.push(`${path}: ${what}`);
  const keys = (path: string, o: Json, required: string[], allowed: string[]): o is Obj => {
    if (!isObj(o)) return fail(path, 'not an object'), false;
    for (const k of required) if (!(k in o)) fail(path, `missing ${k}`);
    for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(path, `unexpected ${k}`);
    return true;
  };
  const str = (path: string, v: Json, pattern?: RegExp): void => {
    if (typeof v !== 'string') fail(path, 'not a string');
    else if (pattern && !pattern.test(v)) fail(path, `'${v}' does not match ${pattern}`);
  };
  const int = (path: string, v: Json): void => void (isInt(v) || fail(path, 'not an integer'));

  const typeDescriptor = (path: string, t: Json): void => {
    if (!isObj(t)) return fail(path, 'not a type descriptor');
    switch (t.kind) {
      case 'pointer':
        if (keys(path, t, ['kind', 'subtype'], ['kind', 'subtype', 'base'])) typeDescriptor(`${path}.subtype`, t.subtype);
        if ('base' in t) str(`${path}.base`, t.base);
        return;
      case 'base':
      case 'enum':
        if (keys(path, t, ['kind', 'name'], ['kind', 'name'])) str(`${path}.name`, t.name);
        return;
      case 'struct':
      case 'union':
      case 'class':
        if (keys(path, t, ['kind', 'name'], ['kind', 'name'])) str(`${path}.name`, t.name);
        return;
      case 'array':
        if (keys(path, t, ['kind', 'subtype', 'count'], ['kind', 'subtype', 'count'])) {
          int(`${path}.count`, t.count);
          typeDescriptor(`${path}.subtype`, t.subtype);
        }
        return;
      case 'function':
        keys(path, t, ['kind'], ['kind']);
        return;
      case 'bitfield':
        if (keys(path, t, ['kind', 'bit_position', 'bit_length', 'type'], ['kind', 'bit_position', 'bit_length', 'type'])) {
          int(`${path}.bit_position`, t.bit_position);
          int(`${path}.bit_length`, t.bit_length);
          if (!isObj(t.type) || (t.type.kind !== 'base' && t.type.kind !== 'enum')) fail(`${path}.type`, 'a bitfield is of a base or enum type');
          else typeDescriptor(`${path}.type`, t.type);
        }
        return;
      default:
        fail(path, `unknown kind ${String(t.kind)}`);
    }
  };

  if (!keys('$', doc, ['metadata', 'base_types', 'user_types', 'enums', 'symbols'], ['metadata', 'base_types', 'user_types', 'enums', 'symbols'])) return problems;
  if (keys('$.metadata', doc.metadata, ['format', 'producer'], ['format', 'producer', 'windows', 'linux', 'mac'])) {
    str('$.metadata.format', doc.metadata.format, /^6\.[0-9]+\.[0-9]+$/);
    const p = doc.metadata.producer;
    if (keys('$.metadata.producer', p, ['name', 'version'], ['name', 'version', 'datetime'])) {
      str('$.metadata.producer.name', p.name);
      str('$.metadata.producer.version', p.version, /^[0-9]+.[0-9]+.[0-9]+$/);
    }
  }
  for (const [name, b] of Object.entries(isObj(doc.base_types) ? doc.base_types : {})) {
    const path = `$.base_types['${name}']`;
    if (!keys(path, b, ['size', 'kind', 'signed', 'endian'], ['size', 'kind', 'signed', 'endian'])) continue;
    int(`${path}.size`, b.size);
    str(`${path}.kind`, b.kind, /^(void|int|float|char|bool)$/);
    if (typeof b.signed !== 'boolean') fail(`${path}.signed`, 'not a boolean');
    str(`${path}.endian`, b.endian, /^(little|big)$/);
  }
  for (const [name, u] of Object.entries(isObj(doc.user_types) ? doc.user_types : {})) {
    const path = `$.user_types['${name}']`;
    if (!keys(path, u, ['kind', 'size', 'fields'], ['kind', 'size', 'fields'])) continue;
    str(`${path}.kind`, u.kind, /^(struct|union|class)$/);
    int(`${path}.size`, u.size);
    if (!isObj(u.fields)) fail(`${path}.fields`, 'not an object');
    for (const [fname, f] of Object.entries(isObj(u.fields) ? u.fields : {})) {
      const fpath = `${path}.fields.${fname}`;
      if (!keys(fpath, f, ['type', 'offset'], ['type', 'offset', 'anonymous'])) continue;
      int(`${fpath}.offset`, f.offset);
      if ('anonymous' in f && typeof f.anonymous !== 'boolean') fail(`${fpath}.anonymous`, 'not a boolean');
      typeDescriptor(`${fpath}.type`, f.type);
    }
  }
  for (const [name, e] of Object.entries(isObj(doc.enums) ? doc.enums : {})) {
    const path = `$.enums['${name}']`;
    if (!keys(path, e, ['size', 'base', 'constants'], ['size', 'base', 'constants'])) continue;
    int(`${path}.size`, e.size);
    str(`${path}.base`, e.base);
    if (!isObj(e.constants)) fail(`${path}.constants`, 'not an object');
    else for (const [c, v] of Object.entries(e.constants)) int(`${path}.constants.${c}`, v);
  }
  if (!isObj(doc.symbols)) fail('$.symbols', 'not an object');
  return problems;
}

interface IsfLike {
  base_types: Record<string, { size: number; signed: boolean; kind: string }>;
  user_types: Record<string, { kind: string; size: number; fields: Record<string, { offset: number; type: Obj; anonymous?: boolean }> }>;
  enums: Record<string, { size: number; base: string; constants: Record<string, number> }>;
}

/** Every name a type descriptor uses, resolved; its size in bytes (a bitfield: its storage unit). */
function sizeOf(isf: IsfLike, t: Obj, path: string): number {
  switch (t.kind) {
    case 'base': {
      const b = isf.base_types[t.name as string];
      expect(b, `${path}: base type ${String(t.name)}`).toBeDefined();
      return b!.size;
    }
    case 'pointer':
      sizeOf(isf, t.subtype as Obj, `${path}.subtype`);
      return isf.base_types.pointer!.size;
    case 'array':
      return (t.count as number) * sizeOf(isf, t.subtype as Obj, `${path}[]`);
    case 'struct':
    case 'union': {
      const u = isf.user_types[t.name as string];
      expect(u, `${path}: user type ${String(t.name)}`).toBeDefined();
      expect(u!.kind, `${path}: ${String(t.name)} is a ${u!.kind}`).toBe(t.kind);
      return u!.size;
    }
    case 'enum': {
      const e = isf.enums[t.name as string];
      expect(e, `${path}: enum ${String(t.name)}`).toBeDefined();
      expect(isf.base_types[e!.base]?.size, `${path}: enum base ${e!.base}`).toBe(e!.size);
      return e!.size;
    }
    case 'bitfield':
      return sizeOf(isf, t.type as Obj, `${path}.type`);
    default:
      throw new Error(`${path}: kind ${String(t.kind)}`);
  }
}

/** The C spelling of an ISF type, as `layout --json` writes it (several typedefs share a base type). */
function cSpellings(t: Obj): string[] {
  switch (t.kind) {
    case 'base':
      return (
        { 'unsigned char': ['UCHAR'], 'unsigned short': ['USHORT'], 'unsigned long': ['ULONG', 'NDIS_PORT_NUMBER'], long: ['NDIS_STATUS'] } as Record<string, string[]>
      )[t.name as string] ?? [];
    case 'enum':
    case 'struct':
    case 'union':
      return (t.name as string).includes('::') ? ['struct'] : [(t.name as string).replace(/^_/, '')];
    case 'bitfield':
      return cSpellings(t.type as Obj);
    case 'array':
      return cSpellings(t.subtype as Obj).map((s) => `${s}[${t.count as number}]`);
    case 'pointer': {
      const s = t.subtype as Obj;
      if (s.kind === 'base' && s.name === 'void') return ['PVOID', 'NDIS_HANDLE'];
      if (s.kind === 'pointer' && (s.subtype as Obj).kind === 'base' && (s.subtype as Obj).name === 'void') return ['PVOID*'];
      return cSpellings(s).map((x) => `${x}*`);
    }
    default:
      return [];
  }
}

/**
 * The members of a user type as Volatility 3 (ISF 6.2.0 and later) sees them: a field marked
 * `anonymous` is replaced by the fields of its type, at its offset (volatility3's _reduce_fields);
 * absolute offsets; named struct members nested, as `layout --json` nests them.
 */
function flatten(isf: IsfLike, typeName: string, at: number, path: string): LayoutJsonField[] {
  const u = isf.user_types[typeName];
  expect(u, `${path}: ${typeName}`).toBeDefined();
  const out: LayoutJsonField[] = [];
  for (const [name, f] of Object.entries(u!.fields)) {
    const offset = at + f.offset;
    const fpath = `${path}.${name}`;
    if (f.anonymous) {
      out.push(...flatten(isf, f.type.name as string, offset, fpath));
      continue;
    }
    const spellings = cSpellings(f.type);
    const entry: LayoutJsonField & { spellings: string[] } = { name, offset, size: sizeOf(isf, f.type, fpath), type: '', spellings };
    if (f.type.kind === 'bitfield') {
      entry.bitOffset = f.type.bit_position as number;
      entry.bitWidth = f.type.bit_length as number;
    }
    if (f.type.kind === 'struct' || f.type.kind === 'union') entry.fields = flatten(isf, f.type.name as string, offset, fpath);
    out.push(entry);
  }
  return out;
}

function compare(actual: LayoutJsonField[], expected: LayoutJsonField[], path: string): number {
  expect(actual.map((f) => f.name), `${path}: members in order`).toEqual(expected.map((f) => f.name));
  let n = 0;
  for (const [i, e] of expected.entries()) {
    const a = actual[i]! as LayoutJsonField & { spellings: string[] };
    const at = `${path}.${e.name}`;
    expect({ offset: a.offset, size: a.size, bitOffset: a.bitOffset, bitWidth: a.bitWidth }, at).toEqual({
      offset: e.offset,
      size: e.size,
      bitOffset: e.bitOffset,
      bitWidth: e.bitWidth,
    });
    expect(a.spellings, `${at}: ISF type for ${e.type}`).toContain(e.type);
    n += 1 + (e.fields ? compare(a.fields ?? [], e.fields, at) : 0);
  }
  return n;
}

async function layoutJson(abi: Abi, ndis: NdisRevision): Promise<LayoutJson[]> {
  let out = '';
  let err = '';
  const code = await main(['layout', '--json', '--abi', abi.name, '--ndis', ndis], { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  expect({ code, err }).toEqual({ code: 0, err: '' });
  return JSON.parse(out) as LayoutJson[];
}

describe('the Volatility 3 symbol table (ISF)', () => {
  for (const abi of [X64, X86]) {
    for (const ndis of NDIS_REVISIONS) {
      it(`${abi.name}, NDIS ${ndis}: has the shape of Volatility's ISF schema, every reference resolved`, () => {
        const doc = JSON.parse(isfSpec(abi, ndis)) as Json;
        expect(schemaProblems(doc)).toEqual([]);
        const isf = doc as IsfLike & { metadata: { format: string } };
        expect(isf.metadata.format).toBe(ISF_FORMAT);
        expect(isf.base_types.pointer).toEqual({ kind: 'int', size: abi.pointerSize, signed: false, endian: 'little' });
        for (const [name, u] of Object.entries(isf.user_types)) {
          let extent = 0;
          for (const [fname, f] of Object.entries(u.fields)) {
            const size = sizeOf(isf, f.type, `${name}.${fname}`);
            if (f.anonymous) expect(['struct', 'union'], `${name}.${fname}`).toContain(f.type.kind);
            extent = Math.max(extent, f.offset + size);
          }
          expect(extent, `${name}: members fit the size`).toBeLessThanOrEqual(u.size);
        }
        expect(isf.enums[isfTypeName('TCP_OFFLOAD_CONNECTION_STATE')]!.constants.TcpConnectionEstablished).toBe(TCP_OFFLOAD_CONNECTION_STATE.indexOf('TcpConnectionEstablished'));
        expect(isf.enums[isfTypeName('OFFLOAD_STATE_TYPE')]!.constants.TcpOffloadState).toBe(OFFLOAD_STATE_TYPE.find((t) => t.name === 'TcpOffloadState')!.value);
      });

      it(`${abi.name}, NDIS ${ndis}: every member at the offset, size and bits of \`layout --json\``, async () => {
        const isf = isfDocument(abi, ndis) as unknown as IsfLike;
        let members = 0;
        for (const layout of await layoutJson(abi, ndis)) {
          const name = isfTypeName(layout.name);
          expect(isf.user_types[name]?.size, `${name}: size`).toBe(layout.size);
          expect(isf.user_types[name]?.kind).toBe('struct');
          members += compare(flatten(isf, name, 0, name), layout.fields, name);
        }
        expect(members).toBeGreaterThan(150);
        // Every structure is there, under its C tag; the unnamed types under their member's name.
        expect(Object.keys(isf.user_types)).toEqual(expect.arrayContaining([
          ...STRUCTS.map((s) => isfTypeName(s.name)),
          '_TCP_OFFLOAD_STATE_DELEGATED::KeepAlive',
          '_TCP_OFFLOAD_STATE_DELEGATED::Retransmit',
        ]));
        const unions = Object.entries(isf.user_types).filter(([, u]) => u.kind === 'union').map(([n]) => n);
        expect(unions).toHaveLength(2);
      });
    }
  }

  it('is the same text every time (no date in the producer)', () => {
    expect(isfSpec(X64, '6.1')).toBe(isfSpec(X64, '6.1'));
    expect(JSON.parse(isfSpec(X64, '6.1')).metadata.producer).toEqual({ name: 'ndis-offload', version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
  });
});
