/**
 * The layout engine's edges, member by member with exact values: union ids and alternatives
 * (nested unions, anonymous structs in unions, unions in nested structures, members after a union),
 * union size against struct size, NDIS-revision gating, the C type names of placed members, whole
 * error messages, frozen results, the descriptor helpers and the C declarations of small
 * test-only structures.
 *
 * Offsets and sizes are what gcc -mms-bitfields (and -m32) computes for the same declarations
 * (checked once with test/support/layout-probe.ts; no compiler runs here, so these tests stay fast).
 * Layouts come from placeStruct, never from registry's cache, so each test computes what it checks.
 */
import { describe, expect, it } from 'vitest';
import { LayoutError, OffloadError, UsageError } from '../../src/errors.js';
import { X64, X86, type Abi } from '../../src/layout/abi.js';
import { cDeclaration, cDeclarations } from '../../src/layout/c-decl.js';
import { layoutToJson, windbgType } from '../../src/layout/describe.js';
import {
  NDIS_HANDLE,
  NDIS_PORT_NUMBER,
  PVOID,
  UCHAR,
  ULONG,
  USHORT,
  anonStruct,
  array,
  bits,
  enumRef,
  field,
  inline,
  pointer,
  struct,
  structRef,
  union,
  NDIS_REVISIONS,
  type NdisRevision,
  type StructDescriptor,
} from '../../src/layout/descriptor.js';
import { placeStruct, type PlacedField, type StructLayout } from '../../src/layout/msvc.js';
import { gate } from '../support/cc.js';
import { compareLayout, compilerLayouts } from '../support/layout-probe.js';
import { descriptorOf } from '../../src/layout/registry.js';

const errorOf = (fn: () => unknown): OffloadError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof OffloadError) return e;
    throw e;
  }
  throw new Error('expected an error, got none');
};

/**
 * One line a member, depth first: `path ctype @offset size` then `bits pos+width` for bit-fields
 * and `u<id>.<alternative>` for members of an anonymous union.
 */
function table(fields: readonly PlacedField[], prefix = ''): string[] {
  return fields.flatMap((f) => {
    const bitPart = f.bitOffset !== undefined || f.bitWidth !== undefined ? ` bits ${f.bitOffset}+${f.bitWidth}` : '';
    const unionPart = 'union' in f ? ` u${f.union?.id}.${f.union?.alternative}` : '';
    const line = `${prefix}${f.name} ${f.ctype} @${f.offset} ${f.size}${bitPart}${unionPart}`;
    return [line, ...(f.fields ? table(f.fields, `${prefix}${f.name}.`) : [])];
  });
}

const summary = (l: StructLayout): string => `${l.name} ${l.abi.name} ${l.ndis}: size ${l.size}, align ${l.align}`;

// ---- test-only structures ----

/** Two anonymous unions with members after each; in the first, an anonymous struct, a nested union and bit-fields. */
const UIDS = struct('UIDS', 'union ids', [
  field('lead', UCHAR),
  union(
    anonStruct(field('x', UCHAR), field('p', PVOID)),
    union(field('m', ULONG), field('n', USHORT)),
    bits('b', ULONG, 3),
    bits('c', ULONG, 5),
    field('w', USHORT),
  ),
  field('mid', UCHAR),
  union(field('q', ULONG), field('r', UCHAR)),
  field('tail', UCHAR),
]);

/** UIDS by value, then a union of its own: union ids are unique within the whole layout. */
const OUTER = struct('OUTER', 'holds UIDS', [
  field('h', UCHAR),
  field('inner', structRef('UIDS')),
  union(field('s', ULONG), field('t', UCHAR)),
]);

/** A top-level union whose last member is its smallest: the size is the largest member's. */
const TOPU: StructDescriptor = {
  name: 'TOPU',
  aggregate: 'union',
  doc: 'a union',
  members: [field('big', array(ULONG, 3)), bits('lo', ULONG, 3), bits('hi', ULONG, 5), field('small', UCHAR)],
};

/** Members of NDIS 6.1 (in the struct, in a union, in an inline struct, a whole union) and one of 6.0. */
const REV = struct('REV', 'revisions', [
  field('a', UCHAR),
  field('b', ULONG, { since: '6.1' }),
  field('c', UCHAR, { since: '6.0' }),
  union(field('d', USHORT, { since: '6.1' }), field('e', UCHAR)),
  field('k', inline(field('k1', UCHAR), field('k2', PVOID, { since: '6.1' }))),
  union(field('z', ULONG, { since: '6.1' })),
  field('f', UCHAR),
]);

