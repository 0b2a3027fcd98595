/**
 * C declarations of the descriptors: a header any C11 compiler can use, generated from the
 * descriptors alone (member names, types, widths, revisions), never from computed offsets, so a
 * compiler can check the layout engine. Lay it out with the Microsoft rules: MSVC, clang-cl,
 * mingw-w64, or gcc/clang with `-mms-bitfields`.
 */
import { LayoutError } from '../errors.js';
import type { Abi } from './abi.js';
import { TCP_OFFLOAD_CONNECTION_STATE } from './constants.js';
import {
  NDIS_REVISIONS,
  type Member,
  type NdisRevision,
  type ScalarName,
  type StructDescriptor,
  type TypeRef,
} from './descriptor.js';
import { STRUCTS } from './registry.js';

const C_SCALAR: Readonly<Record<ScalarName, string>> = {
  UCHAR: 'uint8_t',
  USHORT: 'uint16_t',
  ULONG: 'uint32_t',
  NDIS_STATUS: 'int32_t',
  NDIS_PORT_NUMBER: 'uint32_t',
};

/** The enums a descriptor may name, with their constants in value order (0, 1, ...). */
const C_ENUMS: Readonly<Record<string, readonly string[]>> = { TCP_OFFLOAD_CONNECTION_STATE };

export type CResolver = (name: string) => StructDescriptor | undefined;

const isScalar = (name: string): name is ScalarName => Object.hasOwn(C_SCALAR, name);

const present = (m: Member, ndis: NdisRevision): boolean =>
  m.kind !== 'field' || !m.since || NDIS_REVISIONS.indexOf(ndis) >= NDIS_REVISIONS.indexOf(m.since);

/** `struct X` or `union X`, by the descriptor the name resolves to (struct when unknown: opaque). */
const tag = (name: string, resolve: CResolver): string => `${resolve(name)?.aggregate ?? 'struct'} ${name}`;

function pointee(to: string, resolve: CResolver): string {
  if (to === 'VOID') return 'void';
  if (to === 'PVOID') return 'void *';
  return isScalar(to) ? C_SCALAR[to] : tag(to, resolve);
}

/** A C declarator: `void *NdisReserved[2]`, `struct { ... } KeepAlive`. */
function declare(t: TypeRef, name: string, ndis: NdisRevision, resolve: CResolver, indent: string): string {
  switch (t.kind) {
    case 'scalar':
      return `${C_SCALAR[t.name]} ${name}`;
    case 'enum':
      return `enum ${t.name} ${name}`;
    case 'pointer': {
      const p = pointee(t.to, resolve);
      return `${p}${p.endsWith('*') ? '' : ' '}*${name}`;
    }
    case 'array':
      return declare(t.of, `${name}[${t.count}]`, ndis, resolve, indent);
    case 'struct':
      return `${tag(t.name, resolve)} ${name}`;
    case 'inline':
      return `struct {\n${body(t.members, ndis, resolve, `${indent}    `)}${indent}} ${name}`;
  }
}

function body(members: readonly Member[], ndis: NdisRevision, resolve: CResolver, indent: string): string {
  let out = '';
  for (const m of members) {
    if (!present(m, ndis)) continue;
    if (m.kind === 'anonymous') {
      out += `${indent}${m.aggregate} {\n${body(m.members, ndis, resolve, `${indent}    `)}${indent}};\n`;
    } else {
      const width = m.bits === undefined ? '' : ` : ${m.bits}`;
      out += `${indent}${declare(m.type, m.name, ndis, resolve, indent)}${width};\n`;
    }
  }
  return out;
}

/** The definition of one structure (its doc line as a comment), for an NDIS revision. */
export function cDeclaration(desc: StructDescriptor, ndis: NdisRevision, resolve: CResolver = () => undefined): string {
  const doc = desc.doc ? `/* ${desc.doc.replaceAll('*/', '* /')} */\n` : '';
  return `${doc}${desc.aggregate} ${desc.name} {\n${body(desc.members, ndis, resolve, '    ')}};\n`;
}

/** Every type a member list uses: by value (must be defined first), pointed to, and enums. */
function uses(members: readonly Member[], out: { byValue: string[]; pointees: string[]; enums: string[] }): void {
  const visit = (t: TypeRef): void => {
    if (t.kind === 'struct') out.byValue.push(t.name);
    else if (t.kind === 'enum') out.enums.push(t.name);
    else if (t.kind === 'pointer' && t.to !== 'VOID' && t.to !== 'PVOID' && !isScalar(t.to)) out.pointees.push(t.to);
    else if (t.kind === 'array') visit(t.of);
    else if (t.kind === 'inline') uses(t.members, out);
  };
  for (const m of members) {
    if (m.kind === 'anonymous') uses(m.members, out);
    else visit(m.type);
  }
}

/**
 * A complete C header for `structs` (every structure this project knows by default) under an
 * NDIS revision: enums, forward declarations of the types only pointed to, then the structures,
 * each after the ones it contains. The ABI only adds a check that the compiler targets it.
 */
export function cDeclarations(
  abi: Abi,
  ndis: NdisRevision,
  structs: readonly StructDescriptor[] = STRUCTS,
): string {
  const byName = new Map(structs.map((s) => [s.name, s]));
  const resolve: CResolver = (n) => byName.get(n);
  const enums = new Set<string>();
  const pointees = new Set<string>();
  const ordered: StructDescriptor[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: StructDescriptor): void => {
    if (state.get(s.name) === 'done') return;
    if (state.get(s.name) === 'visiting') throw new LayoutError(s.name, '', 'contains itself');
    state.set(s.name, 'visiting');
    const u = { byValue: [] as string[], pointees: [] as string[], enums: [] as string[] };
    uses(s.members, u);
    for (const n of u.byValue) {
      const inner = byName.get(n);
      if (!inner) throw new LayoutError(s.name, '', `unknown type ${n}`);
      visit(inner);
    }
    for (const e of u.enums) {
      if (!C_ENUMS[e]) throw new LayoutError(s.name, '', `unknown enum ${e}`);
      enums.add(e);
    }
    for (const p of u.pointees) pointees.add(p);
    state.set(s.name, 'done');
    ordered.push(s);
  };
  structs.forEach(visit);

  const parts = [
    `/* NDIS ${ndis} offload structures for ${abi.name}, generated by ndis-offload.\n` +
      ' * Lay out with the Microsoft rules: MSVC, or gcc/clang -mms-bitfields. */\n' +
      '#include <stdint.h>\n',
    `_Static_assert(sizeof(void *) == ${abi.pointerSize}, "these declarations are for ${abi.name}");\n`,
    ...[...enums].map((e) => `enum ${e} {\n${C_ENUMS[e]!.map((c, i) => `    ${c} = ${i},\n`).join('')}};\n`),
    ...(pointees.size
      ? [`/* Pointed to (opaque, or defined below). */\n${[...pointees].map((p) => `${tag(p, resolve)};\n`).join('')}`]
      : []),
    ...ordered.map((s) => cDeclaration(s, ndis, resolve)),
  ];
  return parts.join('\n');
}
