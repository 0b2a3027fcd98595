/**
 * Acting on a region capture in the Worker: editing one member, undo and redo, and completing an
 * operation with the status writer. Every write goes through the library: a member is written by
 * encodeOnto of a document that gives that member alone (so the same forms, the same range checks
 * and the same all-or-nothing rule as `encode --onto`), a completion by the StatusWriter (as
 * `complete`). Each write is kept as the bytes it changed, before and after, for undo and redo.
 * Dumps, cores and physical images are read-only: every write is refused with the reason.
 */
import { integerRange } from '../../codec/struct-io.js';
import { SegmentImage } from '../../codec/image.js';
import { EncodeError, UsageError } from '../../errors.js';
import { NDIS_STATUS_VALUES, OPERATIONS, type Operation, TCP_OFFLOAD_CONNECTION_STATE, describeStatus, stateType } from '../../layout/constants.js';
import type { PlacedField, StructLayout } from '../../layout/msvc.js';
import { layoutOf } from '../../layout/registry.js';
import { didYouMean } from '../../suggest.js';
import { FORMAT } from '../../tree/document.js';
import { type EncodeInput, encodeOnto } from '../../tree/encode.js';
import { swap16 } from '../../tree/encode-forms.js';
import { stateParts } from '../../tree/state.js';
import { StatusWriter, type StatusValue } from '../../tree/status-writer.js';
import type { CompletePreview, CompleteRequest, EditSpec, EditState } from '../protocol.js';
import type { Session } from './session.js';

const BLOCK = 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST';

/** One write: the file offsets it changed, with their bytes before and after. */
interface Change {
  what: string;
  offsets: Uint32Array;
  before: Uint8Array;
  after: Uint8Array;
}

/** The writes made to one session's region, for undo and redo, and the bytes as opened. */
class EditLog {
  readonly done: Change[] = [];
  readonly undone: Change[] = [];
  /** The byte at each offset ever written, as the file held it when opened. */
  readonly original = new Map<number, number>();
  last: Change | undefined;
}

const logs = new WeakMap<Session, EditLog>();

function logOf(s: Session): EditLog {
  let log = logs.get(s);
  if (!log) logs.set(s, (log = new EditLog()));
  return log;
}

/** The region's bytes, or the reason the capture cannot be written. */
export function writableBytes(s: Session, what: string): Uint8Array {
  const summary = s.summary();
  if (!s.regionBytes || !summary.writable) {
    throw new UsageError(`${what}: ${summary.readOnlyReason ?? `${summary.format} captures are read-only here`}; export the tree as a region capture (with its JSON document) and ${what.startsWith('complete') ? 'complete' : 'edit'} that`);
  }
  return s.regionBytes;
}

function regionBase(s: Session): bigint {
  return [...s.capture.image.ranges()][0]!.address;
}

/** Runs `write` over the region and records what it changed (nothing recorded when no byte did). */
function recordWrite(s: Session, what: string, write: (image: typeof s.capture.image) => void): EditState {
  const bytes = writableBytes(s, what);
  const before = bytes.slice();
  write(s.capture.image);
  const offsets: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== before[i]) offsets.push(i);
  const log = logOf(s);
  if (offsets.length) {
    const at = Uint32Array.from(offsets);
    const change: Change = { what, offsets: at, before: Uint8Array.from(at, (o) => before[o]!), after: Uint8Array.from(at, (o) => bytes[o]!) };
    for (let k = 0; k < at.length; k++) if (!log.original.has(at[k]!)) log.original.set(at[k]!, change.before[k]!);
    log.done.push(change);
    log.undone.length = 0;
    log.last = change;
  } else log.last = { what: `${what} (no byte changed)`, offsets: new Uint32Array(), before: new Uint8Array(), after: new Uint8Array() };
  return editState(s);
}

