/**
 * Encodes the JSON document to memory: compactly into a new image (fixtures), or onto an existing
 * capture at the blocks' addresses, changing no byte the document does not describe.
 */
import { Location, type MemoryImage, SegmentImage } from '../codec/image.js';
import { readStruct, toInteger, writeStruct } from '../codec/struct-io.js';
import { EncodeError } from '../errors.js';
import { X64, X86, type Abi } from '../layout/abi.js';
import { LAYERS, NDIS_STATUS_VALUES, type StateType, TCP_OFFLOAD_CONNECTION_STATE, stateType, stateTypeNamed } from '../layout/constants.js';
import type { NdisRevision } from '../layout/descriptor.js';
import type { StructLayout } from '../layout/msvc.js';
import { layoutOf } from '../layout/registry.js';
import { didYouMean } from '../suggest.js';
import { FORMAT, ROLES, type Role, hexPtr } from './document.js';
import { blockTypeValue, connectionState, networkOrder, networkOrderMembers, parseStatus } from './encode-forms.js';
import { parseIp } from './ip.js';
import { classify } from './roles.js';
import { expectedLengths, stateParts, stateSize } from './state.js';
import { type StructWriter, isPlain, partWriter, writeHexPointer } from './encode-writers.js';
import { blockOffsets } from './walk.js';

/** A document to encode: what decode produces, or a hand-written subset of it. */
export interface EncodeInput {
  format?: string;
  abi?: string;
  ndis?: string;
  base?: string | null;
  blocks: BlockInput[];
  [key: string]: unknown;
}

/** What the encoders take: a description, or the document decodeTree returned (whose interfaces have no index signature). */
export type EncodeSource = EncodeInput | import('./document.js').TreeDocument;

export interface BlockInput {
  role?: Role;
  type?: string;
  address?: string;
  state?: Record<string, Record<string, unknown>>;
  dependents?: BlockInput[];
  [member: string]: unknown;
}

export interface EncodeOptions {
  abi?: Abi;
  ndis?: NdisRevision;
  /** Virtual address of the first byte of a compact image (default: the document's base, else a kernel address). */
  base?: bigint;
}

export interface EncodedImage {
  bytes: Uint8Array;
  base: bigint;
  root: bigint;
  abi: Abi;
  ndis: NdisRevision;
  /**
   * How many block structures, state parts, context cells and IPv4 addresses encodeTree wrote with
   * the general code (every value checked and converted one by one) instead of its compiled fast
   * paths. 0 for a description that gives each block its role, type, Status and state as plain
   * numbers, names, "0x" pointers and dotted IPv4 (as fixtures and the benchmark do); a decoded
   * document lists every member of each block structure, so its blocks take the general code.
   * The bytes are the same either way: this only says where the time goes.
   */
  generalWrites: number;
}

/** Keys of a block that are about the block, not C members of the block structure. */
const BLOCK_META = new Set(['address', 'offset', 'layer', 'role', 'type', 'state', 'dependents', '*MiniportOffloadContext']);
const DEFAULT_BASE = { x64: 0xffffc00000000000n, x86: 0x80000000n } as const;

interface Context {
  abi: Abi;
  ndis: NdisRevision;
  block: StructLayout;
}

function contextOf(doc: EncodeInput, options: EncodeOptions): Context {
  if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.blocks)) throw new EncodeError('$', 'expected a document with a "blocks" array');
  if (doc.format !== undefined && doc.format !== FORMAT) throw new EncodeError('$.format', `unsupported format '${String(doc.format)}' (expected ${FORMAT})`);
  const abiName = options.abi?.name ?? doc.abi ?? 'x64';
  if (abiName !== 'x64' && abiName !== 'x86') throw new EncodeError('$.abi', `unknown ABI '${abiName}'`);
  const ndis = options.ndis ?? doc.ndis ?? '6.1';
  if (ndis !== '6.0' && ndis !== '6.1') throw new EncodeError('$.ndis', `unknown NDIS revision '${ndis}'`);
  const abi = abiName === 'x64' ? X64 : X86;
  return { abi, ndis, block: layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis) };
}

/** The blocks in decode order (each block, its dependents, then its next sibling), with paths and layers. */
function* preorder(blocks: BlockInput[]): Generator<{ block: BlockInput; path: string; layer: number; next?: BlockInput; firstDependent?: BlockInput }> {
  const stack: { list: BlockInput[]; i: number; path: string; layer: number }[] = [{ list: blocks, i: 0, path: 'blocks', layer: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.list.length) {
      stack.pop();
      continue;
    }
    const i = top.i++;
    const block = top.list[i]!;
    const path = `${top.path}[${i}]`;
    if (typeof block !== 'object' || block === null) throw new EncodeError(path, 'expected a block object');
    if (block.layer !== undefined && block.layer !== LAYERS[top.layer]) layerError(block.layer, top.layer, path);
    const deps = block.dependents ?? [];
    if (!Array.isArray(deps)) throw new EncodeError(`${path}.dependents`, 'expected an array');
    if (deps.length && top.layer >= LAYERS.length - 1) throw new EncodeError(`${path}.dependents`, 'a TCP block cannot have dependents');
    yield { block, path, layer: top.layer, next: top.list[i + 1], firstDependent: deps[0] };
    if (deps.length) stack.push({ list: deps, i: 0, path: `${path}.dependents`, layer: top.layer + 1 });
  }
}

