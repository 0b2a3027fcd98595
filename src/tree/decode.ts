/**
 * Decodes an offload state tree from a memory image into the JSON document, validating as it
 * goes. Iterative (an explicit stack), so a chain of a million blocks cannot overflow the call
 * stack; bounded by limits that the caller can raise; never stops at the first problem.
 */
import { Location, type MemoryImage } from '../codec/image.js';
import type { PlainValue } from '../codec/struct-io.js';
import { ABIS, X64, type Abi } from '../layout/abi.js';
import {
  LAYERS,
  type Layer,
  OPERATIONS,
  type Operation,
  TCP_OFFLOAD_CONNECTION_STATE,
  describeStatus,
  isStatusAllowed,
  stateType,
  statusHex,
} from '../layout/constants.js';
import { NDIS_REVISIONS, SCALARS, type NdisRevision, type TypeRef } from '../layout/descriptor.js';
import type { PlacedField, StructLayout } from '../layout/msvc.js';
import { layoutOf } from '../layout/registry.js';
import { UsageError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { DiagnosticLog } from './diagnostics.js';
import { type BlockFields, type BlockJson, type Diagnostic, type DiagnosticCode, type DocumentHead, FORMAT, type Role, type Severity, type TreeDocument, hexPtr } from './document.js';
import { formatIp } from './ip.js';
import { classify } from './roles.js';
import { blockOffsets } from './walk.js';
import { expectedLengths, stateCarried, stateParts } from './state.js';

export interface DecodeOptions {
  abi?: Abi;
  ndis?: NdisRevision;
  /** The operation the tree was handed to the target for; when absent, state presence is inferred from the bytes. */
  operation?: Operation;
  /** Most blocks decoded before stopping with LIMIT_BLOCKS (default 1,048,576). */
  maxBlocks?: number;
  /**
   * Most diagnostics listed one by one (default 1,000). Past it, notes of one code are summarised
   * (a count, the first and last path) and errors and warnings take the place of notes; what does
   * not fit is counted in one summary per code (see DiagnosticLog).
   */
  maxDiagnostics?: number;
}

export const DEFAULT_LIMITS = { maxBlocks: 1 << 20, maxDiagnostics: 1000 } as const;

/** A list of the document being filled: `blocks`, or the dependents of one block. */
interface OpenList {
  /** `blocks` or `blocks[0].dependents`. */
  path: string;
  /** Blocks decoded into it so far (the index of the next one). */
  count: number;
  /** Visit index of the block whose dependents it holds, -1 for `blocks`. */
  owner: number;
}

interface Pending {
  address: bigint;
  layer: number;
  list: OpenList;
  /** Index of the visited block that points here (for cycle detection), -1 for the root. */
  from: number;
  member: string;
}

/** One block of the tree, as decodeBlocks yields it, in document order (a block, its dependents, then its next sibling). */
export interface DecodedBlock {
  /** Its path in the document: `blocks[0].dependents[2]`. */
  path: string;
  /** Its nesting in the document: 0 for `blocks`, 1 for their dependents...; the index of its layer in LAYERS. */
  depth: number;
  /** Its members as in the document, `state` included, without `dependents` (decodeTree adds them last). */
  block: BlockFields;
}

/**
 * The blocks of a tree, decoded one at a time as it is iterated (once): see decodeBlocks. `head`
 * is known before the first block; `diagnostics` once the iteration has ended.
 */
export interface BlockStream extends Iterable<DecodedBlock> {
  readonly head: DocumentHead;
  /** The document's diagnostics, complete; throws while blocks remain to be read. */
  readonly diagnostics: Diagnostic[];
  /** Blocks yielded so far. */
  readonly blockCount: number;
}

/** Visits a chunk of Visits holds (its arrays are never copied: a grown array's old copy would stay resident until a full collection). */
const VISIT_CHUNK = 1 << 16;

/**
 * Visited blocks, in the least memory that still tells a CYCLE from a BLOCK_SHARED and names the
 * earlier visit's path: per visit its address (two 32-bit halves), the visit owning its list, its
 * index there and whether it is on the route from the root (17 bytes, in chunks of VISIT_CHUNK
 * visits), and an open-addressing table from address to visit (4 bytes a slot, at most 3/4 full):
 * some 25 to 35 bytes a block, where the block's document is kilobytes.
 */
class Visits {
  private slot = new Int32Array(1 << 10).fill(-1);
  /** Per chunk: hi, lo of each visit's address. */
  private readonly keys: Uint32Array[] = [];
  /** Per chunk: owner, index of each visit. */
  private readonly links: Int32Array[] = [];
  private readonly route: Uint8Array[] = [];
  size = 0;

  /** The slot of the visit at hi:lo, or the empty slot where it would go. */
  private find(hi: number, lo: number): number {
    const mask = this.slot.length - 1;
    let i = (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> 7) & mask;
    for (let v = this.slot[i]!; v !== -1; v = this.slot[i]!) {
      const k = this.keys[v >>> 16]!;
      const at = (v & (VISIT_CHUNK - 1)) * 2;
      if (k[at + 1] === lo && k[at] === hi) break;
      i = (i + 1) & mask;
    }
    return i;
  }

  /** The visit index of `address`, or undefined. */
  get(address: bigint): number | undefined {
    const v = this.slot[this.find(Number(address >> 32n) >>> 0, Number(address & 0xffffffffn))]!;
    return v === -1 ? undefined : v;
  }

  /** Records a visit (on the route); its index. */
  add(address: bigint, owner: number, index: number): number {
    if ((this.size + 1) * 4 > this.slot.length * 3) this.rehash();
    const v = this.size++;
    const c = v >>> 16;
    if (c === this.keys.length) {
      this.keys.push(new Uint32Array(VISIT_CHUNK * 2));
      this.links.push(new Int32Array(VISIT_CHUNK * 2));
      this.route.push(new Uint8Array(VISIT_CHUNK));
    }
    const hi = Number(address >> 32n) >>> 0;
    const lo = Number(address & 0xffffffffn);
    this.slot[this.find(hi, lo)] = v;
    const at = (v & (VISIT_CHUNK - 1)) * 2;
    this.keys[c]![at] = hi;
    this.keys[c]![at + 1] = lo;
    this.links[c]![at] = owner;
    this.links[c]![at + 1] = index;
    this.route[c]![v & (VISIT_CHUNK - 1)] = 1;
    return v;
  }

  onRoute(v: number): boolean {
    return this.route[v >>> 16]![v & (VISIT_CHUNK - 1)] === 1;
  }

  leaveRoute(v: number): void {
    this.route[v >>> 16]![v & (VISIT_CHUNK - 1)] = 0;
  }

  /** The path of visit `v`, rebuilt from the owners (as many steps as layers). */
  path(v: number): string {
    let path = '';
    for (let w = v; w !== -1; ) {
      const l = this.links[w >>> 16]!;
      const at = (w & (VISIT_CHUNK - 1)) * 2;
      path = `${l[at] === -1 ? 'blocks' : '.dependents'}[${l[at + 1]}]${path}`;
      w = l[at]!;
    }
    return path;
  }

  private rehash(): void {
    this.slot = new Int32Array(this.slot.length * 2).fill(-1);
    for (let v = 0; v < this.size; v++) {
      const k = this.keys[v >>> 16]!;
      const at = (v & (VISIT_CHUNK - 1)) * 2;
      this.slot[this.find(k[at]!, k[at + 1]!)] = v;
    }
  }
}

/** Decodes the tree whose root block is at `root` into the whole document (decodeBlocks, assembled). */
export function decodeTree(image: MemoryImage, root: bigint, options: DecodeOptions = {}): TreeDocument {
  const stream = decodeBlocks(image, root, options);
  const blocks: BlockJson[] = [];
  /** lists[d]: the list a block at depth d goes in (the dependents of the last block at depth d - 1). */
  const lists: BlockJson[][] = [blocks];
  for (const { depth, block } of stream) {
    const b = block as BlockJson;
    b.dependents = [];
    lists[depth]!.push(b);
    lists[depth + 1] = b.dependents;
  }
  return { ...stream.head, blocks, diagnostics: stream.diagnostics };
}

const isCount = (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= 1;

/**
 * The options a program gives, checked before any byte is read: an operation, revision, ABI or
 * limit that is not one is a UsageError naming it (a caller's mistake), never a TypeError from
 * deep in the walk or a limit silently taken as none.
 */
function checkOptions(root: bigint, options: DecodeOptions): void {
  if (typeof root !== 'bigint') throw new UsageError(`decode: the root must be a bigint address, got ${typeof root}`);
  const { operation, ndis, abi, maxBlocks, maxDiagnostics } = options;
  if (operation !== undefined && !(OPERATIONS as readonly unknown[]).includes(operation)) {
    throw new UsageError(`decode: unknown operation '${String(operation)}'${didYouMean(String(operation), OPERATIONS)} (operations: ${OPERATIONS.join(', ')})`);
  }
  if (ndis !== undefined && !(NDIS_REVISIONS as readonly unknown[]).includes(ndis)) {
    throw new UsageError(`decode: unknown NDIS revision '${String(ndis)}' (known: ${NDIS_REVISIONS.join(', ')})`);
  }
  if (abi !== undefined && !ABIS.includes(abi)) throw new UsageError(`decode: abi must be one of ${ABIS.map((a) => a.name).join(', ')} (the exported X64 or X86)`);
  if (maxBlocks !== undefined && !isCount(maxBlocks)) throw new UsageError(`decode: maxBlocks must be a positive integer, got ${String(maxBlocks)}`);
  if (maxDiagnostics !== undefined && !isCount(maxDiagnostics)) throw new UsageError(`decode: maxDiagnostics must be a positive integer, got ${String(maxDiagnostics)}`);
}

/**
 * Decodes the tree whose root block is at `root` one block at a time, in document order, with the
 * same checks and diagnostics as decodeTree (which is built on it). What it keeps between blocks
 * is what the checks need: the visited addresses (see Visits: a cycle or a shared block is
 * reported with the path of the earlier visit), the pending links (one a layer: the NextBlock of
 * each block whose dependents are being read) and the diagnostics (at most maxDiagnostics and a
 * summary per code), never the blocks. A block's role is read from its own bytes
 * (MiniportOffloadContext and the cell it points to), so no block waits for its dependents.
 */
export function decodeBlocks(image: MemoryImage, root: bigint, options: DecodeOptions = {}): BlockStream {
  checkOptions(root, options);
  const abi = options.abi ?? X64;
  const ndis = options.ndis ?? '6.1';
  const op = options.operation;
  const maxBlocks = options.maxBlocks ?? DEFAULT_LIMITS.maxBlocks;
  const maxDiagnostics = options.maxDiagnostics ?? DEFAULT_LIMITS.maxDiagnostics;
  const ptr = abi.pointerSize;
  const blockLayout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis);
  const headerLayout = layoutOf('OFFLOAD_STATE_HEADER', abi, ndis);
  const { next: OFF_NEXT, dependent: OFF_DEP, context: OFF_CTX } = blockOffsets(abi);
  const reader = blockReader(blockLayout);
  // The other ABI's block size, for the hint of a HEADER_SIZE_MISMATCH that is exactly it.
  const otherAbi = ABIS.find((a) => a.name !== abi.name);
  const otherBlockSize = otherAbi ? layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', otherAbi, ndis).size : -1;

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

  const head: DocumentHead = {
    format: FORMAT,
    abi: abi.name,
    ndis,
    base: image.kind === 'region' ? hex([...image.ranges()][0]!.address) : null,
    root: hex(root),
    operation: op ?? null,
  };
  let diagnostics: Diagnostic[] | undefined;
  let started = false;
  let count = 0;

  return {
    head,
    get diagnostics(): Diagnostic[] {
      if (!diagnostics) throw new Error('decodeBlocks: the diagnostics are known once every block has been read');
      return diagnostics;
    },
    get blockCount(): number {
      return count;
    },
    [Symbol.iterator](): Iterator<DecodedBlock> {
      if (started) throw new Error('decodeBlocks: a stream of blocks is read once');
      started = true;
      return walk();
    },
  };

  function* walk(): Generator<DecodedBlock, void, undefined> {
    if (root === 0n) {
      report('error', 'ROOT_NULL', 'blocks[0]', 0n, 'the root pointer is NULL', { offset: null });
      diagnostics = log.finish({ path: 'blocks', address: hex(root) });
      return;
    }
    const visits = new Visits();
    /**
     * The route from the root to the last block visited (visit indices), and a flag per visit
     * saying whether it is on that route (in Visits). A pending link was pushed by a block on the
     * route (the stack is depth first), so unwinding to that block and reading its flag tells a
     * cycle (the target is on the route) from a shared block in O(1) amortized, however long the route.
     */
    const route: number[] = [];
    const stack: Pending[] = [{ address: root, layer: 0, list: { path: 'blocks', count: 0, owner: -1 }, from: -1, member: 'root' }];

    while (stack.length > 0) {
      const p = stack.pop()!;
      const path = `${p.list.path}[${p.list.count}]`;
      const layerName = LAYERS[p.layer]!;

      while (route.length > 0 && route[route.length - 1] !== p.from) visits.leaveRoute(route.pop()!);
      const seen = visits.get(p.address);
      if (seen !== undefined) {
        const [code, what] = visits.onRoute(seen) ? (['CYCLE', ': a cycle'] as const) : (['BLOCK_SHARED', ', reached twice'] as const);
        report('error', code, path, p.address, `${p.member} leads back to the block at ${visits.path(seen)}${what}; not followed again`, {
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
      const index = visits.add(p.address, p.list.owner, p.list.count);
      route.push(index);
      count++;
      p.list.count++;

      const view = loc.view;
      const at = loc.offset;
      const blockOffset = loc.imageOffset >= 0 ? loc.imageOffset : null;
      const typeValue = view.getUint8(at + reader.headerType);
      const headerSize = view.getUint16(at + reader.headerSize, true);
      const status = view.getInt32(at + reader.status, true);
      const type = stateType(typeValue);
      const next = readPtr(view, at + OFF_NEXT);
      const dep = readPtr(view, at + OFF_DEP);
      const context = readPtr(view, at + OFF_CTX);
      const stateAddress = p.address + BigInt(blockLayout.size);
      // (Not when Header.Size says the other ABI: then the pointers are misread, and HEADER_SIZE_MISMATCH says why.)
      if (p.from === -1 && image.kind !== 'paged' && headerSize !== otherBlockSize) baseHint(path, p.address, next, dep, context);

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

      // Every member of the block structure, in the order of the document (see blockReader).
      const block = reader.block(
        view,
        at,
        hex(p.address),
        blockOffset,
        layerName,
        role,
        type ? type.name : `unknown (${typeValue})`,
        statusJson(status),
        cls.cell === undefined ? undefined : hex(cls.cell),
      );

      // ---- checks on the block itself ----
      if (headerSize !== blockLayout.size) {
        const other = otherAbi && headerSize === otherBlockSize ? ` (${headerSize} is the ${otherAbi.name} block size: try --abi ${otherAbi.name})` : '';
        report('warning', 'HEADER_SIZE_MISMATCH', path, p.address, `Header.Size is ${headerSize}, the block is ${blockLayout.size} bytes on ${abi.name}${other}`, { member: 'Header.Size' });
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
        // The parts captured, in order; none when the first is cut off (STATE_TRUNCATED says where).
        block.state = decodeState(type, stateAddress, path);
      }

      // ---- links: push NextBlock first so that dependents (pushed last) are decoded first ----
      if (next !== 0n) stack.push({ address: next, layer: p.layer, list: p.list, from: index, member: 'NextBlock' });
      if (dep !== 0n) {
        if (p.layer === LAYERS.length - 1) {
          report('error', 'TCP_HAS_DEPENDENTS', path, p.address, `a TCP block's DependentBlockList must be NULL, is ${hex(dep)}; not followed`, { member: 'DependentBlockList' });
        } else {
          stack.push({ address: dep, layer: p.layer + 1, list: { path: `${path}.dependents`, count: 0, owner: index }, from: index, member: 'DependentBlockList' });
        }
      }
      yield { path, depth: p.layer, block };
    }
    diagnostics = log.finish({ path: 'blocks', address: hex(root) });
  }

  /**
   * A region's base that is probably wrong: the root block links somewhere, and no pointer of it
   * (NextBlock, DependentBlockList, MiniportOffloadContext) lands in the image. A root with NULL
   * links, or whose context cell alone is elsewhere, says nothing about the base.
   */
  function baseHint(path: string, address: bigint, next: bigint, dep: bigint, context: bigint): void {
    const pointers = ([['NextBlock', next], ['DependentBlockList', dep], ['MiniportOffloadContext', context]] as const).filter(([, v]) => v !== 0n);
    if (next === 0n && dep === 0n) return;
    if (pointers.some(([, v]) => image.locate(v, 1, scratch))) return;
    report('warning', 'BASE_SUSPECT', path, address,
      `${image.kind === 'region' ? '--base' : 'a --segment address'} may be wrong: no pointer of the root block lands in the captured memory (${pointers.map(([n, v]) => `${n} ${hex(v)}`).join(', ')})`);
  }

  function decodeState(type: NonNullable<ReturnType<typeof stateType>>, address: bigint, path: string): Record<string, Record<string, unknown>> {
    const parts = partsOf(type, abi, ndis);
    const state: Record<string, Record<string, unknown>> = {};
    for (const part of parts) {
      const partAddress = address + BigInt(part.offset);
      if (!image.locate(partAddress, part.layout.size, loc)) {
        report('error', 'STATE_TRUNCATED', path, partAddress, `${part.name} (${part.layout.size} bytes) ${image.explain(partAddress, part.layout.size)}`, { member: part.name });
        break;
      }
      const json = part.read(loc.view, loc.offset);
      const length = (json.Header as { Length: number }).Length;
      if (length !== part.layout.size) {
        const other = layoutOf(part.name, abi, ndis === '6.1' ? '6.0' : '6.1').size;
        const hint = other === length ? ` (that is the NDIS ${ndis === '6.1' ? '6.0' : '6.1'} size: try --ndis ${ndis === '6.1' ? '6.0' : '6.1'})` : '';
        report('warning', 'STATE_LENGTH_MISMATCH', path, partAddress, `${part.name}.Header.Length is ${length}, the structure is ${part.layout.size} bytes${hint}`, { member: `${part.name}.Header.Length` });
      }
      if (part.name === 'TCP_OFFLOAD_STATE_DELEGATED') {
        const s = json.State as number;
        json.State = { value: s, name: TCP_OFFLOAD_CONNECTION_STATE[s] ?? `unknown (${s})` };
      }
      if (part.name === 'PATH_OFFLOAD_STATE_CONST' && type.addressBytes) {
        for (const member of ['SourceAddress', 'DestinationAddress']) {
          const a = BigInt(json[member] as string);
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

// ---- readers: the document's objects straight from the bytes -------------------------------
//
// What toJson(readStruct(layout, view, offset)) gives, built by one function per layout that is
// compiled from the layout once: an object literal whose members are the reads, in the layout's
// order (no intermediate object, no BigInt per pointer).

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex8 = (n: number): string => HEX2[n >>> 24]! + HEX2[(n >>> 16) & 255]! + HEX2[(n >>> 8) & 255]! + HEX2[n & 255]!;
const ZERO64 = `0x${'0'.repeat(16)}`;
const ZERO32 = `0x${'0'.repeat(8)}`;
/** A pointer as hexPtr writes it: 0x and 16 (x64) or 8 (x86) lowercase hex digits. */
const hex64At = (dv: DataView, at: number): string => {
  const lo = dv.getUint32(at, true);
  const hi = dv.getUint32(at + 4, true);
  return lo === 0 && hi === 0 ? ZERO64 : `0x${hex8(hi)}${hex8(lo)}`;
};
const hex32At = (dv: DataView, at: number): string => {
  const v = dv.getUint32(at, true);
  return v === 0 ? ZERO32 : `0x${hex8(v)}`;
};
/** UCHAR[n] as toJson writes a Uint8Array: two lowercase hex digits a byte. */
const bytesAt = (dv: DataView, at: number, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX2[dv.getUint8(at + i)]!;
  return s;
};

/** The JavaScript expression reading member `f` (absolute offsets from `b`), as readField + toJson would give it. */
function valueExpr(f: PlacedField, ptrSize: number): string {
  if (f.fields) return objectExpr(f.fields, ptrSize);
  const scalar = (t: TypeRef, at: number): string => {
    if (t.kind === 'pointer') return `${ptrSize === 8 ? 'h64' : 'h32'}(dv, b + ${at})`;
    if (t.kind === 'enum') return `dv.getUint32(b + ${at}, true)`;
    if (t.kind === 'scalar') {
      const { size, signed } = SCALARS[t.name];
      if (size === 1) return `dv.getUint8(b + ${at})`;
      if (size === 2) return `dv.getUint16(b + ${at}, true)`;
      return signed ? `dv.getInt32(b + ${at}, true)` : `dv.getUint32(b + ${at}, true)`;
    }
    throw new Error(`not a scalar: ${t.kind}`);
  };
  if (f.bitWidth !== undefined) return `(Math.floor((${scalar(f.type, f.offset)} >>> 0) / ${2 ** f.bitOffset!}) % ${2 ** f.bitWidth})`;
  if (f.type.kind === 'array') {
    const { of, count } = f.type;
    if (of.kind === 'scalar' && of.name === 'UCHAR') return `hb(dv, b + ${f.offset}, ${count})`;
    const stride = f.size / count;
    return `[${Array.from({ length: count }, (_, i) => scalar(of, f.offset + i * stride)).join(', ')}]`;
  }
  return scalar(f.type, f.offset);
}

const objectExpr = (fields: readonly PlacedField[], ptrSize: number): string =>
  `{ ${fields.map((f) => `${JSON.stringify(f.name)}: ${valueExpr(f, ptrSize)}`).join(', ')} }`;

/** Compiles `function (dv, b, ...extra) { return <expression>; }` with the readers in scope. */
function compileReader<F>(params: string[], expression: string): F {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('h64', 'h32', 'hb', `return function (${['dv', 'b', ...params].join(', ')}) { return ${expression}; };`)(hex64At, hex32At, bytesAt) as F;
}

type ObjectReader = (dv: DataView, b: number) => Record<string, unknown>;
const structReaders = new WeakMap<StructLayout, ObjectReader>();

/** toJson(readStruct(layout, dv, b)) for one layout, compiled. */
function structReader(layout: StructLayout): ObjectReader {
  let r = structReaders.get(layout);
  if (!r) structReaders.set(layout, (r = compileReader<ObjectReader>([], objectExpr(layout.fields, layout.abi.pointerSize))));
  return r;
}

type BlockBuilder = (
  dv: DataView,
  b: number,
  address: string,
  offset: number | null,
  layer: string,
  role: Role,
  type: string,
  status: BlockJson['Status'],
  cell: string | undefined,
) => BlockFields;

interface BlockReader {
  block: BlockBuilder;
  headerType: number;
  headerSize: number;
  status: number;
}
const blockReaders = new WeakMap<StructLayout, BlockReader>();

/**
 * The block object of the document: address, offset, layer, role, type, Header, NextBlock,
 * DependentBlockList, Status, then every other member in layout order, `*MiniportOffloadContext`
 * right after MiniportOffloadContext when the cell was read (`state` and `dependents` follow).
 */
function blockReader(layout: StructLayout): BlockReader {
  let r = blockReaders.get(layout);
  if (!r) {
    const ptrSize = layout.abi.pointerSize;
    const byName = new Map(layout.fields.map((f) => [f.name, f]));
    const first = ['Header', 'NextBlock', 'DependentBlockList'];
    const literal = (withCell: boolean): string => {
      const members = [
        'address: address',
        'offset: offset',
        'layer: layer',
        'role: role',
        'type: type',
        ...first.map((n) => `${JSON.stringify(n)}: ${valueExpr(byName.get(n)!, ptrSize)}`),
        '"Status": status',
      ];
      for (const f of layout.fields) {
        if (first.includes(f.name) || f.name === 'Status') continue;
        members.push(`${JSON.stringify(f.name)}: ${valueExpr(f, ptrSize)}`);
        if (f.name === 'MiniportOffloadContext' && withCell) members.push('"*MiniportOffloadContext": cell');
      }
      return `{ ${members.join(', ')} }`;
    };
    const params = ['address', 'offset', 'layer', 'role', 'type', 'status', 'cell'];
    const withCell = compileReader<BlockBuilder>(params, literal(true));
    const without = compileReader<BlockBuilder>(params, literal(false));
    const header = byName.get('Header')!;
    r = {
      block: (dv, b, address, offset, layer, role, type, status, cell) =>
        (cell === undefined ? without : withCell)(dv, b, address, offset, layer, role, type, status, cell),
      headerType: header.fields!.find((f) => f.name === 'Type')!.offset,
      headerSize: header.fields!.find((f) => f.name === 'Size')!.offset,
      status: byName.get('Status')!.offset,
    };
    blockReaders.set(layout, r);
  }
  return r;
}

/** The Status object of a block (the strings are made once per distinct status word). */
const statusStrings = new Map<number, { hex: string; name: string }>();
function statusJson(value: number): BlockJson['Status'] {
  let s = statusStrings.get(value);
  if (!s) {
    s = { hex: statusHex(value), name: describeStatus(value) };
    if (statusStrings.size < 4096) statusStrings.set(value, s);
  }
  return { value, hex: s.hex, name: s.name };
}

interface PartReader {
  name: string;
  layout: StructLayout;
  offset: number;
  read: ObjectReader;
}
const partCache = new Map<string, PartReader[]>();

/** stateParts(type, abi, ndis) with each part's compiled reader (computed once). */
function partsOf(type: NonNullable<ReturnType<typeof stateType>>, abi: Abi, ndis: NdisRevision): PartReader[] {
  const key = `${type.value}/${abi.name}/${ndis}`;
  let parts = partCache.get(key);
  if (!parts) {
    parts = stateParts(type, abi, ndis).map((p) => ({ name: p.name, layout: p.layout, offset: p.offset, read: structReader(p.layout) }));
    partCache.set(key, parts);
  }
  return parts;
}

/** Plain values to JSON: pointers and 64-bit values as 0x hex, byte arrays as hex strings. */
export function toJson(v: PlainValue, ptrSize: number): unknown {
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