/** What changed since the file was opened, and what undo and redo would do. */
export function editState(s: Session): EditState {
  const log = logOf(s);
  const bytes = s.regionBytes;
  const changed: number[] = [];
  if (bytes) for (const [o, b] of log.original) if (bytes[o] !== b) changed.push(o);
  changed.sort((a, b) => a - b);
  const last = log.last;
  return {
    changed,
    ...(last ? { last: { what: last.what, offsets: [...last.offsets] } } : {}),
    ...(log.done.length ? { undo: log.done[log.done.length - 1]!.what } : {}),
    ...(log.undone.length ? { redo: log.undone[log.undone.length - 1]!.what } : {}),
  };
}

export function undo(s: Session): EditState {
  const bytes = writableBytes(s, 'undo');
  const log = logOf(s);
  const c = log.done.pop();
  if (!c) throw new UsageError('nothing to undo');
  for (let k = 0; k < c.offsets.length; k++) bytes[c.offsets[k]!] = c.before[k]!;
  log.undone.push(c);
  log.last = { ...c, what: `undid ${c.what}` };
  return editState(s);
}

export function redo(s: Session): EditState {
  const bytes = writableBytes(s, 'redo');
  const log = logOf(s);
  const c = log.undone.pop();
  if (!c) throw new UsageError('nothing to redo');
  for (let k = 0; k < c.offsets.length; k++) bytes[c.offsets[k]!] = c.after[k]!;
  log.done.push(c);
  log.last = { ...c, what: `redid ${c.what}` };
  return editState(s);
}

// ---------------------------------------------------------------------------------------------
// Editing one member

/** Where a member row's path lies: its structure's layout, its field, and the path of names in the document. */
interface MemberPlace {
  layout: StructLayout;
  field: PlacedField;
  /** The state part's name, undefined for the block structure's members. */
  part: string | undefined;
  /** The member names from the structure down (`Header`, `Size`). */
  names: string[];
}

function placeOf(s: Session, row: number, member: string): MemberPlace {
  const block = s.block(row);
  if (/(^|[. ])padding$/.test(member)) throw new UsageError(`${member}: unused bytes between members, not a member: nothing to edit`);
  const [structure, ...names] = member.split('.');
  if (!structure || !names.length) throw new UsageError(`'${member}' is not a member (give STRUCTURE.Member, as the details pane names it)`);
  let layout: StructLayout;
  let part: string | undefined;
  if (structure === BLOCK) layout = layoutOf(BLOCK, s.abi, s.ndis);
  else {
    const type = stateType(block.Header.Type);
    const parts = type ? stateParts(type, s.abi, s.ndis).filter((p) => block.state?.[p.name] !== undefined) : [];
    const found = parts.find((p) => p.name === structure);
    if (!found) throw new UsageError(`${structure}: not a structure of the block at ${block.address}${didYouMean(structure, [BLOCK, ...parts.map((p) => p.name)]) || ` (it has ${[BLOCK, ...parts.map((p) => p.name)].join(', ')})`}`);
    layout = found.layout;
    part = found.name;
  }
  let fields: readonly PlacedField[] = layout.fields;
  let field: PlacedField | undefined;
  for (const [i, name] of names.entries()) {
    field = fields.find((f) => f.name === name);
    if (!field) throw new UsageError(`${member}: ${layout.name} has no member ${names.slice(0, i + 1).join('.')}${didYouMean(name, fields.map((f) => f.name))}`);
    if (i < names.length - 1) {
      if (!field.fields) throw new UsageError(`${member}: ${names.slice(0, i + 1).join('.')} is not a structure`);
      fields = field.fields;
    }
  }
  if (field!.fields) throw new UsageError(`${member} is a structure: edit its members one by one`);
  return { layout, field: field!, part, names };
}

const isStatus = (p: MemberPlace): boolean => p.part === undefined && p.names.length === 1 && p.names[0] === 'Status';
const isConnectionState = (p: MemberPlace): boolean => p.field.type.kind === 'enum' && p.field.type.name === 'TCP_OFFLOAD_CONNECTION_STATE';