/** Every kind of type, for the C type names. */
const KINDS = struct('KINDS', 'kinds', [
  field('one', array(ULONG, 1)),
  field('e', enumRef('TCP_OFFLOAD_CONNECTION_STATE')),
  field('s', structRef('UIDS')),
  field('h', NDIS_HANDLE),
  field('o', pointer('OPAQUE')),
  field('pp', pointer('PVOID')),
  field('ap', array(pointer('OPAQUE'), 2)),
  field('k', inline(field('c', UCHAR))),
]);

const TEST_STRUCTS = [UIDS, OUTER, TOPU, REV, KINDS];

/** Arrays of arrays: C's T[2][3] is two arrays of three T. */
const GRID = struct('GRID', '', [field('grid', array(array(UCHAR, 3), 2)), field('cube', array(array(array(USHORT, 4), 3), 2))]);
const byName = new Map(TEST_STRUCTS.map((s) => [s.name, s]));
const place = (d: StructDescriptor, abi: Abi, ndis: NdisRevision = '6.1'): StructLayout =>
  placeStruct(d, abi, ndis, (n) => byName.get(n));

describe('anonymous unions: ids and alternatives of the placed members', () => {
  it('x64: an anonymous struct is one alternative, a nested union has its own id, members after a union have none', () => {
    const l = place(UIDS, X64);
    expect(summary(l)).toBe('UIDS x64 6.1: size 40, align 8');
    expect(table(l.fields)).toEqual([
      'lead UCHAR @0 1',
      'x UCHAR @8 1 u0.0',
      'p PVOID @16 8 u0.0',
      'm ULONG @8 4 u1.0',
      'n USHORT @8 2 u1.1',
      'b ULONG @8 4 bits 0+3 u0.2',
      'c ULONG @8 4 bits 0+5 u0.3', // a union's bit-fields each start a unit of their own
      'w USHORT @8 2 u0.4',
      'mid UCHAR @24 1',
      'q ULONG @28 4 u2.0',
      'r UCHAR @28 1 u2.1',
      'tail UCHAR @32 1',
    ]);
  });

  it('x86: the same ids, the union aligned to 4', () => {
    const l = place(UIDS, X86);
    expect(summary(l)).toBe('UIDS x86 6.1: size 24, align 4');
    expect(table(l.fields)).toEqual([
      'lead UCHAR @0 1',
      'x UCHAR @4 1 u0.0',
      'p PVOID @8 4 u0.0',
      'm ULONG @4 4 u1.0',
      'n USHORT @4 2 u1.1',
      'b ULONG @4 4 bits 0+3 u0.2',
      'c ULONG @4 4 bits 0+5 u0.3',
      'w USHORT @4 2 u0.4',
      'mid UCHAR @12 1',
      'q ULONG @16 4 u2.0',
      'r UCHAR @16 1 u2.1',
      'tail UCHAR @20 1',
    ]);
  });

  it('ids stay unique across a nested structure: its unions are 0-2, the outer one 3', () => {
    const l = place(OUTER, X64);
    expect(summary(l)).toBe('OUTER x64 6.1: size 56, align 8');
    expect(table(l.fields)).toEqual([
      'h UCHAR @0 1',
      'inner UIDS @8 40',
      'inner.lead UCHAR @8 1',
      'inner.x UCHAR @16 1 u0.0',
      'inner.p PVOID @24 8 u0.0',
      'inner.m ULONG @16 4 u1.0',
      'inner.n USHORT @16 2 u1.1',
      'inner.b ULONG @16 4 bits 0+3 u0.2',
      'inner.c ULONG @16 4 bits 0+5 u0.3',
      'inner.w USHORT @16 2 u0.4',
      'inner.mid UCHAR @32 1',
      'inner.q ULONG @36 4 u2.0',
      'inner.r UCHAR @36 1 u2.1',
      'inner.tail UCHAR @40 1',
      's ULONG @48 4 u3.0',
      't UCHAR @48 1 u3.1',
    ]);
    const x86 = place(OUTER, X86);
    expect(summary(x86)).toBe('OUTER x86 6.1: size 32, align 4');
    expect(table(x86.fields).filter((r) => !r.startsWith('inner.'))).toEqual([
      'h UCHAR @0 1',
      'inner UIDS @4 24',
      's ULONG @28 4 u3.0',
      't UCHAR @28 1 u3.1',
    ]);
  });

  it('a top-level union: every member is an alternative of union 0 at offset 0; its size is the largest member', () => {
    for (const abi of [X64, X86]) {
      const l = place(TOPU, abi);
      expect(summary(l)).toBe(`TOPU ${abi.name} 6.1: size 12, align 4`);
      expect(table(l.fields)).toEqual([
        'big ULONG[3] @0 12 u0.0',
        'lo ULONG @0 4 bits 0+3 u0.1',
        'hi ULONG @0 4 bits 0+5 u0.2',
        'small UCHAR @0 1 u0.3',
      ]);
    }
  });

  it('an anonymous union that ends in its smallest member is as large as its largest', () => {
    const l = place(
      struct('SHRINK', '', [union(field('big', array(USHORT, 5)), field('one', UCHAR)), field('after', UCHAR)]),
      X64,
    );
    expect(summary(l)).toBe('SHRINK x64 6.1: size 12, align 2');
    expect(table(l.fields)).toEqual(['big USHORT[5] @0 10 u0.0', 'one UCHAR @0 1 u0.1', 'after UCHAR @10 1']);
  });
});

