/**
 * The engine's tricky cases, each a test-only structure checked member by member against
 * gcc -mms-bitfields on x64 and x86, the same way as the real structures (c-crosscheck.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { ABIS } from '../../src/layout/abi.js';
import {
  NDIS_STATUS,
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
  type StructDescriptor,
} from '../../src/layout/descriptor.js';
import { placeStruct } from '../../src/layout/msvc.js';
import { gate } from '../support/cc.js';
import { compareLayout, compilerLayouts, flattenFields, type CompilerStruct } from '../support/layout-probe.js';

const TRICKY: StructDescriptor[] = [
  // Bit-fields of different declared types never share a storage unit.
  struct('MIXED_BITS', 'UCHAR:3, USHORT:5, ULONG:7, UCHAR:1', [
    bits('a', UCHAR, 3),
    bits('b', USHORT, 5),
    bits('c', ULONG, 7),
    bits('d', UCHAR, 1),
  ]),
  // Units filled exactly, then one bit more opens the next unit; a full-width bit-field.
  struct('FILL_AND_OVERFLOW', 'bit-fields that exactly fill a unit, then overflow it', [
    bits('a', ULONG, 16),
    bits('b', ULONG, 16),
    bits('c', ULONG, 1),
    bits('d', USHORT, 10),
    bits('e', USHORT, 6),
    bits('f', USHORT, 1),
    bits('g', USHORT, 16),
    bits('h', UCHAR, 8),
    bits('i', ULONG, 31),
    bits('j', ULONG, 2),
  ]),
  // Signed and enum bit-fields are 4-byte units like ULONG, and share one with it.
  struct('SIGNED_AND_ENUM_BITS', 'NDIS_STATUS and enum bit-fields next to ULONG ones', [
    bits('s', NDIS_STATUS, 5),
    bits('u', ULONG, 5),
    bits('e', enumRef('TCP_OFFLOAD_CONNECTION_STATE'), 4),
    field('x', UCHAR),
  ]),
  // A union of a pointer and integers: the pointer decides size and alignment.
  struct('POINTER_OR_INTEGER', 'a union of a pointer and integers', [
    field('tag', UCHAR),
    union(field('p', PVOID), field('n', ULONG), field('w', USHORT)),
    field('after', UCHAR),
  ]),
  // An anonymous struct inside an anonymous union inside a struct, with a bit-field in it.
  struct('NESTED_ANONYMOUS', 'an anonymous struct in an anonymous union in a struct', [
    field('a', USHORT),
    union(anonStruct(field('x', UCHAR), field('y', PVOID), bits('z', ULONG, 5)), field('w', ULONG)),
    field('tail', UCHAR),
  ]),
  // Bit-fields as union alternatives each start at the union's first byte.
  struct('BITS_IN_UNION', 'bit-fields as union alternatives', [
    field('lead', UCHAR),
    union(bits('u', ULONG, 3), bits('v', USHORT, 9), field('c', UCHAR)),
    bits('after', UCHAR, 2),
  ]),
  // Arrays of pointers, of pointers to pointers, and of pointers to the structure itself.
  struct('POINTER_ARRAYS', 'arrays of pointers', [
    field('c', UCHAR),
    field('ptrs', array(PVOID, 3)),
    field('cells', array(pointer('PVOID'), 2)),
    field('self', array(pointer('POINTER_ARRAYS'), 2)),
    field('tail', USHORT),
  ]),
  // A UCHAR after a pointer: the size is rounded up to the pointer's alignment.
  struct('TAIL_PADDING', 'a struct ending in a UCHAR after a pointer', [field('p', PVOID), field('c', UCHAR)]),
  // A nested struct of alignment 2 and odd-sized parts, by value, inline and in an array.
  struct('ODD_INNER', 'alignment 2, size 6', [field('a', UCHAR), field('b', USHORT), field('c', UCHAR)]),
  struct('ODD_OUTER', 'nested structures with odd alignment', [
    field('x', UCHAR),
    field('inner', structRef('ODD_INNER')),
    field('y', UCHAR),
    field('three', inline(field('q', UCHAR), field('r', UCHAR), field('s', UCHAR))),
    field('z', ULONG),
    field('arr', array(structRef('ODD_INNER'), 3)),
    field('grid', array(array(UCHAR, 3), 2)),
    field('end', UCHAR),
  ]),
  // A bit-field right after an ordinary member of the same type does not share its bytes.
  struct('BITS_AFTER_PLAIN', 'a bit-field right after a non-bit-field of the same type', [
    field('a', ULONG),
    bits('b', ULONG, 4),
    bits('c', ULONG, 28),
    field('d', USHORT),
    bits('e', USHORT, 3),
    field('f', UCHAR),
    bits('g', UCHAR, 1),
    field('h', inline(bits('i', ULONG, 3), field('j', UCHAR), bits('k', UCHAR, 7))),
  ]),
  // A structure that is itself a union (a `union` tag in C), used by value elsewhere.
  {
    name: 'TOP_UNION',
    aggregate: 'union',
    doc: 'a top-level union',
    members: [field('p', PVOID), field('b', array(UCHAR, 5)), bits('n', ULONG, 3)],
  },
  struct('HOLDS_UNION', 'a union by value between small members', [
    field('c', UCHAR),
    field('u', structRef('TOP_UNION')),
    field('d', UCHAR),
  ]),
];

const byName = new Map(TRICKY.map((s) => [s.name, s]));

for (const abi of ABIS) {
  const { skip, note } = gate(abi);
  describe.skipIf(skip)(`${abi.name}: tricky layouts agree with gcc -mms-bitfields${note}`, () => {
    let probe: Map<string, CompilerStruct> | undefined;
    const compilerSays = (name: string): CompilerStruct => {
      probe ??= compilerLayouts(TRICKY, abi, '6.1');
      const c = probe.get(name);
      if (!c) throw new Error(`the probe has no answer for ${name}`);
      return c;
    };

    it.each(TRICKY.map((s) => s.name))('%s', (name) => {
      const layout = placeStruct(byName.get(name)!, abi, '6.1', (n) => byName.get(n));
      const { compared, mismatches } = compareLayout(layout, compilerSays(name));
      expect(mismatches).toEqual([]);
      expect(compared).toBe(flattenFields(layout.fields).length);
    });
  });
}