/** `layer` follows from where a block sits; a given one that does not match is an error, never ignored. */
export function layerError(given: unknown, depth: number, path: string): never {
  const where = depth === 0 ? 'in the root chain, `blocks`' : `among the dependents of a ${LAYERS[depth - 1]} block`;
  throw new EncodeError(
    `${path}.layer`,
    `${JSON.stringify(given) ?? String(given)}, but the block is ${where}, so at the ${LAYERS[depth]} layer: the layer follows from where a block sits; move the block, or give layer '${LAYERS[depth]}'`,
  );
}

/** The document's base when it is an address (where the document was decoded from), else undefined. */
export function documentBase(doc: EncodeInput): bigint | undefined {
  if (typeof doc.base !== 'string' || !/^0x[0-9a-f]{1,16}$/i.test(doc.base)) return undefined;
  return BigInt(doc.base);
}

/**
 * Compact mode reads neither `address` nor `offset` (every block is laid out anew), but the two
 * are forms of one place: given together in a document decoded from a region (`base`), they agree.
 */
export function checkOffset(block: BlockInput, base: bigint | undefined, path: string): void {
  if (base === undefined || block.offset === undefined || block.address === undefined) return;
  const address = toInteger(block.address, { kind: 'pointer', to: 'VOID' }, undefined, 8, `${path}.address`);
  if (block.offset !== Number(address - base)) {
    throw new EncodeError(
      `${path}.offset`,
      `${JSON.stringify(block.offset) ?? String(block.offset)}, but address ${String(block.address)} is at offset ${address - base} of the document's base: address and offset disagree. Compact mode lays every block out anew and reads neither: remove them, or encode onto a capture (--onto) to write at an address`,
    );
  }
}

/** `root` (decode prints it) is the first block's address: given beside it, the two agree. */
export function checkRoot(doc: EncodeInput): void {
  const first = doc.blocks[0];
  if (doc.root === undefined || doc.root === null || typeof first !== 'object' || first === null || first.address === undefined) return;
  const pointer = { kind: 'pointer', to: 'VOID' } as const;
  const root = toInteger(doc.root, pointer, undefined, 8, '$.root');
  if (root !== toInteger(first.address, pointer, undefined, 8, 'blocks[0].address')) {
    throw new EncodeError(
      'blocks[0].address',
      `${String(first.address)}, but the document's root is ${String(doc.root)}: the root is the first block's address, so the two must agree (to write the tree elsewhere, edit both)`,
    );
  }
}

/** The value of Header.Type a block gives (its `type` and Header.Type agreed), and the state type it names. */
function typeOf(block: BlockInput, path: string, current?: number): { value: number | undefined; type: StateType | undefined } {
  const value = blockTypeValue(block.type, block.Header, path, current);
  const v = value ?? current;
  return { value, type: v === undefined ? undefined : stateType(v) };
}

function checkRole(role: unknown, path: string): Role {
  if (!ROLES.includes(role as Role)) throw new EncodeError(`${path}.role`, `unknown role '${String(role)}' (expected ${ROLES.join(', ')})${typeof role === 'string' ? didYouMean(role, ROLES) : ''}`);
  return role as Role;
}

/**
 * The role of a block in a compact image, from `role` and `*MiniportOffloadContext` (the cell the
 * role is read from): given, they must agree; a cell alone says linker (non-NULL) or new offload
 * (NULL); neither: new offload with state, else placeholder.
 */
function roleOf(block: BlockInput, path: string, ptr: number): Role {
  const cell = block['*MiniportOffloadContext'];
  const cellPath = `${path}.*MiniportOffloadContext`;
  const value = cell === undefined || block.role === 'linker' ? undefined : toInteger(cell, { kind: 'pointer', to: 'VOID' }, undefined, ptr, cellPath);
  if (block.role === undefined) return value === undefined ? (block.state ? 'new-offload' : 'placeholder') : value === 0n ? 'new-offload' : 'linker';
  const role = checkRole(block.role, path);
  if (value === undefined || role === 'linker') return role; // a linker's cell is checked where it is written
  if (role === 'placeholder') throw new EncodeError(cellPath, 'a placeholder has no context cell (its MiniportOffloadContext is NULL): remove *MiniportOffloadContext, or give role linker (a non-NULL cell) or new-offload (a NULL cell)');
  if (role === 'new-offload' && value !== 0n) throw new EncodeError(cellPath, `${hexPtr(value, ptr)}, but a new offload's cell holds NULL (the target writes its context there): give role linker, or *MiniportOffloadContext NULL`);
  return role;
}

export { parseStatus };

