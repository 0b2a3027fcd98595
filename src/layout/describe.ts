/** Layouts as people and programs read them: windbg `dt` style text, and the `layout --json` shape. */
import type { PlacedField, StructLayout } from './msvc.js';
import type { TypeRef } from './descriptor.js';
import type { Abi } from './abi.js';

/** windbg's spelling of a type: `Uint4B`, `Ptr64 _NDIS_MINIPORT_OFFLOAD_BLOCK_LIST`, `[2] Ptr64 Void`. */
export function windbgType(t: TypeRef, abi: Abi): string {
  switch (t.kind) {
    case 'scalar':
      return { UCHAR: 'UChar', USHORT: 'Uint2B', ULONG: 'Uint4B', NDIS_STATUS: 'Int4B', NDIS_PORT_NUMBER: 'Uint4B' }[
        t.name
      ];
    case 'enum':
      return `_${t.name}`;
    case 'pointer':
      return `${abi.pointerKeyword} ${pointee(t.to, abi)}`;
    case 'array':
      return `[${t.count}] ${windbgType(t.of, abi)}`;
    case 'struct':
      return `_${t.name}`;
    case 'inline':
      return '<unnamed-tag>';
  }
}

function pointee(to: string, abi: Abi): string {
  if (to === 'VOID') return 'Void';
  if (to === 'PVOID') return `${abi.pointerKeyword} Void`;
  if (to === 'UCHAR') return 'UChar';
  return `_${to}`;
}

const hex3 = (n: number): string => `0x${n.toString(16).padStart(3, '0')}`;

/** The `dt -r` view of a structure: one member a line, nested members indented, bit positions. */
export function formatLayoutText(layout: StructLayout): string {
  const width = Math.max(...collectNames(layout.fields).map((n) => n.length));
  const lines = [
    `${layout.name}  (${layout.abi.name}, NDIS ${layout.ndis}): size ${hex3(layout.size)} (${layout.size}), align ${layout.align}`,
  ];
  const walk = (fields: readonly PlacedField[], depth: number): void => {
    for (const f of fields) {
      const type =
        f.bitWidth !== undefined
          ? `Pos ${f.bitOffset}, ${f.bitWidth} Bit${f.bitWidth === 1 ? '' : 's'}`
          : windbgType(f.type, layout.abi);
      lines.push(`${'   '.repeat(depth)}+${hex3(f.offset)} ${f.name.padEnd(width)} : ${type}`);
      if (f.fields) walk(f.fields, depth + 1);
    }
  };
  walk(layout.fields, 1);
  return lines.join('\n');
}

function collectNames(fields: readonly PlacedField[]): string[] {
  return fields.flatMap((f) => [f.name, ...(f.fields ? collectNames(f.fields) : [])]);
}

export interface LayoutJsonField {
  name: string;
  offset: number;
  size: number;
  type: string;
  bitOffset?: number;
  bitWidth?: number;
  fields?: LayoutJsonField[];
}

export interface LayoutJson {
  name: string;
  abi: string;
  ndis: string;
  size: number;
  align: number;
  fields: LayoutJsonField[];
}

/** The `layout --json` shape: offsets from the start of the structure, anonymous members flattened. */
export function layoutToJson(layout: StructLayout): LayoutJson {
  const conv = (f: PlacedField): LayoutJsonField => ({
    name: f.name,
    offset: f.offset,
    size: f.size,
    type: f.ctype,
    ...(f.bitWidth !== undefined ? { bitOffset: f.bitOffset!, bitWidth: f.bitWidth } : {}),
    ...(f.fields ? { fields: f.fields.map(conv) } : {}),
  });
  return {
    name: layout.name,
    abi: layout.abi.name,
    ndis: layout.ndis,
    size: layout.size,
    align: layout.align,
    fields: layout.fields.map(conv),
  };
}
