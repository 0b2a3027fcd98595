/**
 * encodeTree as it was before its fast paths (src/tree/encode.ts): the oracle the fast one must
 * agree with, byte for byte and error for error. If encodeTree's behaviour is changed on purpose,
 * change it here the same way.
 *
 * Changed with issue 22 (every printed form is input): the forms of a value (Status's value, hex
 * and name; `type` and Header.Type; State's value and name; a port's host and stored order) are
 * read by src/tree/encode-forms.ts, as the general code reads them, and must agree; a `layer`
 * must match the block's depth; `role` and `*MiniportOffloadContext` must agree; a Header that is
 * not an object is refused instead of read as {}; `offset` and `address` given together in a
 * document with a base must agree, and so must `root` and the first block's `address`.
 */
import { toInteger, writeStruct } from '../../src/codec/struct-io.js';
import { EncodeError } from '../../src/errors.js';
import { X64, X86, type Abi } from '../../src/layout/abi.js';
import { LAYERS, type StateType, stateType } from '../../src/layout/constants.js';
import type { NdisRevision } from '../../src/layout/descriptor.js';
import type { StructLayout } from '../../src/layout/msvc.js';
import { layoutOf } from '../../src/layout/registry.js';
import { FORMAT, ROLES, type Role } from '../../src/tree/document.js';
import { checkOffset, checkRoot, documentBase, layerError } from '../../src/tree/encode.js';
import { blockTypeValue, connectionState, networkOrder, networkOrderMembers, parseStatus } from '../../src/tree/encode-forms.js';
import { parseIp } from '../../src/tree/ip.js';
import { stateParts, stateSize } from '../../src/tree/state.js';

/** A document to encode: what decode produces, or a hand-written subset of it. */
interface EncodeInput {
  format?: string;
  abi?: string;
  ndis?: string;
  base?: string | null;
  blocks: BlockInput[];
  [key: string]: unknown;
}

interface BlockInput {
  role?: Role;
  type?: string;
  address?: string;
  state?: Record<string, Record<string, unknown>>;
  dependents?: BlockInput[];
  [member: string]: unknown;
}

interface EncodeOptions {
  abi?: Abi;
  ndis?: NdisRevision;
  /** Virtual address of the first byte of a compact image (default: the document's base, else a kernel address). */
  base?: bigint;
}

interface EncodedImage {
  bytes: Uint8Array;
  base: bigint;
  root: bigint;
  abi: Abi;
  ndis: NdisRevision;
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

function typeOf(block: BlockInput, path: string): { value: number | undefined; type: StateType | undefined } {
  const value = blockTypeValue(block.type, block.Header, path);
  return { value, type: value === undefined ? undefined : stateType(value) };
}

function roleOf(block: BlockInput, path: string, ptr: number): Role {
  const cell = block['*MiniportOffloadContext'];
  const cellPath = `${path}.*MiniportOffloadContext`;
  if (block.role !== undefined && !ROLES.includes(block.role)) throw new EncodeError(`${path}.role`, `unknown role '${String(block.role)}' (expected ${ROLES.join(', ')})`);
  if (block.role === 'linker') return 'linker'; // its cell is checked where it is written
  if (cell === undefined) return block.role ?? (block.state ? 'new-offload' : 'placeholder');
  const value = toInteger(cell, { kind: 'pointer', to: 'VOID' }, undefined, ptr, cellPath);
  if (block.role === undefined) return value === 0n ? 'new-offload' : 'linker';
  if (block.role === 'placeholder') throw new EncodeError(cellPath, 'a placeholder has no context cell (its MiniportOffloadContext is NULL): remove *MiniportOffloadContext, or give role linker (a non-NULL cell) or new-offload (a NULL cell)');
  if (value !== 0n) throw new EncodeError(cellPath, `0x${value.toString(16).padStart(ptr * 2, '0')}, but a new offload's cell holds NULL (the target writes its context there): give role linker, or *MiniportOffloadContext NULL`);
  return block.role;
}

function blockMembers(block: BlockInput, ctx: Context, path: string, typeValue: number | undefined): Record<string, unknown> {
  const members: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(block)) {
    if (BLOCK_META.has(k)) continue;
    if (k === 'NextBlock' || k === 'DependentBlockList' || k === 'MiniportOffloadContext') continue;
    members[k] = k === 'Status' ? parseStatus(v, `${path}.Status`) : v;
  }
  if (block.Header !== undefined && !isObject(block.Header)) return members;
  const header: Record<string, unknown> = { ...(block.Header as Record<string, unknown> | undefined) };
  if (typeValue !== undefined) header.Type = typeValue;
  if (header.Size === undefined) header.Size = ctx.block.size;
  members.Header = header;
  return members;
}

