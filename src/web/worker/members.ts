/**
 * A block's members as the details pane and the hex view show them: every member of the block
 * structure and of each state part that follows it, with its C name, type, offset, size, bit
 * position, stored bytes, the document's value and its meaning; padding between members too.
 * The byte ranges the hex view colours come from these rows, so a byte's owner is the member the
 * details pane lists.
 */
import { Location, type MemoryImage } from '../../codec/image.js';
import type { Abi } from '../../layout/abi.js';
import { flagNames, stateType } from '../../layout/constants.js';
import type { NdisRevision } from '../../layout/descriptor.js';
import type { PlacedField, StructLayout } from '../../layout/msvc.js';
import { layoutOf } from '../../layout/registry.js';
import type { BlockFields } from '../../tree/document.js';
import { stateParts, stateSize } from '../../tree/state.js';
import type { MemberRow } from '../protocol.js';

const PAGE = 4096;
const hexAddress = (v: bigint, abi: Abi): string => `0x${v.toString(16).padStart(abi.pointerSize * 2, '0')}`;

/** The file offset of each byte run of [address, address + size): one piece per page for paged images. */
export function filePieces(image: MemoryImage, address: bigint, size: number, scratch = new Location()): { address: bigint; fileOffset: number; size: number }[] {
  const out: { address: bigint; fileOffset: number; size: number }[] = [];
  const add = (at: bigint, fileOffset: number, n: number): void => {
    const last = out[out.length - 1];
    if (last && last.fileOffset + last.size === fileOffset && last.address + BigInt(last.size) === at) last.size += n;
    else out.push({ address: at, fileOffset, size: n });
  };
  let at = address;
  let left = size;
  while (left > 0) {
    const inPage = Math.min(left, PAGE - Number(at % BigInt(PAGE)));
    if (image.locate(at, inPage, scratch) && scratch.imageOffset >= 0 && !scratch.gathered) add(at, scratch.imageOffset, inPage);
    else {
      // Gathered from two segments (or partly absent): byte by byte, which is rare and at most a page.
      for (let i = 0; i < inPage; i++) {
        const b = at + BigInt(i);
        if (image.locate(b, 1, scratch) && scratch.imageOffset >= 0) add(b, scratch.imageOffset, 1);
      }
    }
    at += BigInt(inPage);
    left -= inPage;
  }
  return out;
}

/**
 * A document value as the details pane shows it: numbers and addresses as the document writes
 * them, a status as its hex code, an enum as its number (the names go to the meaning), arrays
 * joined. Byte strings (a MAC) stay the document's hex.
 */
export function valueText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(valueText).join(', ');
  if (typeof v === 'object') {
    const o = v as { hex?: unknown; value?: unknown };
    if (typeof o.hex === 'string') return o.hex;
    if (o.value !== undefined) return String(o.value);
    return JSON.stringify(v);
  }
  return String(v);
}
const text = valueText;

/** A port stored in network byte order (read little-endian by the document) in host order. */
const hostPort = (v: number): number => ((v & 0xff) << 8) | (v >> 8);

/** A MAC address from the document's hex bytes (the first six; any other non-zero bytes follow). */
function mac(hexBytes: string): string {
  const bytes = hexBytes.match(/../g) ?? [];
  const rest = bytes.slice(6).some((b) => b !== '00') ? ` +${bytes.slice(6).join('')}` : '';
  return `${bytes.slice(0, 6).join('-')}${rest}`;
}

/** The path of a padding row: unique within its block (`TCP_OFFLOAD_STATE_CONST.padding@15`), so it can be selected and highlighted alone. */
export const paddingPath = (prefix: string, offset: number): string => `${prefix}padding@${offset}`;

/** The bytes of a member, hex, in memory order ('' when not readable). */
function rawBytes(image: MemoryImage, address: bigint, size: number, scratch: Location): string {
  if (size > 64 || !image.locate(address, size, scratch)) return '';
  let s = '';
  for (let i = 0; i < size; i++) s += scratch.view.getUint8(scratch.offset + i).toString(16).padStart(2, '0');
  return s;
}

function meaningOf(struct: string, f: PlacedField, json: Record<string, unknown> | undefined, value: unknown, isBlock: boolean, block: BlockFields): string {
  if (isBlock && f.name === 'Status' && value && typeof value === 'object') return (value as { name: string }).name;
  if (isBlock && f.name === 'Type') return block.type;
  if (value && typeof value === 'object' && 'name' in (value as object)) return String((value as { name: unknown }).name);
  const pointee = json?.[`*${f.name}`];
  if (pointee !== undefined) return `→ ${text(pointee)}`;
  if (f.networkOrder && typeof value === 'number' && f.size === 2) return `${hostPort(value)} in host order (stored 0x${value.toString(16).padStart(4, '0')} read little-endian)`;
  if (f.name === 'Flags' && typeof value === 'number') return flagNames(struct, value).join(' | ');
  if ((f.name === 'DlSourceAddress' || f.name === 'DlDestinationAddress') && typeof value === 'string') return mac(value);
  if (f.bitWidth !== undefined) return `bits ${f.bitOffset}..${f.bitOffset! + f.bitWidth - 1} of the ${f.ctype} at +0x${f.offset.toString(16)}`;
  return '';
}

