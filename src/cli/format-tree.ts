/**
 * The decode command's text view: the tree with box-drawing lines, each block's members and state
 * in windbg's `+0xNNN Name : value` form, values the way a network engineer reads them, and each
 * diagnostic beside the member it concerns. Or, brief, one line per block with the fields that
 * say which connection it is. Lines longer than the width are wrapped (never cut: nothing is
 * dropped), under the tree's guide lines, never inside an escape sequence.
 */
import { abiByName } from '../layout/abi.js';
import { flagNames } from '../layout/constants.js';
import type { NdisRevision } from '../layout/descriptor.js';
import type { PlacedField, StructLayout } from '../layout/msvc.js';
import { isNetworkOrder, layoutOf } from '../layout/registry.js';
import type { BlockStream } from '../tree/decode.js';
import { countOf } from '../tree/diagnostics.js';
import { type BlockFields, type BlockJson, type Diagnostic, type DocumentHead, type TreeDocument, diagnosticCounts } from '../tree/document.js';

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

/** A port as stored (network byte order read as little-endian) in host order. */
const hostPort = (v: number): number => ((v & 0xff) << 8) | (v >> 8);

/** Port stored in network byte order: show what it means and what the bytes read as. */
function port(v: number): string {
  return `${hostPort(v)} ${`(stored ${hex(v, 4)}; ${v} if read as host order)`}`;
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

/** Trees of more blocks than this are shown brief unless --full is given. */
export const BRIEF_OVER = 200;

export interface TreeTextOptions {
  /** Columns to fit: longer lines are wrapped. Absent or 0: no wrapping. */
  width?: number;
  /** `full`: every member of every block (the default); `brief`: one line per block. */
  view?: 'full' | 'brief';
  /** The brief view was chosen for the size of the tree, not asked for: the summary says how to get everything. */
  briefByDefault?: boolean;
}

/** A block of the text tree in document order, with what its lines need to know of the blocks after it. */
export interface TextBlock {
  path: string;
  depth: number;
  block: BlockFields;
  /** The last of its list (no sibling follows: `└─`). */
  last: boolean;
  /** It has dependents (its guide line goes on down). */
  hasDependents: boolean;
}

/** What the text tree is made of: the document's head, its blocks one at a time, its diagnostics and how many blocks there are. */
export interface TreeText {
  head: DocumentHead;
  blocks: Iterable<TextBlock>;
  blockCount: number;
  diagnostics: Diagnostic[];
}

/**
 * The text tree of a tree read twice, for memory bounded by a byte a block: a first reading
 * counts the blocks, finds the diagnostics and notes for each block (by its rank in document
 * order) whether a sibling follows it and whether it has dependents, which its lines show before
 * the blocks that tell; the second reading (`open` again: the same blocks in the same order)
 * gives the blocks to print.
 */
export function treeTextOf(open: () => BlockStream): TreeText {
  const first = open();
  let flags = new Uint8Array(1024);
  /** openAt[d]: rank of the last block at depth d whose list is still open, -1 for none. */
  const openAt: number[] = [];
  let n = 0;
  for (const { depth } of first) {
    if (n === flags.length) {
      const grown = new Uint8Array(Math.ceil(n * 1.5));
      grown.set(flags);
      flags = grown;
    }
    if (depth > 0) flags[openAt[depth - 1]!]! |= HAS_DEPENDENTS;
    if (openAt[depth] !== undefined && openAt[depth] !== -1) flags[openAt[depth]!]! |= NOT_LAST;
    openAt[depth] = n;
    openAt.length = depth + 1;
    n++;
  }
  const counted = flags;
  function* blocks(): Generator<TextBlock> {
    let rank = 0;
    for (const { path, depth, block } of open()) {
      const f = counted[rank++]!;
      yield { path, depth, block, last: (f & NOT_LAST) === 0, hasDependents: (f & HAS_DEPENDENTS) !== 0 };
    }
    if (rank !== n) throw new Error(`the tree read ${rank} blocks the second time, ${n} the first`);
  }
  return { head: first.head, blocks: blocks(), blockCount: n, diagnostics: first.diagnostics };
}

const NOT_LAST = 1;
const HAS_DEPENDENTS = 2;

/** The text view of a whole document. */
export function formatTreeText(doc: TreeDocument, p: Palette, options: TreeTextOptions = {}): string {
  const { blocks, diagnostics, ...head } = doc;
  function* each(list: BlockJson[], path: string, depth: number): Generator<TextBlock> {
    for (let i = 0; i < list.length; i++) {
      const { dependents, ...block } = list[i]!;
      yield { path: `${path}[${i}]`, depth, block, last: i === list.length - 1, hasDependents: dependents.length > 0 };
      yield* each(dependents, `${path}[${i}].dependents`, depth + 1);
    }
  }
  const lines: string[] = [];
  writeTreeText({ head, blocks: each(blocks, 'blocks', 0), blockCount: countBlocks(blocks), diagnostics }, p, options, (line) => lines.push(line));
  return `${lines.join('\n')}\n`;
}

/**
 * The text view, a line at a time (each wrapped to the width, without its newline), as the blocks
 * come: what it keeps is the diagnostics, by path, and a prefix a layer.
 */
export function writeTreeText(tree: TreeText, p: Palette, options: TreeTextOptions, out: (line: string) => void): void {
  const doc = tree.head;
  const abi = abiByName(doc.abi);
  const ndis = doc.ndis as NdisRevision;
  const blockLayout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis);
  const brief = options.view === 'brief';
  const byPath = new Map<string, Diagnostic[]>();
  // Summaries (a count of diagnostics at many blocks) and DIAGNOSTICS_LIMIT are printed after the tree.
  const after: Diagnostic[] = [];
  for (const d of tree.diagnostics) {
    if (d.count !== undefined || d.code === 'DIAGNOSTICS_LIMIT') after.push(d);
    else byPath.set(d.path, [...(byPath.get(d.path) ?? []), d]);
  }
  const width = options.width ?? 0;
  /** A line, wrapped with the prefix its continuation lines start with. */
  const emit = (line: string, cont = ''): void => {
    if (width > 0) for (const l of wrapLine(line, width, cont)) out(l);
    else out(line);
  };
  const counts = diagnosticCounts(tree.diagnostics);

  emit(
    p.bold(`NDIS offload state tree`) +
      p.dim(` · ${doc.abi} · NDIS ${doc.ndis} · root ${doc.root} · operation: ${doc.operation ?? 'not given (state inferred from the bytes)'}`),
    '  ',
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
      // Continuation lines start under the value.
      emit(`${indent}${p.dim(`+${hex(field.offset)}`)} ${name.padEnd(width)} : ${shown}${bitPos}${here.map((d) => `  ${sev(d)}`).join('')}`, `${indent}${' '.repeat(hex(field.offset).length + 2 + width + 3)}`);
    }
  };

  /** Paths of diagnostics printed beside their block. */
  const printed = new Set<string>();
  /** prefixes[d]: the guide lines before a block at depth d; ipsAt[d]: the endpoints its ancestors say. */
  const prefixes: string[] = [''];
  const ipsAt: (Endpoints | undefined)[] = [undefined];
  for (const { path, depth, block: b, last, hasDependents } of tree.blocks) {
    const prefix = prefixes[depth]!;
    const ips = ipsAt[depth];
    const diags = byPath.get(path) ?? [];
    if (diags.length) printed.add(path);
    const status = b.Status;
    const inner = `${prefix}${last ? '   ' : '│  '}`;
    const body = `${inner}${hasDependents ? '│' : ' '}   `;
    prefixes[depth + 1] = inner;
    ipsAt[depth + 1] = endpoints(b) ?? ips;
    if (brief) {
      const problems = diags.filter((d) => d.severity !== 'info');
      emit(`${prefix}${last ? '└─ ' : '├─ '}${p.bold(b.layer)} ${p.cyan(b.address)} ${b.role} ${b.type} ${briefStatus(status.name)}${key(b, ips, p)}`, body);
      for (const d of problems) emit(`${body}${sev(d)}`, `${body}  `);
    } else {
      emit(
        `${prefix}${last ? '└─ ' : '├─ '}${p.bold(`${b.layer}`)} ${path} ${p.cyan(b.address)}${b.offset !== null ? p.dim(` (offset ${hex(b.offset, 1)})`) : ''}  ${b.role}  ${b.type}  ${formatValue('', 'Status', status, p)}`,
        body,
      );
      struct(blockLayout, b as unknown as Record<string, unknown>, body, diags, '');
      for (const [name, part] of Object.entries(b.state ?? {})) {
        emit(`${body}${p.bold(name)}`, body);
        struct(layoutOf(name, abi, ndis), part, `${body}  `, diags, `${name}.`);
      }
      for (const d of diags.filter((d) => !d.member || !d.member.split('.').length || !isShown(d, b))) emit(`${body}${sev(d)}`, `${body}  `);
    }
  }
  // Diagnostics about blocks that could not be read (no node to print them beside).
  // The brief view shows errors and warnings; notes are counted in the summary line.
  const shown = (d: Diagnostic): boolean => !brief || d.severity !== 'info';
  for (const d of tree.diagnostics) {
    if (d.count === undefined && d.code !== 'DIAGNOSTICS_LIMIT' && !printed.has(d.path) && shown(d)) {
      emit(`${sev(d)} ${p.dim(`(${d.path}, ${d.address}${d.offset !== null ? `, offset ${hex(d.offset, 1)}` : ''})`)}`, '  ');
    }
  }
  for (const d of after) if (shown(d)) emit(sev(d), '  ');
  const blocks = tree.blockCount;
  const view = options.briefByDefault ? p.dim(` (brief view of a tree over ${BRIEF_OVER} blocks: --full shows every member and note)`) : '';
  emit(
    p.dim(`${blocks} ${blocks === 1 ? 'block' : 'blocks'}; `) +
      (counts.error ? p.red(countOf(counts.error, 'error')) : '0 errors') +
      `, ${counts.warning ? p.yellow(countOf(counts.warning, 'warning')) : '0 warnings'}, ${countOf(counts.info, 'info')}${view}`,
  );
}