describe('NDIS revisions: members declared since a revision', () => {
  it('NDIS 6.0 leaves out the 6.1 members, keeps the 6.0 one, and a skipped member takes no alternative number', () => {
    for (const abi of [X64, X86]) {
      const l = place(REV, abi, '6.0');
      expect(summary(l)).toBe(`REV ${abi.name} 6.0: size 5, align 1`);
      expect(table(l.fields)).toEqual([
        'a UCHAR @0 1',
        'c UCHAR @1 1',
        'e UCHAR @2 1 u0.0',
        'k struct @3 1',
        'k.k1 UCHAR @3 1',
        // the second union has only 6.1 members: under 6.0 it takes no room (as gcc lays it out)
        'f UCHAR @4 1',
      ]);
    }
  });

  it('NDIS 6.1 has every member, those declared since 6.1 included', () => {
    const l64 = place(REV, X64, '6.1');
    expect(summary(l64)).toBe('REV x64 6.1: size 40, align 8');
    expect(table(l64.fields)).toEqual([
      'a UCHAR @0 1',
      'b ULONG @4 4',
      'c UCHAR @8 1',
      'd USHORT @10 2 u0.0',
      'e UCHAR @10 1 u0.1',
      'k struct @16 16',
      'k.k1 UCHAR @16 1',
      'k.k2 PVOID @24 8',
      'z ULONG @32 4 u1.0',
      'f UCHAR @36 1',
    ]);
    const l86 = place(REV, X86, '6.1');
    expect(summary(l86)).toBe('REV x86 6.1: size 28, align 4');
    expect(table(l86.fields)).toEqual([
      'a UCHAR @0 1',
      'b ULONG @4 4',
      'c UCHAR @8 1',
      'd USHORT @10 2 u0.0',
      'e UCHAR @10 1 u0.1',
      'k struct @12 8',
      'k.k1 UCHAR @12 1',
      'k.k2 PVOID @16 4',
      'z ULONG @20 4 u1.0',
      'f UCHAR @24 1',
    ]);
  });

  it('a structure whose only members are of a later revision is empty under the earlier one, not refused', () => {
    const later = struct('LATER', '', [field('only', ULONG, { since: '6.1' })]);
    const l = placeStruct(later, X64, '6.0', () => undefined);
    expect([l.size, l.align, l.fields]).toEqual([0, 1, []]);
    expect(table(placeStruct(later, X64, '6.1', () => undefined).fields)).toEqual(['only ULONG @0 4']);
  });

  it('the C declaration of each revision has exactly its members', () => {
    const rev = struct('REVC', 'revisions', [
      field('a', UCHAR),
      field('b', ULONG, { since: '6.1' }),
      field('c', UCHAR, { since: '6.0' }),
      union(field('d', USHORT, { since: '6.1' }), field('e', UCHAR)),
      field('k', inline(field('k1', UCHAR), field('k2', PVOID, { since: '6.1' }))),
    ]);
    expect(cDeclaration(rev, '6.0')).toBe(
      '/* revisions */\n' +
        'struct REVC {\n' +
        '    uint8_t a;\n' +
        '    uint8_t c;\n' +
        '    union {\n' +
        '        uint8_t e;\n' +
        '    };\n' +
        '    struct {\n' +
        '        uint8_t k1;\n' +
        '    } k;\n' +
        '};\n',
    );
    expect(cDeclaration(rev, '6.1')).toBe(
      '/* revisions */\n' +
        'struct REVC {\n' +
        '    uint8_t a;\n' +
        '    uint32_t b;\n' +
        '    uint8_t c;\n' +
        '    union {\n' +
        '        uint16_t d;\n' +
        '        uint8_t e;\n' +
        '    };\n' +
        '    struct {\n' +
        '        uint8_t k1;\n' +
        '        void *k2;\n' +
        '    } k;\n' +
        '};\n',
    );
  });
});

