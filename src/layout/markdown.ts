/** The text of docs/layout.md, generated from the descriptors, their layouts and the constants. */
import { X64, X86 } from './abi.js';
import {
  ALLOWED_STATUS,
  FLAGS,
  NDIS_STATUS_VALUES,
  OFFLOAD_STATE_TYPE,
  OPERATIONS,
  TCP_OFFLOAD_CONNECTION_STATE,
  statusHex,
  type NdisStatusName,
} from './constants.js';
import { NDIS_REVISIONS, type NdisRevision } from './descriptor.js';
import type { PlacedField, StructLayout } from './msvc.js';
import { DEFAULT_NDIS, STRUCTS, layoutOf } from './registry.js';

const hex = (n: number, width = 3): string => `0x${n.toString(16).padStart(width, '0')}`;
const code = (s: string): string => `\`${s}\``;
const anchor = (name: string): string => `[${name}](#${name.toLowerCase()})`;

interface Row {
  readonly path: string;
  readonly field: PlacedField;
}

const rows = (fields: readonly PlacedField[], prefix = ''): Row[] =>
  fields.flatMap((f) => [{ path: prefix + f.name, field: f }, ...(f.fields ? rows(f.fields, `${prefix}${f.name}.`) : [])]);

const bitRange = (f: PlacedField): string => `bits ${f.bitOffset!}–${f.bitOffset! + f.bitWidth! - 1}`;

function cType(a: PlacedField, b: PlacedField): string {
  if (a.bitWidth === undefined) return code(a.type.kind === 'inline' ? 'struct { … }' : a.ctype);
  const where = bitRange(a) === bitRange(b) ? bitRange(a) : `${bitRange(a)} on x64, ${bitRange(b)} on x86`;
  return `${code(`${a.ctype} : ${a.bitWidth}`)} (${where})`;
}

/** Members present under the default revision but not under an earlier one, by path. */
function newerMembers(name: string): Map<string, NdisRevision> {
  const since = new Map<string, NdisRevision>();
  const seen = new Set<string>();
  for (const ndis of NDIS_REVISIONS) {
    for (const r of rows(layoutOf(name, X64, ndis).fields)) {
      if (!seen.has(r.path) && ndis !== NDIS_REVISIONS[0]) since.set(r.path, ndis);
      seen.add(r.path);
    }
  }
  return since;
}

/** Groups of members sharing storage, one group per anonymous union: `a`, `b` | `c`. */
function unions(layout: StructLayout): string[] {
  const groups = new Map<number, Map<number, string[]>>();
  for (const { path, field } of rows(layout.fields)) {
    if (!field.union) continue;
    const alts = groups.get(field.union.id) ?? new Map<number, string[]>();
    groups.set(field.union.id, alts);
    alts.set(field.union.alternative, [...(alts.get(field.union.alternative) ?? []), code(path)]);
  }
  return [...groups.values()].map((alts) => [...alts.values()].map((a) => a.join(', ')).join(' | '));
}

const total = (l: StructLayout): string => `${l.size} bytes (${hex(l.size, 2)}), alignment ${l.align}`;

function structSection(name: string): string {
  const x64 = layoutOf(name, X64, DEFAULT_NDIS);
  const x86 = layoutOf(name, X86, DEFAULT_NDIS);
  const [r64, r86] = [rows(x64.fields), rows(x86.fields)];
  const since = newerMembers(name);
  const lines = [
    `## ${name}`,
    '',
    x64.doc,
    '',
    '| offset x64 | offset x86 | size x64 | size x86 | member | C type |',
    '|---:|---:|---:|---:|---|---|',
    ...r64.map(({ path, field: a }, i) => {
      const b = r86[i]?.path === path ? r86[i]!.field : undefined;
      if (!b) throw new Error(`${name}: x64 and x86 layouts list different members at ${path}`);
      const marker = since.has(path) ? ` (NDIS ${since.get(path)}+)` : '';
      return `| ${hex(a.offset)} | ${hex(b.offset)} | ${a.size} | ${b.size} | ${code(path)}${marker} | ${cType(a, b)} |`;
    }),
    '',
    `Total: ${total(x64)} on x64; ${total(x86)} on x86.`,
  ];
  const shared = unions(x64);
  if (shared.length) lines.push('', `Anonymous unions (alternatives share storage): ${shared.join('; ')}.`);
  if (since.size) {
    const sizes = NDIS_REVISIONS.map(
      (n) => `NDIS ${n}: ${layoutOf(name, X64, n).size} bytes on x64, ${layoutOf(name, X86, n).size} on x86`,
    );
    const members = [...since].map(([path, n]) => `${code(path)} is NDIS ${n} and later`).join('; ');
    lines.push('', `${members}. Size by revision: ${sizes.join('; ')}.`);
  }
  return lines.join('\n');
}

