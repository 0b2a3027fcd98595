/**
 * The layout algorithm: one pure function that places a descriptor's members by the Microsoft C
 * rules (natural alignment, tail padding, MSVC bit-field storage units) for an ABI and NDIS revision.
 */
import { LayoutError } from '../errors.js';
import type { Abi } from './abi.js';
import {
  SCALARS,
  type Member,
  type NdisRevision,
  type StructDescriptor,
  type TypeRef,
} from './descriptor.js';

export interface PlacedField {
  /** The C member name. */
  readonly name: string;
  readonly type: TypeRef;
  /** The C type as written in the header: `ULONG`, `PVOID[2]`, `NDIS_MINIPORT_OFFLOAD_BLOCK_LIST*`. */
  readonly ctype: string;
  /** Byte offset from the start of the outermost structure being laid out. */
  readonly offset: number;
  readonly size: number;
  readonly align: number;
  /** Bit-fields: the storage unit is [offset, offset+size); the bits are [bitOffset, bitOffset+bitWidth). */
  readonly bitOffset?: number;
  readonly bitWidth?: number;
  /** Members of a nested struct (named or inline), with absolute offsets. */
  readonly fields?: readonly PlacedField[];
  /** Stored in network byte order (big-endian): see FieldMember.networkOrder. */
  readonly networkOrder?: true;
  /** Index of the anonymous union this member belongs to and which alternative it is. */
  readonly union?: { readonly id: number; readonly alternative: number };
}

export interface StructLayout {
  readonly name: string;
  readonly abi: Abi;
  readonly ndis: NdisRevision;
  readonly size: number;
  readonly align: number;
  /** Members in declaration order; members of anonymous unions and structs are flattened in. */
  readonly fields: readonly PlacedField[];
  readonly doc: string;
}

export type StructResolver = (name: string) => StructDescriptor | undefined;

const revisionAtLeast = (have: NdisRevision, need: NdisRevision): boolean =>
  Number.parseFloat(have) >= Number.parseFloat(need);

const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a;

interface Ctx {
  readonly abi: Abi;
  readonly ndis: NdisRevision;
  readonly resolve: StructResolver;
  readonly owner: string;
  /** Shared by every scope of one layout, so union ids are unique within it. */
  readonly unions: { next: number };
  /** Names in use in the current struct scope (anonymous members share their parent's scope). */
  readonly seen: Set<string>;
}

function ctypeOf(t: TypeRef): string {
  switch (t.kind) {
    case 'scalar':
    case 'enum':
    case 'struct':
      return t.name;
    case 'pointer':
      return t.alias ?? `${t.to}*`;
    case 'array': {
      // An array of arrays: this dimension goes before the element's (C's T[2][3] is two T[3]).
      const inner = ctypeOf(t.of);
      const dims = inner.indexOf('[');
      return dims < 0 ? `${inner}[${t.count}]` : `${inner.slice(0, dims)}[${t.count}]${inner.slice(dims)}`;
    }
    case 'inline':
      return 'struct';
  }
}

/** Size and alignment of a type; for aggregates also its members placed at `base`. */
function measure(
  t: TypeRef,
  base: number,
  ctx: Ctx,
  member: string,
): { size: number; align: number; fields?: PlacedField[] } {
  switch (t.kind) {
    case 'scalar':
      return { size: SCALARS[t.name].size, align: SCALARS[t.name].size };
    case 'enum':
      return { size: 4, align: 4 };
    case 'pointer':
      return { size: ctx.abi.pointerSize, align: ctx.abi.pointerSize };
    case 'array': {
      if (!Number.isInteger(t.count) || t.count < 1) {
        throw new LayoutError(ctx.owner, member, `array length ${t.count} is not a positive integer`);
      }
      const elem = measure(t.of, base, ctx, member);
      return { size: elem.size * t.count, align: elem.align };
    }
    case 'struct': {
      const desc = ctx.resolve(t.name);
      if (!desc) throw new LayoutError(ctx.owner, member, `unknown type ${t.name}`);
      const inner = placeMembers(desc.aggregate, desc.members, base, { ...ctx, owner: desc.name, seen: new Set() });
      return { size: inner.size, align: inner.align, fields: inner.fields };
    }
    case 'inline': {
      const inner = placeMembers('struct', t.members, base, { ...ctx, seen: new Set() });
      return { size: inner.size, align: inner.align, fields: inner.fields };
    }
  }
}

interface Placement {
  size: number;
  align: number;
  fields: PlacedField[];
}

/**
 * Places `members` as a struct or union starting at absolute offset `base` (already aligned).
 * Offsets inside are absolute; `size` is the aggregate's own size, tail padding included.
 */