describe('C type names of placed members (the `type` of layout --json)', () => {
  it('scalars, enums, structures, pointers with and without an alias, arrays, inline structs', () => {
    const rows = (abi: Abi) => table(place(KINDS, abi).fields).filter((r) => !r.startsWith('s.'));
    expect(rows(X64)).toEqual([
      'one ULONG[1] @0 4', // an array of one element is accepted
      'e TCP_OFFLOAD_CONNECTION_STATE @4 4',
      's UIDS @8 40',
      'h NDIS_HANDLE @48 8',
      'o OPAQUE* @56 8',
      'pp PVOID* @64 8',
      'ap OPAQUE*[2] @72 16',
      'k struct @88 1',
      'k.c UCHAR @88 1',
    ]);
    expect(rows(X86)).toEqual([
      'one ULONG[1] @0 4',
      'e TCP_OFFLOAD_CONNECTION_STATE @4 4',
      's UIDS @8 24',
      'h NDIS_HANDLE @32 4',
      'o OPAQUE* @36 4',
      'pp PVOID* @40 4',
      'ap OPAQUE*[2] @44 8',
      'k struct @52 1',
      'k.c UCHAR @52 1',
    ]);
    expect([place(KINDS, X64).size, place(KINDS, X86).size]).toEqual([96, 56]);
  });

  it('an array of arrays is named as C declares it: two arrays of three UCHAR are UCHAR[2][3]', () => {
    const grid = GRID;
    const l = placeStruct(grid, X64, '6.1', () => undefined);
    expect(table(l.fields)).toEqual(['grid UCHAR[2][3] @0 6', 'cube USHORT[2][3][4] @6 48']);
    // The C declaration (what gcc measures) agrees with the name.
    expect(cDeclaration(grid, '6.1')).toContain('uint8_t grid[2][3];');
    expect(cDeclaration(grid, '6.1')).toContain('uint16_t cube[2][3][4];');
  });

  it('layout --json: exactly the keys each kind of member has, in order', () => {
    const l = placeStruct(
      struct('J', 'json', [field('a', USHORT), bits('b', ULONG, 3), field('k', inline(field('c', UCHAR), field('p', PVOID)))]),
      X86,
      '6.0',
      () => undefined,
    );
    const json = layoutToJson(l);
    expect(json).toStrictEqual({
      name: 'J',
      abi: 'x86',
      ndis: '6.0',
      size: 16,
      align: 4,
      fields: [
        { name: 'a', offset: 0, size: 2, type: 'USHORT' },
        { name: 'b', offset: 4, size: 4, type: 'ULONG', bitOffset: 0, bitWidth: 3 },
        {
          name: 'k',
          offset: 8,
          size: 8,
          type: 'struct',
          fields: [
            { name: 'c', offset: 8, size: 1, type: 'UCHAR' },
            { name: 'p', offset: 12, size: 4, type: 'PVOID' },
          ],
        },
      ],
    });
    expect(json.fields.map((f) => Object.keys(f))).toEqual([
      ['name', 'offset', 'size', 'type'],
      ['name', 'offset', 'size', 'type', 'bitOffset', 'bitWidth'],
      ['name', 'offset', 'size', 'type', 'fields'],
    ]);
  });

  it('windbg spells NDIS_PORT_NUMBER as Uint4B', () => {
    expect(windbgType(NDIS_PORT_NUMBER, X64)).toBe('Uint4B');
    expect(windbgType(array(NDIS_PORT_NUMBER, 2), X86)).toBe('[2] Uint4B');
  });
});

