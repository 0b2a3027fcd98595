/** Which state follows a block, and where each part of it lies. */
import type { Abi } from '../layout/abi.js';
import { type Operation, type StateType, stateType } from '../layout/constants.js';
import type { NdisRevision } from '../layout/descriptor.js';
import { layoutOf } from '../layout/registry.js';
import type { StructLayout } from '../layout/msvc.js';
import type { Role } from './document.js';

export interface StatePart {
  /** The C structure name of the part, the key in the document's `state`. */
  readonly name: string;
  readonly layout: StructLayout;
  /** Offset of the part from the end of the block structure. */
  readonly offset: number;
}

/**
 * The parts that follow a block of this Type, at their offsets: for the combined types, the
 * offsets of the members of the combined C struct (each part aligned for its type).
 */
export function stateParts(type: StateType, abi: Abi, ndis: NdisRevision): StatePart[] {
  if (type.combined) {
    const combined = layoutOf(type.combined, abi, ndis);
    return combined.fields.map((f, i) => ({ name: type.parts[i]!, layout: layoutOf(type.parts[i]!, abi, ndis), offset: f.offset }));
  }
  return type.parts.map((p) => ({ name: p, layout: layoutOf(p, abi, ndis), offset: 0 }));
}

/** Total bytes of state after the block, 0 when none. */
export function stateSize(type: StateType, abi: Abi, ndis: NdisRevision): number {
  if (type.combined) return layoutOf(type.combined, abi, ndis).size;
  return type.parts.length ? layoutOf(type.parts[0]!, abi, ndis).size : 0;
}

/** Whether state follows a block of this role in this operation (the reference page's rules). */
export function stateCarried(role: Role, operation: Operation): boolean {
  if (role === 'placeholder' || operation === 'invalidate') return false;
  if (operation === 'initiate') return role === 'new-offload';
  // query, update, terminate: every offloaded object in the tree carries its state.
  return true;
}

/** The expected Length of the first part for either NDIS revision (they differ only for TCP delegated). */
export function expectedLengths(type: StateType, abi: Abi): number[] {
  if (!type.parts.length) return [];
  const first = type.parts[0]!;
  return [...new Set([layoutOf(first, abi, '6.1').size, layoutOf(first, abi, '6.0').size])];
}

export { stateType };
