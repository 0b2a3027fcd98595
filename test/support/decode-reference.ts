/**
 * decodeTree as it was before its compiled readers (src/tree/decode.ts): the oracle the fast one
 * must agree with, document for document (key order included). If decodeTree's output is changed
 * on purpose, change it here the same way.
 */
import { Location, type MemoryImage } from '../../src/codec/image.js';
import { readStruct, type PlainStruct, type PlainValue } from '../../src/codec/struct-io.js';
import { X64, X86, type Abi } from '../../src/layout/abi.js';
import {
  LAYERS,
  type Layer,
  type Operation,
  TCP_OFFLOAD_CONNECTION_STATE,
  describeStatus,
  isStatusAllowed,
  stateType,
  statusHex,
} from '../../src/layout/constants.js';
import type { NdisRevision } from '../../src/layout/descriptor.js';
import { layoutOf } from '../../src/layout/registry.js';
import { DiagnosticLog } from '../../src/tree/diagnostics.js';
import { type BlockJson, type DiagnosticCode, FORMAT, type Role, type Severity, type TreeDocument, hexPtr } from '../../src/tree/document.js';
import { formatIp } from '../../src/tree/ip.js';
import { classify } from '../../src/tree/roles.js';
import { expectedLengths, stateCarried, stateParts } from '../../src/tree/state.js';

interface DecodeOptions {
  abi?: Abi;
  ndis?: NdisRevision;
  /** The operation the tree was handed to the target for; when absent, state presence is inferred from the bytes. */
  operation?: Operation;
  /** Most blocks decoded before stopping with LIMIT_BLOCKS (default 1,048,576). */
  maxBlocks?: number;
  /** Most diagnostics kept (default 1,000); the rest are counted in a final DIAGNOSTICS_LIMIT. */
  maxDiagnostics?: number;
}

const DEFAULT_LIMITS = { maxBlocks: 1 << 20, maxDiagnostics: 1000 } as const;

interface Pending {
  address: bigint;
  layer: number;
  list: BlockJson[];
  /** Path of the list this block goes in: `blocks` or `blocks[0].dependents`. */
  listPath: string;
  /** Index of the visited block that points here (for cycle detection), -1 for the root. */
  from: number;
  member: string;
}