function blockMembers(block: BlockInput, ctx: Context, path: string, typeValue: number | undefined, linked: boolean, currentStatus?: number): Record<string, unknown> {
  const members: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(block)) {
    if (BLOCK_META.has(k)) continue;
    if (linked && (k === 'NextBlock' || k === 'DependentBlockList' || k === 'MiniportOffloadContext')) continue;
    members[k] = k === 'Status' ? parseStatus(v, `${path}.Status`, currentStatus) : v;
  }
  const given = block.Header;
  if (given !== undefined && !isObject(given)) return members; // writeStruct says what is wrong with it
  const header: Record<string, unknown> = { ...given };
  if (typeValue !== undefined) header.Type = typeValue;
  // A fresh image gets the block's Size by default; onto a capture only what is given is written.
  if (linked && header.Size === undefined) header.Size = ctx.block.size;
  if (linked || Object.keys(header).length) members.Header = header;
  return members;
}

/** The value of a member with more than one form, as the capture holds it (onto), or undefined (compact). */
type Current = (member: string) => number | undefined;

function partMembers(json: Record<string, unknown>, part: StructLayout, linked: boolean, path: string, current?: Current): Record<string, unknown> {
  const members: Record<string, unknown> = {};
  const network = networkOrderMembers(part);
  for (const k of Object.keys(json)) {
    if (k.charCodeAt(0) === 42) continue; // '*': what a pointer points to, not a member
    if (linked && (k === 'SourceAddress' || k === 'DestinationAddress')) continue;
    const v = json[k];
    if (k === 'State' && part.name === 'TCP_OFFLOAD_STATE_DELEGATED' && v !== undefined) members[k] = connectionState(v, `${path}.${k}`, current?.(k));
    else if (network.has(k) && v !== undefined) members[k] = networkOrder(v, `${path}.${k}`, current?.(k));
    else members[k] = v;
  }
  // A fresh image gets the part's Length by default; onto a capture only what is given is written.
  if (linked) {
    const header = { ...((json.Header as Record<string, unknown> | undefined) ?? {}) };
    if (header.Length === undefined) header.Length = part.size;
    members.Header = header;
  }
  return members;
}