describe('whole error messages', () => {
  const none = () => undefined;

  it('an array length that is not a positive integer', () => {
    for (const [count, text] of [
      [0, '0'],
      [1.5, '1.5'],
      [-2, '-2'],
    ] as const) {
      const e = errorOf(() => placeStruct(struct('ARR', '', [field('x', array(ULONG, count))]), X64, '6.1', none));
      expect(e).toBeInstanceOf(LayoutError);
      expect(e.message).toBe(`ARR.x: array length ${text} is not a positive integer`);
    }
  });

  it('no member: the structure, an anonymous union, an inline struct, a nested structure (named by itself)', () => {
    const msg = (d: StructDescriptor, resolve: (n: string) => StructDescriptor | undefined = none) => {
      const e = errorOf(() => placeStruct(d, X64, '6.1', resolve));
      expect(e).toBeInstanceOf(LayoutError);
      expect([(e as LayoutError).structName, (e as LayoutError).member, e.code]).toEqual([
        e.message.split('.')[0],
        '',
        'LAYOUT',
      ]);
      return e.message;
    };
    expect(msg(struct('EMPTY', '', []))).toBe('EMPTY.: a structure needs at least one member');
    expect(msg(struct('HOLE', '', [field('a', ULONG), union()]))).toBe('HOLE.: a structure needs at least one member');
    expect(msg(struct('BLANK', '', [field('k', inline())]))).toBe('BLANK.: a structure needs at least one member');
    const empty = struct('INNER', '', []);
    expect(msg(struct('HOST', '', [field('i', structRef('INNER'))]), (n) => (n === 'INNER' ? empty : undefined))).toBe(
      'INNER.: a structure needs at least one member',
    );
  });

  it('C declarations: a structure that contains itself, an unknown structure, an unknown enum', () => {
    const msg = (structs: StructDescriptor[]) => {
      const e = errorOf(() => cDeclarations(X64, '6.1', structs));
      expect(e).toBeInstanceOf(LayoutError);
      return e.message;
    };
    expect(msg([struct('SELF', '', [field('s', structRef('SELF'))])])).toBe('SELF.: contains itself');
    // A holds B by value (in an array), B holds A (in an inline struct): the cycle closes at A.
    expect(
      msg([
        struct('A', '', [field('b', array(structRef('B'), 2))]),
        struct('B', '', [field('k', inline(field('a', structRef('A'))))]),
      ]),
    ).toBe('A.: contains itself');
    expect(msg([struct('A', '', [field('b', structRef('B'))])])).toBe('A.: unknown type B');
    expect(msg([struct('E', '', [field('e', enumRef('NOPE'))])])).toBe('E.: unknown enum NOPE');
  });

  it('an unknown structure name gives the closest names, or lists the known ones, in order, when none is close', () => {
    const near = errorOf(() => descriptorOf('TCP_OFFLOAD_STATE_FULL'));
    expect(near).toBeInstanceOf(UsageError);
    expect(near.message).toBe(
      "unknown structure 'TCP_OFFLOAD_STATE_FULL' (did you mean TCP_OFFLOAD_STATE_CONST, TCP_OFFLOAD_STATE or TCP_OFFLOAD_STATE_CACHED?)",
    );
    const e = errorOf(() => descriptorOf('TCB'));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.code).toBe('USAGE');
    expect(e.message).toBe(
      "unknown structure 'TCB' (known: NDIS_OBJECT_HEADER, NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, " +
        'NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST, OFFLOAD_STATE_HEADER, NEIGHBOR_OFFLOAD_STATE_CONST, ' +
        'NEIGHBOR_OFFLOAD_STATE_CACHED, NEIGHBOR_OFFLOAD_STATE_DELEGATED, PATH_OFFLOAD_STATE_CONST, ' +
        'PATH_OFFLOAD_STATE_CACHED, PATH_OFFLOAD_STATE_DELEGATED, TCP_OFFLOAD_STATE_CONST, TCP_OFFLOAD_STATE_CACHED, ' +
        'TCP_OFFLOAD_STATE_DELEGATED, NEIGHBOR_OFFLOAD_STATE, IP4_OFFLOAD_STATE, IP6_OFFLOAD_STATE, TCP_OFFLOAD_STATE)',
    );
  });
});