/** Decodes the tree whose root block is at `root`. */
export function referenceDecodeTree(image: MemoryImage, root: bigint, options: DecodeOptions = {}): TreeDocument {
  const abi = options.abi ?? X64;
  const ndis = options.ndis ?? '6.1';
  const op = options.operation;
  const maxBlocks = options.maxBlocks ?? DEFAULT_LIMITS.maxBlocks;
  const maxDiagnostics = options.maxDiagnostics ?? DEFAULT_LIMITS.maxDiagnostics;
  const ptr = abi.pointerSize;
  const blockLayout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis);
  const headerLayout = layoutOf('OFFLOAD_STATE_HEADER', abi, ndis);
  const fieldOffset = (name: string): number => blockLayout.fields.find((f) => f.name === name)!.offset;
  const OFF_NEXT = fieldOffset('NextBlock');
  const OFF_DEP = fieldOffset('DependentBlockList');
  const OFF_CTX = fieldOffset('MiniportOffloadContext');

  const log = new DiagnosticLog(maxDiagnostics);
  const loc = new Location();
  const scratch = new Location();
  const hex = (v: bigint): string => hexPtr(v, ptr);

  const report = (severity: Severity, code: DiagnosticCode, path: string, address: bigint, message: string, extra: { member?: string; offset?: number | null } = {}): void => {
    if (!log.take(severity, code, path)) return;
    const offset = extra.offset === undefined ? offsetOf(address) : extra.offset;
    log.keep({ severity, code, message, path, ...(extra.member ? { member: extra.member } : {}), address: hex(address), offset });
  };
  const offsetOf = (address: bigint): number | null =>
    image.locate(address, 0, scratch) && scratch.imageOffset >= 0 ? scratch.imageOffset : null;

  const readPtr = (view: DataView, at: number): bigint =>
    ptr === 8 ? view.getBigUint64(at, true) : BigInt(view.getUint32(at, true));

  const blocks: BlockJson[] = [];
  /** Visited addresses -> index in `paths`/`parents`. */
  const visited = new Map<bigint, number>();
  const paths: string[] = [];
  const parents: number[] = [];
  const stack: Pending[] = [];

  const doc: TreeDocument = {
    format: FORMAT,
    abi: abi.name,
    ndis,
    base: image.kind === 'region' ? hex([...image.ranges()][0]!.address) : null,
    root: hex(root),
    operation: op ?? null,
    blocks,
    diagnostics: [],
  };

  if (root === 0n) {
    report('error', 'ROOT_NULL', 'blocks[0]', 0n, 'the root pointer is NULL', { offset: null });
    doc.diagnostics = log.finish({ path: 'blocks', address: hex(root) });
    return doc;
  }
  stack.push({ address: root, layer: 0, list: blocks, listPath: 'blocks', from: -1, member: 'root' });
  let count = 0;

  while (stack.length > 0) {
    const p = stack.pop()!;
    const path = `${p.listPath}[${p.list.length}]`;
    const layerName = LAYERS[p.layer]!;

    const seen = visited.get(p.address);
    if (seen !== undefined) {
      // The reference walks the whole route back to the root: obviously right, quadratic at worst.
      const [code, what] = isAncestor(seen, p.from, parents) ? (['CYCLE', ': a cycle'] as const) : (['BLOCK_SHARED', ', reached twice'] as const);
      report('error', code, path, p.address, `${p.member} leads back to the block at ${paths[seen]}${what}; not followed again`, {
        member: p.member,
      });
      continue;
    }
    if (count >= maxBlocks) {
      report('error', 'LIMIT_BLOCKS', path, p.address, `more than ${maxBlocks} blocks; raise the limit (maxBlocks / --max-blocks) to decode further`);
      break;
    }
    if (p.address % BigInt(blockLayout.align) !== 0n) {
      report('warning', 'POINTER_MISALIGNED', path, p.address, `${p.member} ${hex(p.address)} is not ${blockLayout.align}-byte aligned`, { member: p.member });
    }
    if (!image.locate(p.address, blockLayout.size, loc)) {
      const partial = image.locate(p.address, 1, scratch);
      report(
        'error',
        partial ? 'BLOCK_TRUNCATED' : 'POINTER_OUTSIDE_IMAGE',
        path,
        p.address,
        `${p.member} ${hex(p.address)}: the block (${blockLayout.size} bytes) ${image.explain(p.address, blockLayout.size)}`,
        { member: p.member },
      );
      continue;
    }
    const index = paths.length;
    visited.set(p.address, index);
    paths.push(path);
    parents.push(p.from);
    count++;

    const view = loc.view;
    const at = loc.offset;
    const blockOffset = loc.imageOffset >= 0 ? loc.imageOffset : null;
    const raw = readStruct(blockLayout, view, at);
    const header = raw.Header as PlainStruct;
    const typeValue = header.Type as number;
    const type = stateType(typeValue);
    const next = readPtr(view, at + OFF_NEXT);
    const dep = readPtr(view, at + OFF_DEP);
    const context = readPtr(view, at + OFF_CTX);
    const stateAddress = p.address + BigInt(blockLayout.size);
    const otherSize = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi.name === 'x64' ? X86 : X64, ndis).size;
    if (p.from === -1 && image.kind !== 'paged' && (next !== 0n || dep !== 0n) && (header.Size as number) !== otherSize) {
      const named = [['NextBlock', next], ['DependentBlockList', dep], ['MiniportOffloadContext', context]].filter(([, v]) => v !== 0n) as [string, bigint][];
      if (named.every(([, v]) => !image.locate(v, 1, scratch))) {
        report('warning', 'BASE_SUSPECT', path, p.address, `${image.kind === 'region' ? '--base' : 'a --segment address'} may be wrong: no pointer of the root block lands in the captured memory (${named.map(([n, v]) => `${n} ${hex(v)}`).join(', ')})`);
      }
    }

    // Is there state after the block? From the operation and role when given, else from the bytes.
    const lengthAfter = (): number | undefined =>
      image.locate(stateAddress, headerLayout.size, scratch) ? scratch.view.getUint32(scratch.offset, true) : undefined;
    const inferred = (): boolean => {
      if (!type) return false;
      const len = lengthAfter();
      return len !== undefined && expectedLengths(type, abi).includes(len);
    };
    const cls = classify(context, image, ptr, scratch, inferred);
    const role: Role = cls.role;
    let hasState: boolean;
    if (op) hasState = stateCarried(role, op);
    else {
      hasState = role !== 'placeholder' && inferred();
      if (role !== 'placeholder' && type && type.parts.length) {
        report('info', 'STATE_INFERRED', path, stateAddress, hasState
          ? `no operation given: state inferred present (OFFLOAD_STATE_HEADER.Length matches ${type.parts[0]})`
          : `no operation given: no state inferred (no OFFLOAD_STATE_HEADER whose Length matches ${type.parts[0]} follows)`);
      }
    }
    if (cls.cellMissing) {
      report('info', 'CONTEXT_OUTSIDE_IMAGE', path, context, `*MiniportOffloadContext is not in the image; role '${role}' inferred from the bytes after the block`, { member: 'MiniportOffloadContext' });
    }

    const status = raw.Status as number;
    const block: BlockJson = {
      address: hex(p.address),
      offset: blockOffset,
      layer: layerName as Layer,
      role,
      type: type ? type.name : `unknown (${typeValue})`,
      Header: header as BlockJson['Header'],
      NextBlock: hex(next),
      DependentBlockList: hex(dep),
      Status: { value: status, hex: statusHex(status), name: describeStatus(status) },
      dependents: [],
    };
    for (const f of blockLayout.fields) {
      if (f.name in block) continue;
      block[f.name] = toJson(raw[f.name]!, ptr);
      if (f.name === 'MiniportOffloadContext' && cls.cell !== undefined) block['*MiniportOffloadContext'] = hex(cls.cell);
    }
    const dependents = block.dependents;
    delete (block as Partial<BlockJson>).dependents; // keep `state` and `dependents` last
    p.list.push(block);

    // ---- checks on the block itself ----
    if (header.Size !== blockLayout.size) {
      const other = abi.name === 'x64' ? X86 : X64;
      const hint = header.Size === layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', other, ndis).size ? ` (${header.Size} is the ${other.name} block size: try --abi ${other.name})` : '';
      report('warning', 'HEADER_SIZE_MISMATCH', path, p.address, `Header.Size is ${header.Size}, the block is ${blockLayout.size} bytes on ${abi.name}${hint}`, { member: 'Header.Size' });
    }
    if (role !== 'placeholder') {
      if (!type || !type.layer) {
        report('warning', 'TYPE_UNKNOWN', path, p.address, `Header.Type ${typeValue} is not an offload state type of a layer`, { member: 'Header.Type' });
      } else if (type.layer !== layerName) {
        report('warning', 'TYPE_LAYER_MISMATCH', path, p.address, `Header.Type ${type.name} is ${type.layer} state, but the block sits at the ${layerName} layer`, { member: 'Header.Type' });
      }
    }
    if (op && role !== 'placeholder' && !isStatusAllowed(op, status)) {
      report('warning', 'STATUS_NOT_ALLOWED', path, p.address + BigInt(blockLayout.fields.find((f) => f.name === 'Status')!.offset),
        `Status ${describeStatus(status)} is not one a target may write to complete ${op}`, { member: 'Status' });
    }

    // ---- state ---- (none for a type without parts, e.g. TcpOffloadResourceState: `state: {}` would not encode back)
    if (hasState && type && type.layer && type.parts.length) {
      const state = decodeState(type, stateAddress, path);
      if (state) block.state = state;
    }
    block.dependents = dependents;

    // ---- links: push NextBlock first so that dependents (pushed last) are decoded first ----
    if (next !== 0n) stack.push({ address: next, layer: p.layer, list: p.list, listPath: p.listPath, from: index, member: 'NextBlock' });
    if (dep !== 0n) {
      if (p.layer === LAYERS.length - 1) {
        report('error', 'TCP_HAS_DEPENDENTS', path, p.address, `a TCP block's DependentBlockList must be NULL, is ${hex(dep)}; not followed`, { member: 'DependentBlockList' });
      } else {
        stack.push({ address: dep, layer: p.layer + 1, list: dependents, listPath: `${path}.dependents`, from: index, member: 'DependentBlockList' });
      }
    }
  }

  doc.diagnostics = log.finish({ path: 'blocks', address: hex(root) });
  return doc;

  function decodeState(type: NonNullable<ReturnType<typeof stateType>>, address: bigint, path: string): Record<string, Record<string, unknown>> | undefined {
    const parts = stateParts(type, abi, ndis);
    const state: Record<string, Record<string, unknown>> = {};
    for (const part of parts) {
      const partAddress = address + BigInt(part.offset);
      if (!image.locate(partAddress, part.layout.size, loc)) {
        report('error', 'STATE_TRUNCATED', path, partAddress, `${part.name} (${part.layout.size} bytes) ${image.explain(partAddress, part.layout.size)}`, { member: part.name });
        break;
      }
      const plain = readStruct(part.layout, loc.view, loc.offset);
      const json = toJson(plain, ptr) as Record<string, unknown>;
      const length = (plain.Header as PlainStruct).Length as number;
      if (length !== part.layout.size) {
        const other = layoutOf(part.name, abi, ndis === '6.1' ? '6.0' : '6.1').size;
        const hint = other === length ? ` (that is the NDIS ${ndis === '6.1' ? '6.0' : '6.1'} size: try --ndis ${ndis === '6.1' ? '6.0' : '6.1'})` : '';
        report('warning', 'STATE_LENGTH_MISMATCH', path, partAddress, `${part.name}.Header.Length is ${length}, the structure is ${part.layout.size} bytes${hint}`, { member: `${part.name}.Header.Length` });
      }
      if (part.name === 'TCP_OFFLOAD_STATE_DELEGATED') {
        const s = plain.State as number;
        json.State = { value: s, name: TCP_OFFLOAD_CONNECTION_STATE[s] ?? `unknown (${s})` };
      }
      if (part.name === 'PATH_OFFLOAD_STATE_CONST' && type.addressBytes) {
        for (const member of ['SourceAddress', 'DestinationAddress']) {
          const a = plain[member] as bigint;
          const text = ipAt(a, type.addressBytes, path, `${part.name}.${member}`);
          if (text !== undefined) json[`*${member}`] = text;
        }
      }
      state[part.name] = json;
    }
    return state;
  }

  function ipAt(address: bigint, bytes: number, path: string, member: string): string | undefined {
    if (address === 0n) {
      report('warning', 'ADDRESS_NULL', path, address, `${member} is NULL`, { member, offset: null });
      return undefined;
    }
    if (!image.locate(address, bytes, scratch)) {
      report('warning', 'ADDRESS_OUTSIDE_IMAGE', path, address, `${member} ${hex(address)} (+${bytes} address bytes) ${image.explain(address, bytes)}`, { member });
      return undefined;
    }
    return formatIp(new Uint8Array(scratch.view.buffer, scratch.view.byteOffset + scratch.offset, bytes));
  }
}

/**
 * True when block `target` is `from` or one of the blocks `from` was reached through.
 */
function isAncestor(target: number, from: number, parents: number[]): boolean {
  for (let i = from; i >= 0; i = parents[i]!) if (i === target) return true;
  return false;
}

/** Plain values to JSON: pointers and 64-bit values as 0x hex, byte arrays as hex strings. */
function toJson(v: PlainValue, ptrSize: number): unknown {
  if (typeof v === 'bigint') return hexPtr(v, ptrSize);
  if (v instanceof Uint8Array) return Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('');
  if (Array.isArray(v)) return v.map((e) => toJson(e, ptrSize));
  if (typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) o[k] = toJson(e, ptrSize);
    return o;
  }
  return v;
}
