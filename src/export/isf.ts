/**
 * A Volatility 3 symbol table (Intermediate Symbol Format, JSON) of the offload structures,
 * generated from the layouts, for use as a symbol table in Volatility plugins and volshell.
 *
 * Conventions of the ISFs Volatility makes from PDBs: types are named by their C tag
 * (`_NDIS_MINIPORT_OFFLOAD_BLOCK_LIST`), base types by their C spelling (`unsigned long`), a
 * pointer's size is the `pointer` base type. Unnamed struct types declared in place are named
 * after their member (`_TCP_OFFLOAD_STATE_DELEGATED::KeepAlive`); anonymous unions and structs
 * are user types of their own (`_TCP_OFFLOAD_STATE_DELEGATED::__unnamed_union_0`) reached through
 * a field marked `anonymous`, whose members Volatility (ISF 6.2.0 and later) lifts into the
 * parent. Types only pointed to (NET_BUFFER_LIST) are empty structs of size 0.
 */
import pkg from '../../package.json' with { type: 'json' };
import type { Abi } from '../layout/abi.js';
import { OFFLOAD_STATE_TYPE, TCP_OFFLOAD_CONNECTION_STATE } from '../layout/constants.js';
import { SCALARS, type NdisRevision, type ScalarName, type TypeRef } from '../layout/descriptor.js';
import type { PlacedField } from '../layout/msvc.js';
import { STRUCTS, layoutOf } from '../layout/registry.js';
import type { Item } from './index.js';
import { structItems } from './index.js';

/** The ISF format version written: the one with `anonymous` fields, read by every Volatility 3 release since 1.0. */
export const ISF_FORMAT = '6.2.0';

export type IsfType =
  | { kind: 'base'; name: string }
  | { kind: 'pointer'; subtype: IsfType }
  | { kind: 'array'; count: number; subtype: IsfType }
  | { kind: 'struct' | 'union'; name: string }
  | { kind: 'enum'; name: string }
  | { kind: 'bitfield'; bit_position: number; bit_length: number; type: IsfType };

export interface IsfField {
  offset: number;
  type: IsfType;
  anonymous?: boolean;
}

export interface IsfUserType {
  kind: 'struct' | 'union';
  size: number;
  fields: Record<string, IsfField>;
}

export interface IsfBaseType {
  kind: 'int' | 'char' | 'void' | 'bool' | 'float';
  size: number;
  signed: boolean;
  endian: 'little' | 'big';
}

export interface Isf {
  metadata: { format: string; producer: { name: string; version: string } };
  base_types: Record<string, IsfBaseType>;
  user_types: Record<string, IsfUserType>;
  enums: Record<string, { size: number; base: string; constants: Record<string, number> }>;
  symbols: Record<string, never>;
}

/** The ISF name of a C structure or enum: its tag, as in PDBs. */
export const isfTypeName = (cName: string): string => `_${cName}`;

/** The C base type behind each scalar typedef of the WDK headers. */
const BASE_OF: Readonly<Record<ScalarName, string>> = {
  UCHAR: 'unsigned char',
  USHORT: 'unsigned short',
  ULONG: 'unsigned long',
  NDIS_STATUS: 'long',
  NDIS_PORT_NUMBER: 'unsigned long',
};