describe('results are frozen all the way down', () => {
  it('the layout, its field lists, each field, nested fields and union tags', () => {
    const l = place(OUTER, X64);
    const all: PlacedField[] = [];
    const collect = (fs: readonly PlacedField[]): void => {
      expect(Object.isFrozen(fs)).toBe(true);
      for (const f of fs) {
        all.push(f);
        if (f.fields) collect(f.fields);
      }
    };
    expect(Object.isFrozen(l)).toBe(true);
    collect(l.fields);
    expect(all).toHaveLength(16);
    for (const f of all) {
      expect(Object.isFrozen(f)).toBe(true);
      expect(Object.isFrozen(f.type)).toBe(true);
      if (f.union) expect(Object.isFrozen(f.union)).toBe(true);
    }
    expect(all.filter((f) => f.union)).toHaveLength(11);
    const s = all.find((f) => f.name === 's')!;
    expect(() => {
      (s as { offset: number }).offset = 0;
    }).toThrow(TypeError);
    expect(() => {
      (s.union as { id: number }).id = 9;
    }).toThrow(TypeError);
    expect(s.offset).toBe(48);
    expect(s.union).toEqual({ id: 3, alternative: 0 });
  });
});

describe('descriptor helpers', () => {
  it('pointer: the alias only when given', () => {
    expect(pointer('OPAQUE')).toStrictEqual({ kind: 'pointer', to: 'OPAQUE' });
    expect(Object.keys(pointer('OPAQUE'))).toEqual(['kind', 'to']);
    expect(pointer('VOID', 'PVOID')).toStrictEqual({ kind: 'pointer', to: 'VOID', alias: 'PVOID' });
    const l = placeStruct(struct('P', '', [field('a', pointer('X', 'PX')), field('b', pointer('X'))]), X86, '6.1', () => undefined);
    expect(l.fields.map((f) => f.ctype)).toEqual(['PX', 'X*']);
  });

  it('struct: a struct aggregate, declared as `struct` in C', () => {
    const d = struct('S', 'doc', [field('a', UCHAR)]);
    expect(d).toStrictEqual({ name: 'S', aggregate: 'struct', members: [{ kind: 'field', name: 'a', type: UCHAR }], doc: 'doc' });
    expect(cDeclaration(d, '6.1')).toBe('/* doc */\nstruct S {\n    uint8_t a;\n};\n');
  });
});