function placeMembers(aggregate: 'struct' | 'union', members: readonly Member[], base: number, ctx: Ctx): Placement {
  const fields: PlacedField[] = [];
  let cursor = 0; // relative offset of the next free byte
  let maxEnd = 0; // for unions
  let align = 1;
  // The open bit-field storage unit (MSVC: shared only by bit-fields of the same unit size).
  let unit: { offset: number; size: number; used: number } | undefined;
  const unionId = aggregate === 'union' ? ctx.unions.next++ : -1;
  let alternative = 0;

  for (const m of members) {
    if (m.kind === 'field' && m.since && !revisionAtLeast(ctx.ndis, m.since)) continue;
    const unionTag = unionId >= 0 ? { union: { id: unionId, alternative: alternative++ } } : {};
    const start = aggregate === 'union' ? 0 : cursor;

    if (m.kind === 'anonymous') {
      const probe = placeMembers(m.aggregate, m.members, 0, { ...ctx, unions: { next: 0 }, seen: new Set() });
      const rel = roundUp(aggregate === 'union' ? 0 : start, probe.align);
      const inner = placeMembers(m.aggregate, m.members, base + rel, ctx);
      for (const f of inner.fields) fields.push(unionId >= 0 && !f.union ? { ...f, ...unionTag } : f);
      align = Math.max(align, inner.align);
      cursor = rel + inner.size;
      maxEnd = Math.max(maxEnd, cursor);
      unit = undefined;
      continue;
    }

    if (ctx.seen.has(m.name)) throw new LayoutError(ctx.owner, m.name, 'duplicate member name');
    ctx.seen.add(m.name);

    if (m.networkOrder && (m.bits !== undefined || m.type.kind !== 'scalar' || SCALARS[m.type.name].size === 1)) {
      throw new LayoutError(ctx.owner, m.name, `network byte order needs a whole integer of 2 or 4 bytes, not ${ctypeOf(m.type)}${m.bits !== undefined ? ` : ${m.bits}` : ''}`);
    }
    if (m.bits !== undefined) {
      if (m.type.kind !== 'scalar' && m.type.kind !== 'enum') {
        throw new LayoutError(ctx.owner, m.name, `a bit-field needs an integer type, not ${ctypeOf(m.type)}`);
      }
      const unitSize = measure(m.type, 0, ctx, m.name).size;
      if (!Number.isInteger(m.bits) || m.bits < 1 || m.bits > unitSize * 8) {
        throw new LayoutError(ctx.owner, m.name, `bit-field width ${m.bits} does not fit ${ctypeOf(m.type)}`);
      }
      if (aggregate === 'union' || !unit || unit.size !== unitSize || unit.used + m.bits > unitSize * 8) {
        const at = roundUp(start, unitSize);
        unit = { offset: at, size: unitSize, used: 0 };
        cursor = at + unitSize;
      }
      fields.push({
        name: m.name,
        type: m.type,
        ctype: ctypeOf(m.type),
        offset: base + unit.offset,
        size: unitSize,
        align: unitSize,
        bitOffset: unit.used,
        bitWidth: m.bits,
        ...unionTag,
      });
      unit.used += m.bits;
      align = Math.max(align, unitSize);
      maxEnd = Math.max(maxEnd, cursor);
      continue;
    }

    unit = undefined;
    const probe = measure(m.type, 0, { ...ctx, unions: { next: 0 }, seen: new Set() }, m.name);
    const rel = roundUp(start, probe.align);
    const placed = measure(m.type, base + rel, ctx, m.name);
    fields.push({
      name: m.name,
      type: m.type,
      ctype: ctypeOf(m.type),
      offset: base + rel,
      size: placed.size,
      align: placed.align,
      ...(placed.fields ? { fields: placed.fields } : {}),
      ...(m.networkOrder ? { networkOrder: true as const } : {}),
      ...unionTag,
    });
    align = Math.max(align, placed.align);
    cursor = rel + placed.size;
    maxEnd = Math.max(maxEnd, cursor);
  }

  if (fields.length === 0 && members.length === 0) {
    throw new LayoutError(ctx.owner, '', 'a structure needs at least one member');
  }
  const end = aggregate === 'union' ? maxEnd : cursor;
  return { size: roundUp(end, align), align, fields };
}

/** Lays out a structure for an ABI and NDIS revision. Pure: the same inputs give the same frozen result. */
export function placeStruct(
  desc: StructDescriptor,
  abi: Abi,
  ndis: NdisRevision,
  resolve: StructResolver,
): StructLayout {
  const ctx: Ctx = { abi, ndis, resolve, owner: desc.name, unions: { next: 0 }, seen: new Set() };
  const placed = placeMembers(desc.aggregate, desc.members, 0, ctx);
  return deepFreeze({
    name: desc.name,
    abi,
    ndis,
    size: placed.size,
    align: placed.align,
    fields: placed.fields,
    doc: desc.doc,
  });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