/** The compiled part writers' State: a number or a known name, else NaN (the general code then judges it). */
function fastConnectionState(v: unknown): unknown {
  if (typeof v === 'number') return v;
  const i = typeof v === 'string' ? (TCP_OFFLOAD_CONNECTION_STATE as readonly string[]).indexOf(v) : -1;
  return i >= 0 ? i : Number.NaN;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkParts(block: BlockInput, type: StateType | undefined, path: string, ctx: Context): ReturnType<typeof stateParts> {
  if (!block.state) return [];
  if (!type || !type.parts.length) throw new EncodeError(`${path}.state`, `a block of type '${block.type ?? '?'}' carries no state`);
  if (!isObject(block.state)) throw new EncodeError(`${path}.state`, 'expected an object of state parts');
  const parts = stateParts(type, ctx.abi, ctx.ndis);
  for (const [k, v] of Object.entries(block.state)) {
    if (!parts.some((p) => p.name === k)) throw new EncodeError(`${path}.state.${k}`, `not a part of ${type.name} (parts: ${parts.map((p) => p.name).join(', ')})`);
    if (v !== undefined && !isObject(v)) throw new EncodeError(`${path}.state.${k}`, 'expected an object');
  }
  return parts.filter((p) => block.state![p.name] !== undefined);
}

/** Lays the tree out compactly from the root at offset 0 (deterministic: same document, same bytes). */
export function encodeTree(input: EncodeSource, options: EncodeOptions = {}): EncodedImage {
  const doc = input as EncodeInput; // a decoded document is a description with every member given
  const ctx = contextOf(doc, options);
  const { abi, block: blockLayout } = ctx;
  const ptr = abi.pointerSize;
  const base =
    options.base ?? (typeof doc.base === 'string' ? toInteger(doc.base, { kind: 'pointer', to: 'VOID' }, undefined, ptr, '$.base') : DEFAULT_BASE[abi.name]);
  const align = (n: number, a: number): number => Math.ceil(n / a) * a;
  const types = typeInfo(ctx);

  // Pass 1: measure. Each block, then its state, its context cell, its address bytes.
  const order = preorderList(doc.blocks);
  checkRoot(doc);
  const pathOf = (i: number): string => order.path(i);
  const n = order.blocks.length;
  const blockType: (TypeInfo | undefined)[] = new Array(n);
  // Header.Type as the document gives it (-1: not given), for the general code.
  const typeValue = new Int16Array(n);
  const blockRole = new Uint8Array(n);
  // Where each block goes. A block object met twice goes where it was met last (a Map by object,
  // as encodeOnto's addresses would have it); distinct objects, the common case, by index.
  const offsetAt = new Float64Array(n);
  const offsets = order.shared ? new Map<BlockInput, number>() : undefined;
  let cursor = 0;
  const docBase = documentBase(doc);
  for (let i = 0; i < n; i++) {
    const block = order.blocks[i]!;
    if (block.offset !== undefined) checkOffset(block, docBase, pathOf(i));
    const value = fastTypeValue(block, i, pathOf);
    const type = value >= 0 ? infoOf(value, types, ctx) : undefined;
    const role = fastRoleOf(block, i, pathOf, ptr);
    typeValue[i] = value;
    blockType[i] = type;
    blockRole[i] = role;
    cursor = align(cursor, blockLayout.align);
    offsetAt[i] = cursor;
    offsets?.set(block, cursor);
    cursor += blockLayout.size;
    if (block.state && type) cursor += type.stateSize;
    if (role !== PLACEHOLDER) cursor = align(cursor, ptr) + ptr;
    if (type?.type.addressBytes && block.state?.PATH_OFFLOAD_STATE_CONST) cursor += 2 * type.type.addressBytes;
  }
  const bytes = new Uint8Array(align(Math.max(cursor, 1), blockLayout.align));
  const dv = new DataView(bytes.buffer);
  if (base < 0n || base + BigInt(bytes.length) > 1n << BigInt(ptr * 8)) throw new EncodeError('$.base', `the image does not fit a ${ptr * 8}-bit address space`);
  // Addresses as unsigned 32-bit halves: base + offset with a carry, no BigInt per pointer.
  const baseLo = Number(base & 0xffffffffn);
  const baseHi = Number(base >> 32n);
  const writeAddr = (at: number, offset: number): void => {
    const lo = baseLo + offset;
    dv.setUint32(at, lo % TWO32, true);
    if (ptr === 8) dv.setUint32(at + 4, baseHi + Math.floor(lo / TWO32), true);
  };
  const writeNull = (at: number): void => {
    dv.setUint32(at, 0, true);
    if (ptr === 8) dv.setUint32(at + 4, 0, true);
  };
  const blockFields = compiledBlock(ctx);
  const { next: NEXT, dependent: DEP, context: CTX } = blockFields;

  if (offsets) for (let i = 0; i < n; i++) offsetAt[i] = offsets.get(order.blocks[i]!)!;
  let general = 0;

  // Pass 2: write the bodies, then the dependents they point to.
  for (let i = 0; i < n; i++) {
    const block = order.blocks[i]!;
    const next = order.next[i]!;
    const type = blockType[i];
    const role = blockRole[i]!;
    const at = offsetAt[i]!;
    if (!writeBlockFast(block, type, dv, at, blockFields)) {
      general++;
      const path = pathOf(i);
      const value = typeValue[i]!;
      writeStruct(blockLayout, dv, at, blockMembers(block, ctx, path, value >= 0 ? value : undefined, true), path);
    }
    if (next >= 0) writeAddr(at + NEXT, offsetAt[next]!);
    else writeNull(at + NEXT);
    if (order.hasDependents[i]) writeAddr(at + DEP, offsetAt[i + 1]!);
    else writeNull(at + DEP);
    let tail = at + blockLayout.size;
    const parts = fastCheckParts(block, type, ctx, i, pathOf);
    if (block.state && type) tail += type.stateSize;
    if (role !== PLACEHOLDER) {
      tail = align(tail, ptr);
      writeAddr(at + CTX, tail);
      const cell = block['*MiniportOffloadContext'];
      // (roleOf has checked a cell given beside role new-offload: it is NULL.)
      if (role === NEW) writeNull(tail);
      else if (cell === undefined) writeAddr(tail, at);
      else if (!writeHexPointer(dv, tail, cell, ptr)) {
        general++;
        const path = `${pathOf(i)}.*MiniportOffloadContext`;
        const value = toInteger(cell, { kind: 'pointer', to: 'VOID' }, undefined, ptr, path);
        if (value === 0n) throw new EncodeError(path, 'a linker points to a non-NULL context');
        if (ptr === 8) dv.setBigUint64(tail, value, true);
        else dv.setUint32(tail, Number(value), true);
      }
      tail += ptr;
    }
    for (const part of parts) {
      const partAt = at + blockLayout.size + part.offset;
      const json = block.state![part.name]!;
      if (!part.write(dv, partAt, json)) {
        general++;
        const path = `${pathOf(i)}.state.${part.name}`;
        writeStruct(part.layout, dv, partAt, partMembers(json, part.layout, true, path), path);
      }
      if (part.name === 'PATH_OFFLOAD_STATE_CONST' && type?.type.addressBytes) {
        const size = type.type.addressBytes;
        for (const member of ['SourceAddress', 'DestinationAddress'] as const) {
          const text = json[`*${member}`];
          // No text: the bytes stay zero (a fresh image).
          if (typeof text === 'string' && (size !== 4 || !writeIp4(bytes, tail, text))) {
            if (size === 4) general++; // (IPv6 text has no fast path)
            bytes.set(parseIp(text, size, `${pathOf(i)}.state.${part.name}.*${member}`), tail);
          }
          writeAddr(partAt + (member === 'SourceAddress' ? part.source : part.destination), tail);
          tail += size;
        }
      }
    }
  }
  return { bytes, base, root: base, abi, ndis: ctx.ndis, generalWrites: general };
}

// ---- the compact encoder's fast paths ------------------------------------------------------
//
// Each one either does exactly what the general code would do for the values it accepts, or
// accepts nothing and leaves it to the general code (blockMembers/partMembers + writeStruct, the
// same calls as encodeOnto), which then writes the same bytes or throws the same EncodeError.
// Paths in the document are built only when an error needs one.

const TWO32 = 4294967296;
const PLACEHOLDER = 0;
const LINKER = 1;
const NEW = 2;
const ROLE_CODES: ReadonlyMap<unknown, number> = new Map<unknown, number>([
  ['placeholder', PLACEHOLDER],
  ['linker', LINKER],
  ['new-offload', NEW],
]);

/** The blocks in decode order, where each one's next sibling and first dependent are, and paths on demand. */
interface Preorder {
  blocks: BlockInput[];
  /** Index of the next sibling of block i, -1 for none; the first dependent, when there is one, is i + 1. */
  next: Int32Array;
  hasDependents: Uint8Array;
  /** True when one block object appears more than once (the document is not a tree of distinct objects). */
  shared: boolean;
  path(i: number): string;
}

/** preorder(), as arrays, with the same checks in the same order (so the same first error). */
function preorderList(top: BlockInput[]): Preorder {
  const blocks: BlockInput[] = [];
  let next = new Int32Array(1024);
  let hasDependents = new Uint8Array(1024);
  // For paths in errors: the block whose dependents hold block i (-1 at the top), and i's place there.
  let owner = new Int32Array(1024);
  let position = new Int32Array(1024);
  const distinct = new Set<BlockInput>();
  const path = (i: number): string => {
    const parts: string[] = [];
    for (let k = i; k >= 0; k = owner[k]!) parts.push(owner[k]! < 0 ? `blocks[${position[k]}]` : `.dependents[${position[k]}]`);
    return parts.reverse().join('');
  };
  const stack: { list: BlockInput[]; i: number; last: number; layer: number; owner: number }[] = [{ list: top, i: 0, last: -1, layer: 0, owner: -1 }];
  while (stack.length) {
    const frame = stack[stack.length - 1]!;
    if (frame.i >= frame.list.length) {
      stack.pop();
      continue;
    }
    const i = frame.i++;
    const block = frame.list[i]!;
    const index = blocks.length;
    if (index >= next.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      next = grow(next, (k) => new Int32Array(k));
      hasDependents = grow(hasDependents, (k) => new Uint8Array(k));
      owner = grow(owner, (k) => new Int32Array(k));
      position = grow(position, (k) => new Int32Array(k));
    }
    owner[index] = frame.owner;
    position[index] = i;
    if (typeof block !== 'object' || block === null) throw new EncodeError(path(index), 'expected a block object');
    if (block.layer !== undefined && block.layer !== LAYERS[frame.layer]) layerError(block.layer, frame.layer, path(index));
    const deps = block.dependents ?? [];
    if (!Array.isArray(deps)) throw new EncodeError(`${path(index)}.dependents`, 'expected an array');
    if (deps.length && frame.layer >= LAYERS.length - 1) throw new EncodeError(`${path(index)}.dependents`, 'a TCP block cannot have dependents');
    blocks.push(block);
    distinct.add(block);
    next[index] = -1;
    if (frame.last >= 0) next[frame.last] = index;
    frame.last = index;
    hasDependents[index] = deps.length ? 1 : 0;
    if (deps.length) stack.push({ list: deps, i: 0, last: -1, layer: frame.layer + 1, owner: index });
  }
  return { blocks, next, hasDependents, shared: distinct.size !== blocks.length, path };
}

/** What the encoder needs of a state type for one ABI and revision, computed once. */
interface TypeInfo {
  type: StateType;
  stateSize: number;
  parts: PartInfo[];
  partByName: Map<string, PartInfo>;
}
interface PartInfo {
  name: string;
  layout: StructLayout;
  offset: number;
  write: StructWriter;
  /** PATH_OFFLOAD_STATE_CONST: offsets of the address pointers. */
  source: number;
  destination: number;
}

const typeInfoCache = new Map<string, Map<StateType, TypeInfo>>();

function typeInfo(ctx: Context): Map<StateType, TypeInfo> {
  const key = `${ctx.abi.name}/${ctx.ndis}`;
  let m = typeInfoCache.get(key);
  if (!m) typeInfoCache.set(key, (m = new Map()));
  return m;
}

function infoOf(value: number, cache: Map<StateType, TypeInfo>, ctx: Context): TypeInfo | undefined {
  const type = stateType(value);
  if (!type) return undefined;
  let t = cache.get(type);
  if (!t) {
    const parts = type.parts.length
      ? stateParts(type, ctx.abi, ctx.ndis).map((p) => ({
          name: p.name,
          layout: p.layout,
          offset: p.offset,
          write: partWriter(p.layout, {
            lengthAt: p.layout.fields.find((f) => f.name === 'Header')!.fields!.find((f) => f.name === 'Length')!.offset,
            connectionState: p.name === 'TCP_OFFLOAD_STATE_DELEGATED' ? fastConnectionState : undefined,
          }),
          source: p.layout.fields.find((f) => f.name === 'SourceAddress')?.offset ?? -1,
          destination: p.layout.fields.find((f) => f.name === 'DestinationAddress')?.offset ?? -1,
        }))
      : [];
    t = { type, stateSize: stateSize(type, ctx.abi, ctx.ndis), parts, partByName: new Map(parts.map((p) => [p.name, p])) };
    cache.set(type, t);
  }
  return t;
}

/** Header.Type as the block gives it (`type` and Header.Type agreed), -1 for neither; a known name and no Header without the general code. */
function fastTypeValue(block: BlockInput, i: number, pathOf: (i: number) => string): number {
  const name = block.type;
  if (block.Header === undefined && typeof name === 'string') {
    const t = stateTypeNamed(name);
    if (t) return t.value;
  } else if (block.Header === undefined && name === undefined) return -1;
  return typeOf(block, pathOf(i)).value ?? -1;
}

function fastRoleOf(block: BlockInput, i: number, pathOf: (i: number) => string, ptr: number): number {
  if (block.role === 'linker') return LINKER; // its cell is checked where it is written
  if (block['*MiniportOffloadContext'] === undefined) {
    if (block.role === undefined) return block.state ? NEW : PLACEHOLDER;
    const r = ROLE_CODES.get(block.role);
    if (r !== undefined) return r;
  }
  return ROLE_CODES.get(roleOf(block, pathOf(i), ptr))!;
}

/** checkParts for a well-formed `state`; otherwise checkParts itself, to throw its error. */
function fastCheckParts(block: BlockInput, type: TypeInfo | undefined, ctx: Context, i: number, pathOf: (i: number) => string): PartInfo[] {
  const state = block.state;
  if (!state) return [];
  if (type && type.parts.length && isObject(state) && isPlain(state)) {
    let ok = true;
    let count = 0;
    for (const k in state) {
      const v = state[k];
      if (!type.partByName.has(k) || (v !== undefined && !isObject(v))) {
        ok = false;
        break;
      }
      if (v !== undefined) count++;
    }
    if (ok) return count === type.parts.length ? type.parts : type.parts.filter((p) => state[p.name] !== undefined);
  }
  // Not a plain well-formed state: checkParts throws its error, or (an object of another kind) says which parts.
  return checkParts(block, type?.type, pathOf(i), ctx).map((p) => type!.partByName.get(p.name)!);
}

/** Offsets of the block members the encoder writes itself, and the block's compiled writer. */
interface BlockFields {
  next: number;
  dependent: number;
  context: number;
  status: number;
  header: number;
  size: number;
  /** Header.Type and Header.Size. */
  headerType: number;
  headerSize: number;
}

const blockFieldsCache = new Map<StructLayout, BlockFields>();

function compiledBlock(ctx: Context): BlockFields {
  const layout = ctx.block;
  let b = blockFieldsCache.get(layout);
  if (!b) {
    // The block list is laid out alike in both NDIS revisions: the walker's offsets serve.
    const { next, dependent, context, status, header: headerAt, size } = blockOffsets(ctx.abi);
    const header = layout.fields.find((f) => f.name === 'Header')!;
    b = {
      next,
      dependent,
      context,
      status,
      header: headerAt,
      size,
      headerType: header.fields!.find((f) => f.name === 'Type')!.offset,
      headerSize: header.fields!.find((f) => f.name === 'Size')!.offset,
    };
    blockFieldsCache.set(layout, b);
  }
  return b;
}

/**
 * The block structure of a block whose only C member is Status (a name or a number), the common
 * case: Header (Type, Size) and Status written directly. False, having written nothing that the
 * general code would not write the same, for anything else.
 */
function writeBlockFast(block: BlockInput, type: TypeInfo | undefined, dv: DataView, at: number, f: BlockFields): boolean {
  let status: number | undefined;
  if (!isPlain(block)) return false;
  if (block.type !== undefined && !type) return false; // `unknown (N)`: the general code writes N
  for (const k in block) {
    if (k === 'role' || k === 'type' || k === 'state' || k === 'dependents' || BLOCK_META.has(k)) continue;
    if (k !== 'Status') return false; // NextBlock & co (overwritten anyway), Header, other members: the general code
    const v = block[k];
    if (typeof v === 'string' && Object.hasOwn(NDIS_STATUS_VALUES, v)) status = NDIS_STATUS_VALUES[v as keyof typeof NDIS_STATUS_VALUES];
    else if (typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 0xffffffff) status = v | 0;
    else return false;
  }
  if (type) dv.setUint8(at + f.headerType, type.type.value);
  dv.setUint16(at + f.headerSize, f.size, true);
  if (status !== undefined) dv.setInt32(at + f.status, status, true);
  return true;
}

/** A dotted IPv4 address written as 4 bytes; false for anything parseIp should judge. */
function writeIp4(bytes: Uint8Array, at: number, text: string): boolean {
  let part = 0;
  let digits = 0;
  let k = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 255 || k > 3) return false;
      bytes[at + k++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      digits++;
    } else return false;
  }
  return k === 4;
}