/** What a path block says about the connections above it: its two IP addresses. */
interface Endpoints {
  source?: string;
  destination?: string;
}

function endpoints(b: BlockFields): Endpoints | undefined {
  const c = b.state?.PATH_OFFLOAD_STATE_CONST;
  if (!c) return undefined;
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return { source: text(c['*SourceAddress']), destination: text(c['*DestinationAddress']) };
}

/** NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS as OFFLOAD_PARTIAL_SUCCESS: the brief view's column. */
const briefStatus = (name: string): string => name.replace(/^NDIS_STATUS_/, '');


/** The brief view's key fields of a block: MACs and VLAN, IPs, or IP:port pairs in host order and the TCP state. */
function key(b: BlockFields, ips: Endpoints | undefined, p: Palette): string {
  const s = b.state ?? {};
  const parts: string[] = [];
  const nc = s.NEIGHBOR_OFFLOAD_STATE_CONST;
  const ncached = s.NEIGHBOR_OFFLOAD_STATE_CACHED;
  if (nc && typeof nc.DlSourceAddress === 'string') parts.push(`${mac(nc.DlSourceAddress)}${nc.VlanId ? ` vlan ${String(nc.VlanId)}` : ''}`);
  if (ncached && typeof ncached.DlDestinationAddress === 'string') parts.push(`→ ${mac(ncached.DlDestinationAddress)}`);
  const own = endpoints(b);
  if (own) parts.push(`${own.source ?? '?'} → ${own.destination ?? '?'}`);
  const tc = s.TCP_OFFLOAD_STATE_CONST;
  if (tc && typeof tc.LocalPort === 'number' && typeof tc.RemotePort === 'number') {
    const at = (ip: string | undefined, port: number): string => `${ip === undefined ? '' : ip.includes(':') ? `[${ip}]` : ip}:${port}`;
    parts.push(`${at(ips?.source, hostPort(tc.LocalPort))} → ${at(ips?.destination, hostPort(tc.RemotePort))}`);
  }
  const state = s.TCP_OFFLOAD_STATE_DELEGATED?.State as { name?: string } | undefined;
  if (state?.name) parts.push(state.name.replace(/^TcpConnection/, ''));
  return parts.length ? ` ${p.bold(parts.join(' '))}` : '';
}