function partMembers(json: Record<string, unknown>, part: StructLayout, path: string): Record<string, unknown> {
  const members: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (k.startsWith('*')) continue;
    if (k === 'SourceAddress' || k === 'DestinationAddress') continue;
    if (k === 'State' && part.name === 'TCP_OFFLOAD_STATE_DELEGATED' && v !== undefined) members[k] = connectionState(v, `${path}.${k}`);
    else if (networkOrderMembers(part).has(k) && v !== undefined) members[k] = networkOrder(v, `${path}.${k}`);
    else members[k] = v;
  }
  const header = { ...((json.Header as Record<string, unknown> | undefined) ?? {}) };
  if (header.Length === undefined) header.Length = part.size;
  members.Header = header;
  return members;
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
export function referenceEncodeTree(doc: EncodeInput, options: EncodeOptions = {}): EncodedImage {
  const ctx = contextOf(doc, options);
  const { abi, block: blockLayout } = ctx;
  const ptr = abi.pointerSize;
  const base =
    options.base ?? (typeof doc.base === 'string' ? toInteger(doc.base, { kind: 'pointer', to: 'VOID' }, undefined, ptr, '$.base') : DEFAULT_BASE[abi.name]);
  const align = (n: number, a: number): number => Math.ceil(n / a) * a;

  // Pass 1: measure. Each block, then its state, its context cell, its address bytes.
  const order = [...preorder(doc.blocks)];
  checkRoot(doc);
  const offsets = new Map<BlockInput, number>();
  let cursor = 0;
  for (const { block, path } of order) {
    checkOffset(block, documentBase(doc), path);
    const { type } = typeOf(block, path);
    const role = roleOf(block, path, ptr);
    cursor = align(cursor, blockLayout.align);
    offsets.set(block, cursor);
    cursor += blockLayout.size;
    if (block.state && type) cursor += stateSize(type, abi, ctx.ndis);
    if (role !== 'placeholder') cursor = align(cursor, ptr) + ptr;
    if (type?.addressBytes && block.state?.PATH_OFFLOAD_STATE_CONST) cursor += 2 * type.addressBytes;
  }
  const bytes = new Uint8Array(align(Math.max(cursor, 1), blockLayout.align));
  const dv = new DataView(bytes.buffer);
  const addr = (offset: number): bigint => base + BigInt(offset);
  const writePtr = (at: number, v: bigint): void => {
    if (ptr === 8) dv.setBigUint64(at, v, true);
    else dv.setUint32(at, Number(BigInt.asUintN(32, v)), true);
  };
  if (base < 0n || addr(bytes.length) > 1n << BigInt(ptr * 8)) throw new EncodeError('$.base', `the image does not fit a ${ptr * 8}-bit address space`);

  // Pass 2: write the bodies, then the dependents they point to.
  for (const { block, path, next, firstDependent } of order) {
    const { value: typeValue, type } = typeOf(block, path);
    const role = roleOf(block, path, ptr);
    const at = offsets.get(block)!;
    writeStruct(blockLayout, dv, at, blockMembers(block, ctx, path, typeValue), path);
    writePtr(at + fieldOffset(blockLayout, 'NextBlock'), next ? addr(offsets.get(next)!) : 0n);
    writePtr(at + fieldOffset(blockLayout, 'DependentBlockList'), firstDependent ? addr(offsets.get(firstDependent)!) : 0n);
    let tail = at + blockLayout.size;
    const parts = checkParts(block, type, path, ctx);
    if (block.state && type) tail += stateSize(type, abi, ctx.ndis);
    if (role !== 'placeholder') {
      tail = align(tail, ptr);
      writePtr(at + fieldOffset(blockLayout, 'MiniportOffloadContext'), addr(tail));
      const cell = block['*MiniportOffloadContext'];
      const value = role === 'new-offload' ? 0n : cell === undefined ? addr(at) : toInteger(cell, { kind: 'pointer', to: 'VOID' }, undefined, ptr, `${path}.*MiniportOffloadContext`);
      if (role === 'linker' && value === 0n) throw new EncodeError(`${path}.*MiniportOffloadContext`, 'a linker points to a non-NULL context');
      writePtr(tail, value);
      tail += ptr;
    }
    for (const part of parts) {
      const partAt = at + blockLayout.size + part.offset;
      const json = block.state![part.name]!;
      writeStruct(part.layout, dv, partAt, partMembers(json, part.layout, `${path}.state.${part.name}`), `${path}.state.${part.name}`);
      if (part.name === 'PATH_OFFLOAD_STATE_CONST' && type?.addressBytes) {
        for (const member of ['SourceAddress', 'DestinationAddress']) {
          const text = json[`*${member}`];
          const ip = typeof text === 'string' ? parseIp(text, type.addressBytes, `${path}.state.${part.name}.*${member}`) : new Uint8Array(type.addressBytes);
          bytes.set(ip, tail);
          writePtr(partAt + fieldOffset(part.layout, member), addr(tail));
          tail += type.addressBytes;
        }
      }
    }
  }
  return { bytes, base, root: base, abi, ndis: ctx.ndis };
}

const fieldOffset = (layout: StructLayout, name: string): number => layout.fields.find((f) => f.name === name)!.offset;