/**
 * Writes every structure of the document at its `address` in `image`, in place: block members,
 * state parts, the context cell and IP address bytes that the document gives. No other byte changes,
 * and on an error (an EncodeError naming the place) none does: the image is left as it was.
 */
export function encodeOnto(input: EncodeSource, image: MemoryImage, options: EncodeOptions = {}): void {
  const doc = input as EncodeInput; // a decoded document is a description with every member given
  if (!image.writable) throw new EncodeError('$', `this image is read-only (${image.readOnlyReason ?? 'a crash dump or physical image'}): encode onto a region instead`);
  const ctx = contextOf(doc, options);
  const loc = new Location();
  // Every range about to be written, with its old bytes: an error part way through puts them back,
  // so that the image is either fully encoded or untouched.
  const undo: { bytes: Uint8Array; old: Uint8Array }[] = [];
  const locate = (address: bigint, size: number, path: string): Location => {
    if (!image.locate(address, size, loc)) throw new EncodeError(path, `0x${address.toString(16)} (+${size} bytes) ${image.explain(address, size)}`);
    if (loc.gathered) {
      throw new EncodeError(path, `0x${address.toString(16)} (+${size} bytes) ${image.explain(address, size)}: it is read across them, but written in place only where it lies whole in one`);
    }
    const bytes = new Uint8Array(loc.view.buffer, loc.view.byteOffset + loc.offset, size);
    undo.push({ bytes, old: bytes.slice() });
    return loc;
  };
  try {
    writeOnto(doc, ctx, image, locate);
  } catch (e) {
    for (let k = undo.length - 1; k >= 0; k--) undo[k]!.bytes.set(undo[k]!.old);
    throw e;
  }
}