const SGR = /\u001b\[[0-9;]*m/y;
const RESET = '\u001b[0m';

/** Columns a line takes on a terminal: its characters, escape sequences not counted. */
export function visibleLength(line: string): number {
  return [...line.replace(/\u001b\[[0-9;]*m/g, '')].length;
}

/**
 * The start of a continuation line: `cont` when it leaves 30 columns, else its guide lines and two
 * spaces when they leave 20, else nothing.
 */
export function continuation(cont: string, width: number): string {
  if (visibleLength(cont) <= width - 30) return cont;
  const guides = cont.trimEnd();
  return guides && visibleLength(guides) + 2 <= width - 20 ? `${guides}  ` : '';
}

/**
 * `line` as lines of at most `width` columns: broken at the last space that fits (or, in a word
 * longer than the room, where the room ends), continuation lines starting with continuation(cont). An escape sequence is never split; colour open at a break is
 * reset at the end of the line and opened again after `cont`.
 */
export function wrapLine(line: string, width: number, cont: string): string[] {
  if (visibleLength(line) <= width) return [line];
  const units: { s: string; esc: boolean }[] = [];
  for (let i = 0; i < line.length; ) {
    SGR.lastIndex = i;
    const m = SGR.exec(line);
    const s = m ? m[0] : String.fromCodePoint(line.codePointAt(i)!);
    units.push({ s, esc: m !== null });
    i += s.length;
  }
  const prefix = continuation(cont, width);
  const out: string[] = [];
  let active = '';
  let start = 0;
  while (start < units.length) {
    const room = out.length === 0 ? width : width - visibleLength(prefix);
    let visible = 0;
    let end = start;
    let space = -1;
    while (end < units.length && (units[end]!.esc || visible < room)) {
      if (!units[end]!.esc) {
        // A break at a space, but not the one after a ◀ (it belongs to the code that follows).
        if (units[end]!.s === ' ' && visible > 0 && units[end - 1]!.s !== '◀') space = end;
        visible++;
      }
      end++;
    }
    let next = end;
    // Break at a space when one leaves at least a third of the room used; never leave only escapes.
    if (end < units.length && space > start) {
      let before = 0;
      for (let i = start; i < space; i++) if (!units[i]!.esc) before++;
      if (before >= room / 3) {
        end = space;
        next = space + 1;
      }
    }
    // No trailing blanks at a break (two spaces between columns leave one).
    if (next < units.length) while (end > start && units[end - 1]!.s === ' ') end--;
    let text = out.length === 0 ? '' : `${prefix}${active}`;
    for (let i = start; i < end; i++) {
      const u = units[i]!;
      text += u.s;
      if (u.esc) active = u.s === RESET ? '' : active + u.s;
    }
    if (next < units.length && active) text += RESET;
    out.push(text);
    start = next;
  }
  return out;
}

/** Whether a diagnostic's member is printed as a field line of this block. */
function isShown(d: Diagnostic, b: BlockFields): boolean {
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