/** The ISF document (as an object) for an ABI and NDIS revision. */
export function isfDocument(abi: Abi, ndis: NdisRevision): Isf {
  const base_types: Record<string, IsfBaseType> = {
    'unsigned char': { kind: 'char', size: 1, signed: false, endian: 'little' },
    'unsigned short': { kind: 'int', size: 2, signed: false, endian: 'little' },
    'unsigned long': { kind: 'int', size: 4, signed: false, endian: 'little' },
    long: { kind: 'int', size: 4, signed: true, endian: 'little' },
    int: { kind: 'int', size: 4, signed: true, endian: 'little' },
    pointer: { kind: 'int', size: abi.pointerSize, signed: false, endian: 'little' },
    void: { kind: 'void', size: 0, signed: true, endian: 'little' },
  };
  for (const [name, { size, signed }] of Object.entries(SCALARS)) {
    const b = base_types[BASE_OF[name as ScalarName]]!;
    if (b.size !== size || b.signed !== signed) throw new Error(`${name}: base type ${BASE_OF[name as ScalarName]} does not match`);
  }
  const user_types: Record<string, IsfUserType> = {};
  const opaque = new Set<string>();

  const typeOf = (t: TypeRef, inlineName: string): IsfType => {
    switch (t.kind) {
      case 'scalar':
        return { kind: 'base', name: BASE_OF[t.name] };
      case 'enum':
        return { kind: 'enum', name: isfTypeName(t.name) };
      case 'struct':
        return { kind: 'struct', name: isfTypeName(t.name) };
      case 'inline':
        return { kind: 'struct', name: inlineName };
      case 'array':
        return { kind: 'array', count: t.count, subtype: typeOf(t.of, inlineName) };
      case 'pointer':
        return { kind: 'pointer', subtype: pointee(t.to) };
    }
  };
  const pointee = (to: string): IsfType => {
    if (to === 'VOID') return { kind: 'base', name: 'void' };
    if (to === 'PVOID') return { kind: 'pointer', subtype: { kind: 'base', name: 'void' } };
    if (to in BASE_OF) return { kind: 'base', name: BASE_OF[to as ScalarName] };
    if (!STRUCTS.some((s) => s.name === to)) opaque.add(to);
    return { kind: 'struct', name: isfTypeName(to) };
  };

  /** Adds the user type `name` for `items` spanning [start, start+size). */
  const addType = (name: string, kind: 'struct' | 'union', items: readonly Item[], start: number, size: number): void => {
    const fields: Record<string, IsfField> = {};
    for (const item of items) {
      if (item.kind === 'group') {
        const member = `__unnamed_${item.aggregate}_${item.index}`;
        const typeName = `${scopeOf(name)}::${member}`;
        addType(typeName, item.aggregate, item.items, item.offset, item.size);
        fields[member] = { offset: item.offset - start, type: { kind: item.aggregate, name: typeName }, anonymous: true };
        continue;
      }
      const f: PlacedField = item.field;
      const inlineName = `${name}::${f.name}`;
      if (item.inline) addType(inlineName, 'struct', item.inline, f.offset, f.size);
      const type = typeOf(f.type, inlineName);
      fields[f.name] = {
        offset: f.offset - start,
        type: f.bitWidth !== undefined ? { kind: 'bitfield', bit_position: f.bitOffset!, bit_length: f.bitWidth, type } : type,
      };
    }
    user_types[name] = { kind, size, fields };
  };
  // Anonymous aggregates are named in the scope of the outermost structure (unique there).
  const scopeOf = (name: string): string => name.split('::')[0]!;

  for (const s of STRUCTS) {
    const layout = layoutOf(s.name, abi, ndis);
    addType(isfTypeName(s.name), 'struct', structItems(layout), 0, layout.size);
  }
  for (const name of [...opaque].sort()) user_types[isfTypeName(name)] = { kind: 'struct', size: 0, fields: {} };

  return {
    metadata: { format: ISF_FORMAT, producer: { name: pkg.name, version: pkg.version } },
    base_types,
    user_types,
    enums: {
      [isfTypeName('TCP_OFFLOAD_CONNECTION_STATE')]: {
        size: 4,
        base: 'int',
        constants: Object.fromEntries(TCP_OFFLOAD_CONNECTION_STATE.map((n, i) => [n, i])),
      },
      [isfTypeName('OFFLOAD_STATE_TYPE')]: {
        size: 4,
        base: 'int',
        constants: Object.fromEntries(OFFLOAD_STATE_TYPE.map((t) => [t.name, t.value])),
      },
    },
    symbols: {},
  };
}

/** The ISF JSON text for an ABI and NDIS revision. */
export function isfSpec(abi: Abi, ndis: NdisRevision): string {
  return `${JSON.stringify(isfDocument(abi, ndis), null, 2)}\n`;
}
