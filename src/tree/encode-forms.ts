/**
 * The printed forms of one value, read back as input. The decoder prints some members in more
 * than one form: Status as { value, hex, name }, TCP_OFFLOAD_STATE_DELEGATED.State as
 * { value, name }, Header.Type beside the block's `type` name. In a document given to encode every
 * form is input: the forms of one member agree, or one edited form wins over forms that still
 * hold the capture's value (encoding onto a capture), or the encode fails naming them. Ports
 * (network byte order) also take `{ "host": N }`, the number a user reads.
 */
import { toInteger } from '../codec/struct-io.js';
import { EncodeError } from '../errors.js';
import { NDIS_STATUS_VALUES, OFFLOAD_STATE_TYPE, TCP_OFFLOAD_CONNECTION_STATE, describeStatus, statusHex, stateTypeNamed } from '../layout/constants.js';
import type { StructLayout } from '../layout/msvc.js';
import { didYouMean } from '../suggest.js';

/** One printed form of a member, as given: where (`Status.hex`), as given (for the message), and the value it carries. */
export interface Form {
  name: string;
  given: unknown;
  value: number;
}

const shown = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/**
 * The one value `forms` give. All equal: that value. Onto a capture (`current` = the value its
 * bytes hold): the forms that differ from it are the edited ones, and they must agree. Otherwise
 * (no prior bytes, or two different new values) an EncodeError naming the forms. `describe` shows
 * a value in the message (a status word with its name, for instance).
 */
export function agree(path: string, forms: readonly Form[], current: number | undefined, describe: (v: number) => string = String): number | undefined {
  if (forms.length === 0) return undefined;
  const first = forms[0]!.value;
  if (forms.every((f) => f.value === first)) return first;
  if (current !== undefined) {
    const edited = forms.filter((f) => f.value !== current);
    if (edited.every((f) => f.value === edited[0]!.value)) return edited[0]!.value;
  }
  const list = forms.map((f) => `${f.name} ${shown(f.given)} (${describe(f.value)})`).join(', ');
  const why =
    current === undefined
      ? 'with no capture to tell the edited form from the others (compact mode lays out anew), give one form or make them agree'
      : `the capture holds ${describe(current)}, and more than one new value is given: edit one form, or make them agree`;
  throw new EncodeError(path, `its forms disagree: ${list}; ${why}`);
}

// ---- Status ---------------------------------------------------------------------------------

const STATUS_TYPE = { kind: 'scalar', name: 'NDIS_STATUS' } as const;
const STATUS_NAMES = Object.keys(NDIS_STATUS_VALUES);
const HEX_WORD = /^(0x)?[0-9a-f]{1,8}$/i;
const UNKNOWN_STATUS = /^unknown \((0x[0-9a-f]{1,8})\)$/i;

export const describeStatusWord = (v: number): string => `${statusHex(v)} ${describeStatus(v)}`;

/** A status word given as text: a WDK name, `unknown (0x…)`, or a hex word with or without 0x. */
export function statusFromText(text: string, path: string, kind: 'any' | 'hex' | 'name' = 'any'): number {
  if (kind !== 'hex') {
    if (Object.hasOwn(NDIS_STATUS_VALUES, text)) return NDIS_STATUS_VALUES[text as keyof typeof NDIS_STATUS_VALUES];
    const unknown = UNKNOWN_STATUS.exec(text);
    if (unknown) return Number.parseInt(unknown[1]!.slice(2), 16) | 0;
  }
  if (kind !== 'name' && HEX_WORD.test(text)) return Number.parseInt(text.replace(/^0x/i, ''), 16) | 0;
  if (kind === 'hex') throw new EncodeError(path, `expected a 32-bit hex word (0xC0000001 or C0000001), got ${shown(text)}`);
  if (kind === 'any' && /^-[0-9]+$/.test(text)) return Number(toInteger(text, STATUS_TYPE, undefined, 8, path));
  throw new EncodeError(
    path,
    `unknown NDIS_STATUS name '${text}'${didYouMean(text, STATUS_NAMES)}; a status is a WDK name, \`unknown (0x…)\`, a hex word or a number`,
  );
}

/** The forms of a Status as given: a number, text (statusFromText), or the decoder's { value, hex, name }. */
export function statusForms(v: unknown, path: string): Form[] {
  if (typeof v === 'string') return [{ name: 'Status', given: v, value: statusFromText(v, path) }];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return [{ name: 'Status', given: v, value: Number(toInteger(v, STATUS_TYPE, undefined, 8, path)) }];
  const forms: Form[] = [];
  for (const [k, given] of Object.entries(v as Record<string, unknown>)) {
    const at = `${path}.${k}`;
    if (given === undefined) continue;
    if (k === 'value') forms.push({ name: 'value', given, value: Number(toInteger(given, STATUS_TYPE, undefined, 8, at)) });
    else if (k === 'hex' || k === 'name') {
      if (typeof given !== 'string') throw new EncodeError(at, `expected a string, got ${shown(given)}`);
      forms.push({ name: k, given, value: statusFromText(given, at, k) });
    } else throw new EncodeError(at, `not a form of Status (its forms are value, hex and name)${didYouMean(k, ['value', 'hex', 'name'])}`);
  }
  if (!forms.length) throw new EncodeError(path, 'a Status object needs one of value, hex or name');
  return forms;
}

/** A Status as one signed 32-bit word; `current` is the capture's (onto) or undefined (compact). */
export function parseStatus(v: unknown, path: string, current?: number): number {
  return agree(path, statusForms(v, path), current, describeStatusWord)!;
}

// ---- OFFLOAD_STATE_TYPE: the block's `type` and Header.Type ----------------------------------

