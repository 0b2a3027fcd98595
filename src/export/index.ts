/**
 * Specs for the tools of the field, generated from the layouts: a Kaitai Struct spec (.ksy), an
 * ImHex pattern (.hexpat) and a Volatility 3 symbol table (ISF JSON). Every offset, size and bit
 * position in them comes from `layoutOf`; nothing here or in the emitters types one.
 *
 * This module also holds what the three emitters share: the members of a layout as a tree again
 * (anonymous unions and structs regrouped from the descriptor), names, and the default base.
 */
import { UsageError } from '../errors.js';
import type { Abi } from '../layout/abi.js';
import type { StateType } from '../layout/constants.js';
import { NDIS_REVISIONS, type Member, type NdisRevision } from '../layout/descriptor.js';
import type { PlacedField, StructLayout } from '../layout/msvc.js';
import { descriptorOf, layoutOf } from '../layout/registry.js';
import { hexpatSpec } from './hexpat.js';
import { isfSpec } from './isf.js';
import { ksySpec } from './ksy.js';

export type ExportFormat = 'ksy' | 'hexpat' | 'isf';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['ksy', 'hexpat', 'isf'];

export interface ExportOptions {
  /**
   * Address of the first byte of the image the spec will open (.ksy and .hexpat follow pointers
   * relative to it; the ISF has no use for it). Default: `DEFAULT_BASE[abi]`.
   */
  readonly base?: bigint;
}

/** The bases `encode` lays a tree at by default, so that its output opens with the default specs. */
export const DEFAULT_BASE: Readonly<Record<Abi['name'], bigint>> = { x64: 0xffffc00000000000n, x86: 0x80000000n };

/** The spec in `format`, as the text of the file. Pure: the same arguments give the same text. */
export function exportSpec(format: ExportFormat, abi: Abi, ndis: NdisRevision, options: ExportOptions = {}): string {
  switch (format) {
    case 'ksy':
      return ksySpec(abi, ndis, options);
    case 'hexpat':
      return hexpatSpec(abi, ndis, options);
    case 'isf':
      return isfSpec(abi, ndis);
  }
}

export function parseExportFormat(text: string | undefined): ExportFormat {
  if (text === undefined) throw new UsageError(`--format is required (${EXPORT_FORMATS.join(', ')})`);
  if (!(EXPORT_FORMATS as readonly string[]).includes(text)) {
    throw new UsageError(`--format: '${text}' is not a format (expected ${EXPORT_FORMATS.join(', ')})`);
  }
  return text as ExportFormat;
}

/** The base to write into a spec, checked: it must fit the ABI's pointers. */
export function checkBase(abi: Abi, base: bigint | undefined): bigint {
  const b = base ?? DEFAULT_BASE[abi.name];
  const max = (1n << BigInt(abi.pointerSize * 8)) - 1n;
  if (b < 0n || b > max) throw new UsageError(`--base 0x${b.toString(16)} does not fit a ${abi.pointerSize * 8}-bit ${abi.name} address`);
  return b;
}

export const hexLiteral = (v: bigint, digits: number): string => `0x${v.toString(16).padStart(digits, '0')}`;

// ---- the members of a layout, as a tree ----------------------------------------------------------

/** A member of the C declaration. `inline` is set for an unnamed struct type declared in place. */
export interface FieldItem {
  readonly kind: 'field';
  readonly field: PlacedField;
  readonly inline?: readonly Item[];
}

/** An anonymous union or struct: its members are the parent's members in C. */
export interface GroupItem {
  readonly kind: 'group';
  readonly aggregate: 'struct' | 'union';
  /** Numbered in declaration order (depth first) within the outermost structure. */
  readonly index: number;
  readonly items: readonly Item[];
  /** Absolute offset, size and alignment of the anonymous aggregate. */
  readonly offset: number;
  readonly size: number;
  readonly align: number;
}

export type Item = FieldItem | GroupItem;

const revisionAtLeast = (have: NdisRevision, need: NdisRevision): boolean =>
  Number.parseFloat(have) >= Number.parseFloat(need);
const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * The members of a structure as declared (anonymous unions and structs kept as groups), each
 * with the placement `layoutOf` computed for it.
 */