/** The member's value in the block's document form. */
function documentValue(s: Session, row: number, p: MemberPlace): unknown {
  const block = s.block(row) as unknown as Record<string, unknown>;
  let o: unknown = p.part === undefined ? block : (block.state as Record<string, unknown>)[p.part];
  for (const n of p.names) o = o && typeof o === 'object' ? (o as Record<string, unknown>)[n] : undefined;
  return o;
}

export function editSpec(s: Session, row: number, member: string): EditSpec {
  writableBytes(s, `editing ${member}`);
  const p = placeOf(s, row, member);
  const f = p.field;
  const value = documentValue(s, row, p);
  const base = { row, member, ctype: f.ctype };
  const range = integerRange(f.type, f.bitWidth, s.abi.pointerSize);
  const bounds = range ? { min: String(range.min), max: String(range.max) } : {};
  const bits = f.bitWidth !== undefined ? { bits: f.bitWidth } : {};
  if (isStatus(p)) {
    return { ...base, kind: 'status', names: Object.keys(NDIS_STATUS_VALUES), current: (value as { name: string }).name, hint: 'an NDIS_STATUS name (NDIS_STATUS_SUCCESS…) or a 32-bit hex word (C0000001)' };
  }
  if (isConnectionState(p)) {
    return { ...base, kind: 'enum', ...bounds, names: [...TCP_OFFLOAD_CONNECTION_STATE], current: (value as { name: string }).name, hint: `a TCP_OFFLOAD_CONNECTION_STATE name, or its number (${bounds.min}..${bounds.max})` };
  }
  if (f.networkOrder) {
    return { ...base, kind: 'port', min: '0', max: '65535', current: String(swap16(Number(value))), hint: `the port in host order (0..65535); stored in network byte order, as { "host": N } in a document` };
  }
  if (f.type.kind === 'pointer') return { ...base, kind: 'pointer', ...bounds, current: String(value), hint: `an address, hexadecimal (${s.abi.pointerSize * 8}-bit)` };
  if (f.type.kind === 'array' && f.type.of.kind === 'scalar' && f.type.of.name === 'UCHAR') {
    return { ...base, kind: 'bytes', current: String(value), hint: `up to ${f.type.count} bytes in hex (missing bytes at the end are left as they are)` };
  }
  if (range) {
    const what = f.bitWidth !== undefined ? `a ${f.bitWidth}-bit field of ${f.ctype}` : f.ctype;
    return { ...base, kind: 'integer', ...bounds, ...bits, current: String(value), hint: `${what}: ${bounds.min}..${bounds.max}, decimal or 0x hex` };
  }
  const hint = f.type.kind === 'array' ? `a JSON array of ${f.type.count} ${f.ctype.replace(/\[\d+\]$/, '')} values, as the JSON document writes it` : 'the value as the JSON document writes it';
  return { ...base, kind: 'json', current: JSON.stringify(value), hint };
}