describe('C declarations of test-only structures', () => {
  const LEAF = struct('LEAF', 'by value in an inline struct', [field('v', ULONG), field('back', pointer('HOLDER'))]);
  const CELL = struct('CELL', '', [field('c', UCHAR)]);
  const CHOICE: StructDescriptor = {
    name: 'CHOICE',
    aggregate: 'union',
    doc: 'only pointed to',
    members: [field('i', ULONG), field('p', PVOID)],
  };
  // Types reached only through arrays, inline structs and unions; pointers to void, void *, scalars and unions.
  const HOLDER = struct('HOLDER', 'holds */ everything', [
    field('opaque', pointer('OPAQUE')),
    field('v', PVOID),
    field('cell', pointer('PVOID')),
    field('n', pointer('ULONG')),
    field('arr', array(pointer('ARRAYED'), 2)),
    field('cells', array(structRef('CELL'), 2)),
    field('states', array(enumRef('TCP_OFFLOAD_CONNECTION_STATE'), 2)),
    field('in', inline(field('leaf', structRef('LEAF')), field('ch', pointer('CHOICE')))),
    union(field('u1', pointer('INUNION')), field('u2', UCHAR)),
    field('late', ULONG, { since: '6.1' }),
    bits('f', ULONG, 3),
  ]);

  it('the whole header: enums, forward declarations of what is only pointed to, each structure after what it holds', () => {
    // gcc -m32 -std=c11 -pedantic -Wall -mms-bitfields compiles this text without a warning.
    expect(cDeclarations(X86, '6.0', [HOLDER, LEAF, CELL, CHOICE])).toBe(
      '/* NDIS 6.0 offload structures for x86, generated by ndis-offload.\n' +
        ' * Lay out with the Microsoft rules: MSVC, or gcc/clang -mms-bitfields. */\n' +
        '#include <stdint.h>\n' +
        '\n' +
        '_Static_assert(sizeof(void *) == 4, "these declarations are for x86");\n' +
        '\n' +
        'enum TCP_OFFLOAD_CONNECTION_STATE {\n' +
        '    TcpConnectionClosed = 0,\n' +
        '    TcpConnectionListen = 1,\n' +
        '    TcpConnectionSynSent = 2,\n' +
        '    TcpConnectionSynRcvd = 3,\n' +
        '    TcpConnectionEstablished = 4,\n' +
        '    TcpConnectionFinWait1 = 5,\n' +
        '    TcpConnectionFinWait2 = 6,\n' +
        '    TcpConnectionCloseWait = 7,\n' +
        '    TcpConnectionClosing = 8,\n' +
        '    TcpConnectionLastAck = 9,\n' +
        '    TcpConnectionTimeWait = 10,\n' +
        '    TcpConnectionMaxState = 11,\n' +
        '};\n' +
        '\n' +
        '/* Pointed to (opaque, or defined below). */\n' +
        'struct HOLDER;\n' +
        'struct OPAQUE;\n' +
        'struct ARRAYED;\n' +
        'union CHOICE;\n' +
        'struct INUNION;\n' +
        '\n' +
        'struct CELL {\n' +
        '    uint8_t c;\n' +
        '};\n' +
        '\n' +
        '/* by value in an inline struct */\n' +
        'struct LEAF {\n' +
        '    uint32_t v;\n' +
        '    struct HOLDER *back;\n' +
        '};\n' +
        '\n' +
        '/* holds * / everything */\n' +
        'struct HOLDER {\n' +
        '    struct OPAQUE *opaque;\n' +
        '    void *v;\n' +
        '    void **cell;\n' +
        '    uint32_t *n;\n' +
        '    struct ARRAYED *arr[2];\n' +
        '    struct CELL cells[2];\n' +
        '    enum TCP_OFFLOAD_CONNECTION_STATE states[2];\n' +
        '    struct {\n' +
        '        struct LEAF leaf;\n' +
        '        union CHOICE *ch;\n' +
        '    } in;\n' +
        '    union {\n' +
        '        struct INUNION *u1;\n' +
        '        uint8_t u2;\n' +
        '    };\n' +
        '    uint32_t f : 3;\n' +
        '};\n' +
        '\n' +
        '/* only pointed to */\n' +
        'union CHOICE {\n' +
        '    uint32_t i;\n' +
        '    void *p;\n' +
        '};\n',
    );
  });

  it('without pointers to structures there is no forward-declaration block; parts are separated by one blank line', () => {
    const plain = struct('PLAIN', '', [field('v', PVOID), field('w', pointer('PVOID')), field('n', pointer('UCHAR'))]);
    expect(cDeclarations(X64, '6.1', [plain])).toBe(
      '/* NDIS 6.1 offload structures for x64, generated by ndis-offload.\n' +
        ' * Lay out with the Microsoft rules: MSVC, or gcc/clang -mms-bitfields. */\n' +
        '#include <stdint.h>\n' +
        '\n' +
        '_Static_assert(sizeof(void *) == 8, "these declarations are for x64");\n' +
        '\n' +
        'struct PLAIN {\n' +
        '    void *v;\n' +
        '    void **w;\n' +
        '    uint8_t *n;\n' +
        '};\n',
    );
  });
});

// The expected values above were worked out by hand; the compiler confirms them on every run.
describe('the test-only structures, measured by gcc -mms-bitfields', () => {
  const structs = [...TEST_STRUCTS, GRID];
  for (const abi of [X64, X86]) {
    const { skip, note } = gate(abi);
    for (const ndis of NDIS_REVISIONS) {
      it.skipIf(skip)(`${abi.name}, NDIS ${ndis}: every member where the engine puts it${note}`, () => {
        const probe = compilerLayouts(structs, abi, ndis);
        const byName = new Map(structs.map((s) => [s.name, s]));
        const report = structs.map((s) => compareLayout(placeStruct(s, abi, ndis, (n) => byName.get(n)), probe.get(s.name)!));
        expect(report.flatMap((r) => r.mismatches)).toEqual([]);
        expect(report.reduce((n, r) => n + r.compared, 0)).toBeGreaterThan(40);
      });
    }
  }
});
