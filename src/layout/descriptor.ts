/**
 * The descriptor language: C structures written as data, with the WDK's member names and C types
 * and no offsets. Offsets are computed by `placeStruct` (msvc.ts) for an ABI and NDIS revision.
 */

/** Integer types of the WDK headers, by their C names. */
export type ScalarName = 'UCHAR' | 'USHORT' | 'ULONG' | 'NDIS_STATUS' | 'NDIS_PORT_NUMBER';

export const SCALARS: Readonly<Record<ScalarName, { size: number; signed: boolean }>> = {
  UCHAR: { size: 1, signed: false },
  USHORT: { size: 2, signed: false },
  ULONG: { size: 4, signed: false },
  NDIS_STATUS: { size: 4, signed: true },
  NDIS_PORT_NUMBER: { size: 4, signed: false },
};

export type TypeRef =
  | { readonly kind: 'scalar'; readonly name: ScalarName }
  /** A C enum: 4 bytes (int) under the Microsoft ABI. */
  | { readonly kind: 'enum'; readonly name: string }
  /** A pointer; `to` is the C type pointed to ('VOID' for PVOID, 'PVOID' for PVOID*). */
  | { readonly kind: 'pointer'; readonly to: string; readonly alias?: string }
  | { readonly kind: 'array'; readonly of: TypeRef; readonly count: number }
  | { readonly kind: 'struct'; readonly name: string }
  /** An unnamed struct type declared in place, as in `struct { UCHAR Count; ULONG TimeoutDelta; } Retransmit;`. */
  | { readonly kind: 'inline'; readonly members: readonly Member[] };

/** NDIS revisions that change a layout. */
export type NdisRevision = '6.0' | '6.1';
export const NDIS_REVISIONS: readonly NdisRevision[] = ['6.0', '6.1'];

export interface FieldMember {
  readonly kind: 'field';
  readonly name: string;
  readonly type: TypeRef;
  /** Bit-field width; the type must then be a scalar or enum (the storage unit). */
  readonly bits?: number;
  /** First NDIS revision that declares this member. */
  readonly since?: NdisRevision;
  /**
   * Stored in network byte order (big-endian), as the TCP ports are: the value a program means
   * is the bytes read big-endian (the views' `<Name>Host` accessors), not the little-endian word.
   */
  readonly networkOrder?: boolean;
}

export interface AnonymousMember {
  readonly kind: 'anonymous';
  readonly aggregate: 'struct' | 'union';
  readonly members: readonly Member[];
}

export type Member = FieldMember | AnonymousMember;

export interface StructDescriptor {
  readonly name: string;
  readonly aggregate: 'struct' | 'union';
  readonly members: readonly Member[];
  /** One line for docs: what the structure is. */
  readonly doc: string;
}

// ---- authoring helpers: descriptors read like the C declarations they mirror ----

export const UCHAR: TypeRef = { kind: 'scalar', name: 'UCHAR' };
export const USHORT: TypeRef = { kind: 'scalar', name: 'USHORT' };
export const ULONG: TypeRef = { kind: 'scalar', name: 'ULONG' };
export const NDIS_STATUS: TypeRef = { kind: 'scalar', name: 'NDIS_STATUS' };
export const NDIS_PORT_NUMBER: TypeRef = { kind: 'scalar', name: 'NDIS_PORT_NUMBER' };
export const PVOID: TypeRef = { kind: 'pointer', to: 'VOID', alias: 'PVOID' };
export const NDIS_HANDLE: TypeRef = { kind: 'pointer', to: 'VOID', alias: 'NDIS_HANDLE' };

export const pointer = (to: string, alias?: string): TypeRef =>
  alias === undefined ? { kind: 'pointer', to } : { kind: 'pointer', to, alias };
export const array = (of: TypeRef, count: number): TypeRef => ({ kind: 'array', of, count });
export const structRef = (name: string): TypeRef => ({ kind: 'struct', name });
export const inline = (...members: Member[]): TypeRef => ({ kind: 'inline', members });
export const enumRef = (name: string): TypeRef => ({ kind: 'enum', name });

export function field(
  name: string,
  type: TypeRef,
  options: { bits?: number; since?: NdisRevision; networkOrder?: boolean } = {},
): FieldMember {
  return { kind: 'field', name, type, ...options };
}

export const bits = (name: string, type: TypeRef, width: number): FieldMember =>
  field(name, type, { bits: width });

export const union = (...members: Member[]): AnonymousMember => ({
  kind: 'anonymous',
  aggregate: 'union',
  members,
});

export const anonStruct = (...members: Member[]): AnonymousMember => ({
  kind: 'anonymous',
  aggregate: 'struct',
  members,
});

export function struct(name: string, doc: string, members: Member[]): StructDescriptor {
  return { name, aggregate: 'struct', members, doc };
}