/** The text typed for a member, as a document value of the member (the forms encode takes). */
function inputValue(spec: EditSpec, text: string): unknown {
  const t = text.trim();
  if (!t) throw new UsageError(`${spec.member}: give a value (${spec.hint})`);
  switch (spec.kind) {
    case 'port':
      return { host: t };
    case 'pointer':
      return /^[0-9a-f]+$/i.test(t) && !/^[0-9]+$/.test(t) ? `0x${t}` : t.replace(/[`']/g, '');
    case 'json':
      try {
        return JSON.parse(t) as unknown;
      } catch {
        throw new UsageError(`${spec.member}: not JSON: ${t}`);
      }
    default:
      return t;
  }
}

/** The one-member document: the block's address, and the member at its place (nothing else is written). */
export function memberDocument(s: Session, row: number, member: string, text: string): EncodeInput {
  const spec = editSpec(s, row, member);
  const p = placeOf(s, row, member);
  const r = s.rows[row]!;
  let value: unknown = inputValue(spec, text);
  for (let i = p.names.length - 1; i >= 0; i--) value = { [p.names[i]!]: value };
  const block = { address: r.address, ...(p.part === undefined ? (value as object) : { state: { [p.part]: value } }) };
  return { format: FORMAT, abi: s.abi.name, ndis: s.ndis, base: s.hex(regionBase(s)), blocks: [block] };
}

/** Writes one member (all or nothing, as encode --onto); an error names the block's path in the tree. */
export function editMember(s: Session, row: number, member: string, text: string): EditState {
  const r = s.rows[row];
  if (!r) throw new UsageError(`no block row ${row}`);
  const doc = memberDocument(s, row, member, text);
  return recordWrite(s, `${r.path} ${member} = ${text.trim()}`, (image) => {
    try {
      encodeOnto(doc, image, { abi: s.abi, ndis: s.ndis });
    } catch (e) {
      if (e instanceof EncodeError) throw new EncodeError(e.path.replace(/^blocks\[0\]/, r.path), e.message.slice(e.path.length + 2));
      throw e;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Completing an operation

function statusOf(text: string, what: string): StatusValue {
  const t = text.trim();
  if (Object.hasOwn(NDIS_STATUS_VALUES, t)) return t as keyof typeof NDIS_STATUS_VALUES;
  const hex = t.replace(/^0x/i, '');
  if (/^[0-9a-f]{1,8}$/i.test(hex)) return Number.parseInt(hex, 16) | 0;
  throw new UsageError(`${what}: unknown NDIS_STATUS name '${t}'${didYouMean(t, Object.keys(NDIS_STATUS_VALUES)) || ' (or give the value in hex, e.g. c0000001)'}`);
}

function completeOptions(s: Session, req: CompleteRequest): { operation: Operation; status?: StatusValue; statusByAddress: Map<bigint, StatusValue> } {
  if (!(OPERATIONS as readonly string[]).includes(req.operation)) throw new UsageError(`unknown operation '${req.operation}' (known: ${OPERATIONS.join(', ')})${didYouMean(req.operation, OPERATIONS)}`);
  const statusByAddress = new Map<bigint, StatusValue>();
  for (const f of req.fail ?? []) {
    const address = BigInt(f.address);
    if (statusByAddress.has(address)) throw new UsageError(`--fail: ${f.address} is given twice: give each block one status`);
    statusByAddress.set(address, statusOf(f.status, `--fail ${f.address}`));
  }
  const status = req.status ? statusOf(req.status, '--status') : undefined;
  if (s.root === undefined) throw new UsageError('decode the tree first');
  return { operation: req.operation as Operation, ...(status !== undefined ? { status } : {}), statusByAddress };
}

const statusText = (v: number): string => describeStatus(v);

/** What the StatusWriter would write per block: it completes a copy of the region, which is then compared. */
export function completePreview(s: Session, req: CompleteRequest): CompletePreview {
  const bytes = writableBytes(s, `complete ${req.operation}`);
  const options = completeOptions(s, req);
  const copy = bytes.slice();
  const summary = new StatusWriter().complete(SegmentImage.region(copy, regionBase(s)), s.root!, { ...options, abi: s.abi });
  const statusAt = layoutOf(BLOCK, s.abi, s.ndis).fields.find((f) => f.name === 'Status')!.offset;
  const word = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset).getInt32(o, true);
  const blocks = s.rows.map((r, row) => {
    const at = r.offset === null ? undefined : r.offset + statusAt;
    const before = at === undefined ? r.status : statusText(word(bytes, at));
    const after = at === undefined ? r.status : statusText(word(copy, at));
    return { row, path: r.path, layer: r.layer, role: r.role, address: r.address, before, after };
  });
  return { operation: options.operation, blocks, byRole: { ...summary.byRole }, byStatus: { ...summary.byStatus } };
}

/** Completes the operation in the region (all or nothing, as `complete`): one undoable write. */
export function completeOperation(s: Session, req: CompleteRequest): EditState {
  writableBytes(s, `complete ${req.operation}`);
  const options = completeOptions(s, req);
  return recordWrite(s, `complete ${options.operation}`, (image) => {
    new StatusWriter().complete(image, s.root!, { ...options, abi: s.abi });
  });
}