function constantsSections(): string {
  const value = (v: number): string => (v >= 0x80 ? `0x${v.toString(16).toUpperCase()}` : String(v));
  const follows = (t: (typeof OFFLOAD_STATE_TYPE)[number]): string => {
    if (t.parts.length === 0) return 'nothing (reserved)';
    const parts = t.parts.map(anchor).join(', then ');
    const address = t.addressBytes ? ` (${t.addressBytes}-byte addresses)` : '';
    return `${parts}${t.combined ? `, laid out as ${anchor(t.combined)}` : ''}${address}`;
  };
  const allowedIn = (s: NdisStatusName): string =>
    OPERATIONS.filter((op) => ALLOWED_STATUS[op].includes(s)).join(', ') || '—';
  return [
    '## OFFLOAD_STATE_TYPE',
    '',
    'The value of a block\'s `Header.Type`: which state structures follow the block in memory.',
    '',
    '| value | name | layer | state that follows the block |',
    '|---:|---|---|---|',
    ...OFFLOAD_STATE_TYPE.map((t) => `| ${value(t.value)} | ${t.name} | ${t.layer ?? '—'} | ${follows(t)} |`),
    '',
    '## TCP_OFFLOAD_CONNECTION_STATE',
    '',
    'The enum in `TCP_OFFLOAD_STATE_DELEGATED.State` (4 bytes).',
    '',
    '| value | name |',
    '|---:|---|',
    ...TCP_OFFLOAD_CONNECTION_STATE.map((n, i) => `| ${i} | ${n} |`),
    '',
    '## Flags',
    ...Object.entries(FLAGS).flatMap(([struct, bits]) => [
      '',
      `Bits of ${anchor(struct)}\`.Flags\`:`,
      '',
      '| bit | name |',
      '|---:|---|',
      ...Object.entries(bits).map(([n, b]) => `| ${hex(b, 2)} | ${n} |`),
    ]),
    '',
    '## NDIS_STATUS values',
    '',
    'The values a block\'s `Status` may hold (a signed 32-bit integer), and the operations whose completion ' +
      'allows each. NDIS_STATUS_OFFLOAD_PATH_MTU is documented for initiate, but no WDK header defines its ' +
      'value; a value not listed here decodes as unknown, not as an error.',
    '',
    '| value | name | allowed when completing |',
    '|---|---|---|',
    ...Object.entries(NDIS_STATUS_VALUES).map(
      ([n, v]) => `| ${statusHex(v)} | ${n} | ${allowedIn(n as NdisStatusName)} |`,
    ),
  ].join('\n');
}

/** The whole of docs/layout.md. */
export function layoutMarkdown(): string {
  const intro = [
    '<!-- Generated from src/layout by `npm run generate`: do not edit. -->',
    '# Offload structure layouts',
    '',
    'The structures of a Windows TCP chimney offload state tree: the `NDIS_MINIPORT_OFFLOAD_BLOCK_LIST` ' +
      'blocks (ndischimney.h) that form the tree, and the neighbor, path and TCP state structures that ' +
      'follow a block in memory. Offsets are computed from the structure descriptors by the Microsoft C ' +
      'layout rules (natural alignment, tail padding, MSVC bit-field storage units) for x64 and x86, and ' +
      'the test suite checks every structure and member against `gcc -mms-bitfields`. Tables show ' +
      `NDIS ${DEFAULT_NDIS}; offsets are hexadecimal, sizes in bytes; a bit-field's offset and size are ` +
      'those of its storage unit. This file is generated: do not edit it, regenerate it with `npm run generate`.',
  ].join('\n');
  return `${[intro, ...STRUCTS.map((s) => structSection(s.name)), constantsSections()].join('\n\n')}\n`;
}