const ROLE_REASON: Record<Role, string> = {
  placeholder: 'a placeholder MiniportOffloadContext NULL',
  'new-offload': 'a new offload a MiniportOffloadContext that points to a cell holding NULL (*MiniportOffloadContext NULL)',
  linker: 'a linker a MiniportOffloadContext that points to a non-NULL cell (*MiniportOffloadContext)',
};

function writeOnto(doc: EncodeInput, ctx: Context, image: MemoryImage, locate: (address: bigint, size: number, path: string) => Location): void {
  const { abi, block: blockLayout } = ctx;
  const ptr = abi.pointerSize;
  const f = compiledBlock(ctx);
  const headerSize = layoutOf('OFFLOAD_STATE_HEADER', abi, ctx.ndis).size;
  const scratch = new Location();
  const parseAddr = (v: unknown, path: string): bigint => toInteger(v, { kind: 'pointer', to: 'VOID' }, undefined, ptr, path);
  const readPtr = (view: DataView, at: number): bigint => (ptr === 8 ? view.getBigUint64(at, true) : BigInt(view.getUint32(at, true)));

  checkRoot(doc);
  for (const { block, path } of preorder(doc.blocks)) {
    if (block.address === undefined) throw new EncodeError(`${path}.address`, 'encoding onto a capture needs every block\'s address');
    const address = parseAddr(block.address, `${path}.address`);
    if (block.role !== undefined) checkRole(block.role, path);
    const l = locate(address, blockLayout.size, path);
    // The Location is reused by the next locate: keep what this block needs of it.
    const view = l.view;
    const at = l.offset;
    // A document decoded from a region (it has a base) gives offsets in that region, which is this
    // capture; one decoded from segments or a dump (base null) gives offsets in other files.
    if (block.offset !== undefined && doc.base !== null) {
      const offset = l.imageOffset >= 0 ? l.imageOffset : null;
      if (block.offset !== offset) {
        throw new EncodeError(
          `${path}.offset`,
          `${JSON.stringify(block.offset) ?? String(block.offset)}, but ${block.address} is at offset ${offset} of the capture: the offset follows from the address, so edit address to write the block elsewhere`,
        );
      }
    }
    // Forms of one value (type and Header.Type, Status's value, hex and name) against the bytes there.
    const { value: typeValue, type } = typeOf(block, path, view.getUint8(at + f.headerType));
    const members = blockMembers(block, ctx, path, typeValue, false, view.getInt32(at + f.status, true));
    writeStruct(blockLayout, view, at, members, path, true);

    const cell = block['*MiniportOffloadContext'];
    const context = readPtr(view, at + f.context);
    if (cell !== undefined) {
      const cellPath = `${path}.*MiniportOffloadContext`;
      if (context === 0n) throw new EncodeError(cellPath, 'MiniportOffloadContext is NULL (a placeholder): there is no cell to write; give MiniportOffloadContext the cell\'s address');
      const c = locate(context, ptr, cellPath);
      const v = parseAddr(cell, cellPath);
      if (ptr === 8) c.view.setBigUint64(c.offset, v, true);
      else c.view.setUint32(c.offset, Number(v), true);
    }
    for (const part of checkParts(block, type, path, ctx)) {
      const partAddress = address + BigInt(blockLayout.size + part.offset);
      const json = block.state![part.name]!;
      const partPath = `${path}.state.${part.name}`;
      const pl = locate(partAddress, part.layout.size, partPath);
      const pview = pl.view;
      const pat = pl.offset;
      let held: Record<string, unknown> | undefined;
      const current: Current = (member) => Number((held ??= readStruct(part.layout, pview, pat))[member]);
      const members = partMembers(json, part.layout, false, partPath, current);
      if (json.Header === undefined) delete members.Header;
      writeStruct(part.layout, pview, pat, members, partPath, true);
      if (part.name === 'PATH_OFFLOAD_STATE_CONST' && type?.addressBytes) {
        for (const member of ['SourceAddress', 'DestinationAddress']) {
          const text = json[`*${member}`];
          if (text === undefined) continue;
          const ipPath = `${partPath}.*${member}`;
          if (typeof text !== 'string') throw new EncodeError(ipPath, `expected an IP address as text, got ${JSON.stringify(text)}`);
          const ip = parseIp(text, type.addressBytes, ipPath);
          // The pointer as the document gives it (written above) or as the capture holds it.
          const pointer = readPtr(pview, pat + part.layout.fields.find((g) => g.name === member)!.offset);
          if (pointer === 0n) throw new EncodeError(ipPath, `${member} is NULL: there are no address bytes to write; give ${member} their address`);
          const il = locate(pointer, ip.length, ipPath);
          new Uint8Array(il.view.buffer, il.view.byteOffset + il.offset, ip.length).set(ip);
        }
      }
    }
    // The role is what decoding will make of the bytes now: MiniportOffloadContext and the cell it
    // points to (or, with the cell outside the capture, whether state follows).
    if (block.role !== undefined) {
      const stateAddress = address + BigInt(blockLayout.size);
      const follows = (): boolean => {
        const t = stateType(view.getUint8(at + f.headerType));
        if (!t || !image.locate(stateAddress, headerSize, scratch)) return false;
        return expectedLengths(t, abi).includes(scratch.view.getUint32(scratch.offset, true));
      };
      const cls = classify(context, image, ptr, scratch, follows);
      if (cls.role !== block.role) {
        const because =
          cls.role === 'placeholder'
            ? 'MiniportOffloadContext is NULL'
            : cls.cellMissing
              ? `the cell at ${hexPtr(context, ptr)} is outside the capture and ${cls.role === 'new-offload' ? 'state follows' : 'no state follows'} the block`
              : `MiniportOffloadContext ${hexPtr(context, ptr)} points to a cell holding ${cls.cell === 0n ? 'NULL' : hexPtr(cls.cell!, ptr)}`;
        throw new EncodeError(
          `${path}.role`,
          `'${block.role}', but the bytes make the block a ${cls.role} (${because}): the role follows from MiniportOffloadContext and the cell it points to, so give ${ROLE_REASON[block.role]}, or leave role out`,
        );
      }
    }
  }
}