/** Whether a member holds a pointer (its target can be followed). */
const isPointer = (f: PlacedField): boolean => f.ctype.endsWith('*') || /^P[A-Z_]*$/.test(f.ctype) || f.ctype === 'PVOID' || f.ctype === 'HANDLE' || f.ctype === 'NDIS_HANDLE';

/**
 * The member rows of one structure at `address`: a row for the structure, then its members in
 * offset order (nested structures expanded below their row), with padding rows in the gaps.
 */
function structRows(image: MemoryImage, abi: Abi, layout: StructLayout, address: bigint, json: Record<string, unknown> | undefined, block: BlockFields, isBlock: boolean, writable: boolean, scratch: Location): MemberRow[] {
  const rows: MemberRow[] = [];
  const fileOf = (a: bigint, size: number): number | null => (image.locate(a, Math.max(1, Math.min(size, 1)), scratch) && scratch.imageOffset >= 0 ? scratch.imageOffset : null);
  rows.push({ path: layout.name, name: layout.name, depth: 0, ctype: layout.name, address: hexAddress(address, abi), offset: 0, size: layout.size, fileOffset: fileOf(address, 1), raw: '', value: '', meaning: '', editable: false, struct: true });
  const walk = (fields: readonly PlacedField[], prefix: string, depth: number, obj: Record<string, unknown> | undefined, end: number, start: number): void => {
    let at = start;
    for (const f of fields) {
      if (f.offset > at && !f.union) {
        rows.push(padRow(paddingPath(prefix, at), depth, address, at, f.offset - at));
      }
      const path = `${prefix}${f.name}`;
      const a = address + BigInt(f.offset);
      const value = obj?.[f.name];
      if (f.fields) {
        rows.push({ path, name: f.name, depth, ctype: f.ctype, address: hexAddress(a, abi), offset: f.offset, size: f.size, fileOffset: fileOf(a, f.size), raw: '', value: '', meaning: '', editable: false, struct: true });
        walk(f.fields, `${path}.`, depth + 1, value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined, f.offset + f.size, f.offset);
      } else {
        const row: MemberRow = {
          path,
          name: f.name,
          depth,
          ctype: f.ctype,
          address: hexAddress(a, abi),
          offset: f.offset,
          size: f.size,
          fileOffset: fileOf(a, f.size),
          raw: rawBytes(image, a, f.size, scratch),
          value: text(value),
          meaning: meaningOf(layout.name, f, obj, value, isBlock, block),
          editable: writable && value !== undefined,
          struct: false,
        };
        if (f.bitWidth !== undefined) {
          row.bitOffset = f.bitOffset!;
          row.bitWidth = f.bitWidth;
        }
        if (isPointer(f) && typeof value === 'string' && !/^0x0+$/.test(value)) row.target = value;
        rows.push(row);
      }
      at = Math.max(at, f.offset + f.size);
    }
    if (end > at) rows.push(padRow(paddingPath(prefix, at), depth, address, at, end - at));
  };
  const padRow = (path: string, depth: number, base: bigint, offset: number, size: number): MemberRow => {
    const a = base + BigInt(offset);
    return { path: `${layout.name}.${path}`, name: '(padding)', depth, ctype: '', address: hexAddress(a, abi), offset, size, fileOffset: fileOf(a, size), raw: rawBytes(image, a, size, scratch), value: '', meaning: 'unused bytes between members', editable: false, struct: false, padding: true };
  };
  walk(layout.fields, '', 1, json, layout.size, 0);
  for (const r of rows) if (!r.padding && r.depth > 0) r.path = `${layout.name}.${r.path}`;
  return rows;
}

/** Every member row of a decoded block: the block structure, then each state part present. */
export function memberRows(image: MemoryImage, abi: Abi, ndis: NdisRevision, block: BlockFields): MemberRow[] {
  const scratch = new Location();
  const address = BigInt(block.address);
  const layout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis);
  const rows = structRows(image, abi, layout, address, block as unknown as Record<string, unknown>, block, true, image.writable, scratch);
  const type = stateType(block.Header.Type);
  if (block.state && type) {
    // Parts of a combined structure are aligned for their type: the gaps, and the tail, are its padding.
    const stateAt = address + BigInt(layout.size);
    const gap = (from: number, to: number): void => {
      if (to <= from) return;
      const a = stateAt + BigInt(from);
      rows.push({ path: paddingPath(`${type.combined}.`, from), name: '(padding)', depth: 0, ctype: '', address: hexAddress(a, abi), offset: from, size: to - from, fileOffset: image.locate(a, 1, scratch) && scratch.imageOffset >= 0 ? scratch.imageOffset : null, raw: rawBytes(image, a, to - from, scratch), value: '', meaning: `unused bytes of ${type.combined}`, editable: false, struct: false, padding: true });
    };
    let end = 0;
    const parts = stateParts(type, abi, ndis);
    for (const part of parts) {
      const json = block.state[part.name];
      if (!json) continue;
      gap(end, part.offset);
      rows.push(...structRows(image, abi, part.layout, stateAt + BigInt(part.offset), json, block, false, image.writable, scratch));
      end = part.offset + part.layout.size;
    }
    const last = parts[parts.length - 1];
    if (type.combined && last && block.state[last.name]) gap(end, stateSize(type, abi, ndis));
  }
  return rows;
}