export function structItems(layout: StructLayout): Item[] {
  return walk(descriptorOf(layout.name).members, layout.fields, layout.ndis, { next: 0 }, layout.name);
}

function walk(
  members: readonly Member[],
  placed: readonly PlacedField[],
  ndis: NdisRevision,
  counter: { next: number },
  owner: string,
): Item[] {
  const items: Item[] = [];
  for (const m of members) {
    if (m.kind === 'field') {
      if (m.since && !revisionAtLeast(ndis, m.since)) continue;
      const field = placed.find((p) => p.name === m.name);
      if (!field) throw new Error(`${owner}.${m.name}: not in the layout`);
      if (m.type.kind === 'inline') {
        items.push({ kind: 'field', field, inline: walk(m.type.members, field.fields ?? [], ndis, counter, `${owner}.${m.name}`) });
      } else {
        items.push({ kind: 'field', field });
      }
      continue;
    }
    const index = counter.next++;
    const inner = walk(m.members, placed, ndis, counter, owner);
    const leaves = leafFields(inner);
    if (leaves.length === 0) continue;
    const offset = Math.min(...leaves.map((f) => f.offset));
    const end = Math.max(...leaves.map((f) => f.offset + f.size));
    const align = Math.max(...leaves.map((f) => f.align));
    items.push({ kind: 'group', aggregate: m.aggregate, index, items: inner, offset, size: roundUp(end - offset, align), align });
  }
  return items;
}

/** The fields of a list of items with anonymous groups flattened (what C code names directly). */
export function leafFields(items: readonly Item[]): PlacedField[] {
  return items.flatMap((i) => (i.kind === 'field' ? [i.field] : leafFields(i.items)));
}

export const itemOffset = (i: Item): number => (i.kind === 'field' ? i.field.offset : i.offset);
export const itemSize = (i: Item): number => (i.kind === 'field' ? i.field.size : i.size);

/** A run of bit-fields sharing one storage unit, or a single item. */
export type Run = { readonly kind: 'item'; readonly item: Item } | { readonly kind: 'bits'; readonly fields: readonly PlacedField[] };

/** Groups consecutive bit-fields of one storage unit (same offset) into runs. */
export function runsOf(items: readonly Item[]): Run[] {
  const runs: Run[] = [];
  for (const item of items) {
    if (item.kind === 'field' && item.field.bitWidth !== undefined) {
      const last = runs[runs.length - 1];
      if (last && last.kind === 'bits' && last.fields[0]!.offset === item.field.offset) {
        runs[runs.length - 1] = { kind: 'bits', fields: [...last.fields, item.field] };
      } else {
        runs.push({ kind: 'bits', fields: [item.field] });
      }
      continue;
    }
    runs.push({ kind: 'item', item });
  }
  return runs;
}

/** `SendWL1` -> `send_wl1`, `SRtt` -> `s_rtt`, `TcpConnectionSynRcvd` -> `tcp_connection_syn_rcvd`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

// ---- the state after a block ------------------------------------------------------------------

/**
 * The Lengths the first state part of a type may have (either NDIS revision), by which `decode`
 * infers that state follows a block when no operation is given.
 */
export function expectedStateLengths(type: StateType, abi: Abi): number[] {
  const first = type.parts[0];
  if (first === undefined) return [];
  return [...new Set(NDIS_REVISIONS.map((r) => layoutOf(first, abi, r).size))].sort((a, b) => a - b);
}

/** Offset of `part`.`member` from the start of the state of `type` (the combined struct's member, or the part alone). */
export function stateOffsetOf(type: StateType, part: string, member: string, abi: Abi, ndis: NdisRevision): number {
  if (type.combined) {
    const holder = layoutOf(type.combined, abi, ndis).fields.find((f) => f.type.kind === 'struct' && f.type.name === part);
    const f = holder?.fields?.find((x) => x.name === member);
    if (!f) throw new Error(`${type.combined}: no ${part}.${member}`);
    return f.offset;
  }
  const f = layoutOf(part, abi, ndis).fields.find((x) => x.name === member);
  if (!f || type.parts[0] !== part) throw new Error(`${type.name}: no ${part}.${member}`);
  return f.offset;
}