/** Encodes onto a copy of `capture` (a region at `base`): the input bytes are never modified. */
export function encodeOntoCopy(doc: EncodeSource, capture: Uint8Array, base: bigint, options: EncodeOptions = {}): Uint8Array {
  const copy = capture.slice();
  encodeOnto(doc, SegmentImage.region(copy, base), options);
  return copy;
}

/**
 * The document for another ABI or NDIS revision, for a compact encode: each `Header.Size` and part
 * `Header.Length` that is the document's own structure size becomes the target's; going to NDIS
 * 6.0, a TCP_OFFLOAD_STATE_DELEGATED.DWnd (6.1 only) is dropped when 0 and refused otherwise.
 * Values that do not fit the target (a 64-bit pointer on x86) are left for the encoder to refuse
 * with their path. The input is not modified; `base` is dropped when the ABI changes (the
 * document's base is an address of the other ABI: the encoder then takes the target's default).
 */
export function convertDocument(doc: EncodeInput, to: { abi?: Abi; ndis?: NdisRevision }): EncodeInput {
  const from = contextOf(doc, {});
  const target = contextOf(doc, { ...(to.abi ? { abi: to.abi } : {}), ...(to.ndis ? { ndis: to.ndis } : {}) });
  if (from.abi === target.abi && from.ndis === target.ndis) return doc;
  const out = structuredClone(doc);
  out.abi = target.abi.name;
  out.ndis = target.ndis;
  if (from.abi !== target.abi) delete out.base;
  for (const { block, path } of preorder(out.blocks)) {
    const header = block.Header;
    if (isObject(header) && header.Size === from.block.size) header.Size = target.block.size;
    const { type } = typeOf(block, path);
    if (!isObject(block.state) || !type || !type.parts.length) continue;
    const before = new Map(stateParts(type, from.abi, from.ndis).map((p) => [p.name, p.layout.size]));
    for (const part of stateParts(type, target.abi, target.ndis)) {
      const json = block.state[part.name];
      if (!isObject(json)) continue;
      if (isObject(json.Header) && json.Header.Length === before.get(part.name)) json.Header.Length = part.layout.size;
      if (part.name === 'TCP_OFFLOAD_STATE_DELEGATED' && target.ndis === '6.0' && json.DWnd !== undefined) {
        if (json.DWnd !== 0) {
          throw new EncodeError(
            `${path}.state.${part.name}.DWnd`,
            `${JSON.stringify(json.DWnd)}, but NDIS 6.0 has no DWnd (TCP_OFFLOAD_STATE_DELEGATED gained it in 6.1): set it to 0 to drop it, or encode for NDIS 6.1`,
          );
        }
        delete json.DWnd;
      }
    }
  }
  return out;
}
