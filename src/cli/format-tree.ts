/**
 * The decode command's text view: the tree with box-drawing lines, each block's members and state
 * in windbg's `+0xNNN Name : value` form, values the way a network engineer reads them, and each
 * diagnostic beside the member it concerns.
 */
import { abiByName } from '../layout/abi.js';
import { flagNames } from '../layout/constants.js';
import type { NdisRevision } from '../layout/descriptor.js';
import type { PlacedField, StructLayout } from '../layout/msvc.js';
import { isNetworkOrder, layoutOf } from '../layout/registry.js';
import type { BlockJson, Diagnostic, TreeDocument } from '../tree/document.js';

export interface Palette {
  dim(s: string): string;
  bold(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  green(s: string): string;
}

const esc = (code: string) => (s: string) => `\u001b[${code}m${s}\u001b[0m`;
export const COLOR: Palette = { dim: esc('2'), bold: esc('1'), red: esc('31'), yellow: esc('33'), cyan: esc('36'), green: esc('32') };
const id = (s: string): string => s;
export const PLAIN: Palette = { dim: id, bold: id, red: id, yellow: id, cyan: id, green: id };

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function paletteFor(isTty: boolean, env: NodeJS.ProcessEnv): Palette {
  return isTty && !env.NO_COLOR && env.TERM !== 'dumb' ? COLOR : PLAIN;
}

const hex = (n: number, w = 3): string => `0x${n.toString(16).padStart(w, '0')}`;

/** Flattens a layout's members to dotted names with their offsets relative to the structure. */
function leaves(fields: readonly PlacedField[], prefix = ''): { name: string; field: PlacedField }[] {
  return fields.flatMap((f) => (f.fields ? leaves(f.fields, `${prefix}${f.name}.`) : [{ name: `${prefix}${f.name}`, field: f }]));
}

function valueAt(obj: Record<string, unknown>, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

const isZeroPtr = (v: unknown): boolean => typeof v === 'string' && /^0x0+$/.test(v);

/** Port stored in network byte order: show what it means and what the bytes read as. */
function port(v: number): string {
  const net = ((v & 0xff) << 8) | (v >> 8);
  return `${net} ${`(stored ${hex(v, 4)}; ${v} if read as host order)`}`;
}

function mac(hexBytes: string): string {
  const bytes = hexBytes.match(/../g) ?? [];
  const rest = bytes.slice(6).some((b) => b !== '00') ? ` +${bytes.slice(6).join('')}` : '';
  return `${bytes.slice(0, 6).join('-')}${rest}`;
}

function formatValue(struct: string, name: string, v: unknown, p: Palette): string {
  if (v === undefined) return p.dim('?');
  if (typeof v === 'object' && v !== null && 'name' in v) {
    const o = v as { name: string; hex?: string; value: number };
    return `${o.name.startsWith('unknown') ? p.yellow(o.name) : p.green(o.name)}${o.hex ? p.dim(` (${o.hex})`) : p.dim(` (${o.value})`)}`;
  }
  if (Array.isArray(v)) return v.map((e) => (isZeroPtr(e) ? p.dim('NULL') : String(e))).join(', ');
  if (typeof v === 'string') {
    if (name === 'DlSourceAddress' || name === 'DlDestinationAddress') return `${mac(v)}`;
    return isZeroPtr(v) ? p.dim('NULL') : v;
  }
  if (typeof v === 'number') {
    if (isNetworkOrder(struct, name)) return port(v);
    if (name === 'Flags') {
      const names = flagNames(struct, v);
      return `${hex(v, 4)}${names.length ? ` ${p.dim(names.join(' | '))}` : ''}`;
    }
    return v > 9 ? `${v} ${p.dim(`(${hex(v, 1)})`)}` : String(v);
  }
  return String(v);
}

export function formatTreeText(doc: TreeDocument, p: Palette): string {
  const abi = abiByName(doc.abi);
  const ndis = doc.ndis as NdisRevision;
  const blockLayout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis);
  const byPath = new Map<string, Diagnostic[]>();
  for (const d of doc.diagnostics) byPath.set(d.path, [...(byPath.get(d.path) ?? []), d]);
  const lines: string[] = [];
  const counts = { error: 0, warning: 0, info: 0 };
  for (const d of doc.diagnostics) counts[d.severity]++;

  lines.push(
    p.bold(`NDIS offload state tree`) +
      p.dim(` · ${doc.abi} · NDIS ${doc.ndis} · root ${doc.root} · operation: ${doc.operation ?? 'not given (state inferred from the bytes)'}`),
  );
  const sev = (d: Diagnostic): string => (d.severity === 'error' ? p.red : d.severity === 'warning' ? p.yellow : p.cyan)(`◀ ${d.code}: ${d.message}`);

  const struct = (layout: StructLayout, values: Record<string, unknown>, indent: string, diags: Diagnostic[], partPrefix: string): void => {
    const width = Math.max(...leaves(layout.fields).map((l) => l.name.length));
    for (const { name, field } of leaves(layout.fields)) {
      const v = valueAt(values, name);
      const extra = field.name === 'SourceAddress' || field.name === 'DestinationAddress' ? values[`*${field.name}`] : undefined;
      const cell = field.name === 'MiniportOffloadContext' && values['*MiniportOffloadContext'] !== undefined ? ` → *${values['*MiniportOffloadContext']}` : '';
      const shown = `${formatValue(layout.name, field.name, v, p)}${extra ? ` → ${p.bold(String(extra))}` : ''}${cell}`;
      const here = diags.filter((d) => d.member === `${partPrefix}${name}`);
      const bitPos = field.bitWidth !== undefined ? p.dim(` (Pos ${field.bitOffset}, ${field.bitWidth} Bits)`) : '';
      lines.push(`${indent}${p.dim(`+${hex(field.offset)}`)} ${name.padEnd(width)} : ${shown}${bitPos}${here.map((d) => `  ${sev(d)}`).join('')}`);
    }
  };

  const block = (b: BlockJson, path: string, prefix: string, last: boolean): void => {
    const diags = byPath.get(path) ?? [];
    const status = b.Status;
    lines.push(
      `${prefix}${last ? '└─ ' : '├─ '}${p.bold(`${b.layer}`)} ${path} ${p.cyan(b.address)}${b.offset !== null ? p.dim(` (offset ${hex(b.offset, 1)})`) : ''}  ${b.role}  ${b.type}  ${formatValue('', 'Status', status, p)}`,
    );
    const inner = `${prefix}${last ? '   ' : '│  '}`;
    const body = `${inner}${b.dependents.length ? '│' : ' '}   `;
    struct(blockLayout, b as unknown as Record<string, unknown>, body, diags, '');
    for (const [name, part] of Object.entries(b.state ?? {})) {
      lines.push(`${body}${p.bold(name)}`);
      struct(layoutOf(name, abi, ndis), part, `${body}  `, diags, `${name}.`);
    }
    for (const d of diags.filter((d) => !d.member || !d.member.split('.').length || !isShown(d, b))) lines.push(`${body}${sev(d)}`);
    b.dependents.forEach((c, i) => block(c, `${path}.dependents[${i}]`, inner, i === b.dependents.length - 1));
  };
  doc.blocks.forEach((b, i) => block(b, `blocks[${i}]`, '', i === doc.blocks.length - 1));
  // Diagnostics about blocks that could not be read (no node to print them beside).
  const printed = new Set<string>();
  const walk = (bs: BlockJson[], path: string): void =>
    bs.forEach((b, i) => {
      printed.add(`${path}[${i}]`);
      walk(b.dependents, `${path}[${i}].dependents`);
    });
  walk(doc.blocks, 'blocks');
  for (const d of doc.diagnostics) if (!printed.has(d.path)) lines.push(`${sev(d)} ${p.dim(`(${d.path}, ${d.address}${d.offset !== null ? `, offset ${hex(d.offset, 1)}` : ''})`)}`);
  lines.push(
    p.dim(`${countBlocks(doc.blocks)} blocks; `) +
      (counts.error ? p.red(`${counts.error} errors`) : '0 errors') +
      `, ${counts.warning ? p.yellow(`${counts.warning} warnings`) : '0 warnings'}, ${counts.info} notes`,
  );
  return `${lines.join('\n')}\n`;
}

/** Whether a diagnostic's member is printed as a field line of this block. */
function isShown(d: Diagnostic, b: BlockJson): boolean {
  const m = d.member!;
  const [head, ...rest] = m.split('.');
  if (b.state && head! in b.state) return rest.length > 0;
  return head! in b && m !== 'root';
}

function countBlocks(blocks: BlockJson[]): number {
  let n = 0;
  const stack = [...blocks];
  while (stack.length) {
    const b = stack.pop()!;
    n++;
    stack.push(...b.dependents);
  }
  return n;
}