const TYPE_NAMES = OFFLOAD_STATE_TYPE.map((t) => t.name);
const UNKNOWN_TYPE = /^unknown \(([0-9]{1,3})\)$/;

export const describeType = (v: number): string => OFFLOAD_STATE_TYPE.find((t) => t.value === v)?.name ?? `unknown (${v})`;

/** The value of Header.Type the block gives: its `type` name and its Header.Type, agreed (undefined when neither is given). */
export function blockTypeValue(type: unknown, header: unknown, path: string, current?: number): number | undefined {
  const forms: Form[] = [];
  if (type !== undefined) {
    const at = `${path}.type`;
    if (typeof type !== 'string') throw new EncodeError(at, `expected an OFFLOAD_STATE_TYPE name, got ${shown(type)}`);
    const named = stateTypeNamed(type);
    const unknown = named ? undefined : UNKNOWN_TYPE.exec(type);
    if (!named && !(unknown && Number(unknown[1]) <= 255)) throw new EncodeError(at, `unknown OFFLOAD_STATE_TYPE '${type}'${didYouMean(type, TYPE_NAMES)}`);
    forms.push({ name: 'type', given: type, value: named ? named.value : Number(unknown![1]) });
  }
  if (typeof header === 'object' && header !== null && (header as Record<string, unknown>).Type !== undefined) {
    const given = (header as Record<string, unknown>).Type;
    forms.push({ name: 'Header.Type', given, value: Number(toInteger(given, { kind: 'scalar', name: 'UCHAR' }, undefined, 8, `${path}.Header.Type`)) });
  }
  return agree(path, forms, current, describeType);
}

// ---- TCP_OFFLOAD_STATE_DELEGATED.State ---------------------------------------------------------

const STATE_TYPE = { kind: 'enum', name: 'TCP_OFFLOAD_CONNECTION_STATE' } as const;
const UNKNOWN_STATE = /^unknown \(([0-9]{1,10})\)$/;
const describeState = (v: number): string => TCP_OFFLOAD_CONNECTION_STATE[v] ?? `unknown (${v})`;

function stateFromName(text: unknown, path: string): number {
  if (typeof text !== 'string') throw new EncodeError(path, `expected a TCP_OFFLOAD_CONNECTION_STATE name, got ${shown(text)}`);
  const i = (TCP_OFFLOAD_CONNECTION_STATE as readonly string[]).indexOf(text);
  if (i >= 0) return i;
  const unknown = UNKNOWN_STATE.exec(text);
  if (unknown) return Number(toInteger(unknown[1], STATE_TYPE, undefined, 8, path));
  if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(text)) return Number(toInteger(text, STATE_TYPE, undefined, 8, path));
  throw new EncodeError(path, `unknown TCP_OFFLOAD_CONNECTION_STATE '${text}'${didYouMean(text, TCP_OFFLOAD_CONNECTION_STATE)}`);
}

/** State as a number, a name, `unknown (N)`, or the decoder's { value, name }, agreed. */
export function connectionState(v: unknown, path: string, current?: number): number {
  const forms: Form[] = [];
  if (typeof v === 'string') forms.push({ name: 'State', given: v, value: stateFromName(v, path) });
  else if (typeof v !== 'object' || v === null || Array.isArray(v)) forms.push({ name: 'State', given: v, value: Number(toInteger(v, STATE_TYPE, undefined, 8, path)) });
  else {
    for (const [k, given] of Object.entries(v as Record<string, unknown>)) {
      const at = `${path}.${k}`;
      if (given === undefined) continue;
      if (k === 'value') forms.push({ name: 'value', given, value: Number(toInteger(given, STATE_TYPE, undefined, 8, at)) });
      else if (k === 'name') forms.push({ name: 'name', given, value: stateFromName(given, at) });
      else throw new EncodeError(at, `not a form of State (its forms are value and name)${didYouMean(k, ['value', 'name'])}`);
    }
    if (!forms.length) throw new EncodeError(path, 'a State object needs its value or its name');
  }
  return agree(path, forms, current, describeState)!;
}

// ---- ports: network byte order ---------------------------------------------------------------

const networkMembers = new WeakMap<StructLayout, ReadonlySet<string>>();

/**
 * The members of a structure stored in network byte order, as the descriptors mark them (the TCP
 * ports): the JSON prints the stored number and takes `{ "host": N }` too.
 */
export function networkOrderMembers(layout: StructLayout): ReadonlySet<string> {
  let set = networkMembers.get(layout);
  if (!set) networkMembers.set(layout, (set = new Set(layout.fields.filter((f) => f.networkOrder).map((f) => f.name))));
  return set;
}

export const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >>> 8);
const USHORT = { kind: 'scalar', name: 'USHORT' } as const;

/** A port as stored: the number (as decode prints it), or `{ "host": N }` (host order), or `{ "stored": N }`, agreed. */
export function networkOrder(v: unknown, path: string, current?: number): number {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return Number(toInteger(v, USHORT, undefined, 8, path));
  const forms: Form[] = [];
  for (const [k, given] of Object.entries(v as Record<string, unknown>)) {
    const at = `${path}.${k}`;
    if (given === undefined) continue;
    if (k === 'host') forms.push({ name: 'host', given, value: swap16(Number(toInteger(given, USHORT, undefined, 8, at))) });
    else if (k === 'stored') forms.push({ name: 'stored', given, value: Number(toInteger(given, USHORT, undefined, 8, at)) });
    else throw new EncodeError(at, `not a form of a network-order member (give host or stored)${didYouMean(k, ['host', 'stored'])}`);
  }
  if (!forms.length) throw new EncodeError(path, 'give { "host": N } (host order) or the stored number');
  return agree(path, forms, current, (s) => `stored ${s}, host order ${swap16(s)}`)!;
}
