/**
 * fast-check arbitraries for offload state tree documents, and small models the property tests
 * check the library against.
 *
 * `treeCaseArb()` generates a valid tree document in the decoder's own form (every member, values
 * as decode prints them) for an ABI, an NDIS revision and an operation: every role at every layer,
 * every state type of the layer (combined ones included; the cached ones only for update), IPv4 and
 * IPv6 paths, state present exactly where the operation's rules say (initiate: new offloads only;
 * query and terminate: every non-placeholder; update: every non-placeholder, cached types only;
 * invalidate: none), bushy trees, long chains and wide fan-out, and member values at their
 * extremes: bit-field maxima, opaque pointers (NdisReserved, SourceHandle, NetBufferListChain,
 * SendDataHead…) NULL, all ones or above 2^63 (2^31 on x86), unknown status words, unknown TCP
 * connection states, Header.Size and Header.Length that are not the structure sizes.
 *
 * The members that encodeTree recomputes (NextBlock, DependentBlockList, MiniportOffloadContext,
 * the address pointers of PATH_OFFLOAD_STATE_CONST) and the block's place (address, offset) are
 * left out: `comparable()` strips them from a decoded document so the two can be compared.
 *
 * Seeds and replay. fast-check prints the seed and the counterexample path of a failing property:
 *
 *     Property failed after 3 tests
 *     { seed: 1234567890, path: "2:1:0", endOnFailure: true }
 *
 * To replay that one property, pass them to its fc.assert: `fc.assert(prop, fcParams({ seed:
 * 1234567890, path: '2:1:0' }))`, or pin every property of a run with the environment:
 * `FC_SEED=1234567890 npx vitest run test/fuzz` (FC_PATH='2:1:0' as well, when one property is
 * run). FC_RUNS=10 multiplies every property's number of runs (a longer fuzzing session).
 */
import fc from 'fast-check';
import { X64, X86, type Abi } from '../../src/layout/abi.js';
import {
  NDIS_STATUS_VALUES,
  OFFLOAD_STATE_TYPE,
  TCP_OFFLOAD_CONNECTION_STATE,
  type Operation,
  type StateType,
} from '../../src/layout/constants.js';
import type { NdisRevision } from '../../src/layout/descriptor.js';
import type { PlacedField } from '../../src/layout/msvc.js';
import { layoutOf } from '../../src/layout/registry.js';
import type { BlockInput, EncodeInput } from '../../src/tree/encode.js';

export const OPERATIONS: readonly Operation[] = ['initiate', 'query', 'update', 'invalidate', 'terminate'];
export const ABI_LIST: readonly Abi[] = [X64, X86];
export const REVISIONS: readonly NdisRevision[] = ['6.0', '6.1'];
export type Role = 'placeholder' | 'linker' | 'new-offload';
export const ROLE_LIST: readonly Role[] = ['placeholder', 'linker', 'new-offload'];
const LAYER_NAMES = ['neighbor', 'path', 'tcp'] as const;

// ---- seeds ------------------------------------------------------------------------------------

/**
 * fc.assert parameters with the environment applied: FC_SEED (and FC_PATH) pin the run, FC_RUNS
 * multiplies numRuns. fast-check's own defaults otherwise (a fresh seed every run, printed on failure).
 */
export function fcParams<T>(params: fc.Parameters<T> = {}): fc.Parameters<T> {
  // The failing assertion in the message itself, not only as its cause: JSON reporters (CI) keep only the message.
  const out: fc.Parameters<T> = { includeErrorInReport: true, ...params };
  const seed = process.env.FC_SEED;
  if (seed !== undefined && seed !== '' && out.seed === undefined) {
    out.seed = Number(seed);
    if (process.env.FC_PATH) out.path = process.env.FC_PATH;
  }
  const scale = Number(process.env.FC_RUNS ?? '');
  if (Number.isFinite(scale) && scale > 0) out.numRuns = Math.max(1, Math.round((params.numRuns ?? 100) * scale));
  return out;
}

// ---- values -------------------------------------------------------------------------------------

export const hexPtr = (v: bigint, abi: Abi): string => `0x${v.toString(16).padStart(abi.pointerSize * 2, '0')}`;
export const statusHex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** An unsigned value of `bits` bits: often 0, 1, the maximum, the sign boundary; otherwise anything. */
export function uintArb(bits: number): fc.Arbitrary<number> {
  const max = 2 ** bits - 1;
  const half = Math.floor(max / 2);
  return fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(0, max, 1, half, half + 1) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max }) },
  );
}

/** An opaque pointer of the ABI: NULL, all ones, the top bit (2^63 / 2^31) and above, 2^53 + 1, anything. */
export function pointerArb(abi: Abi): fc.Arbitrary<bigint> {
  const bits = BigInt(abi.pointerSize * 8);
  const max = (1n << bits) - 1n;
  const top = 1n << (bits - 1n);
  const specials = [0n, max, 1n, top, top + 1n, max - 7n, ...(abi.pointerSize === 8 ? [(1n << 53n) + 1n, 0xffffc70a12340000n] : [0x80a00000n])];
  return fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...specials) },
    { weight: 2, arbitrary: fc.bigInt({ min: top, max }) },
    { weight: 3, arbitrary: fc.bigInt({ min: 0n, max }) },
  );
}

export const nonNullPointerArb = (abi: Abi): fc.Arbitrary<bigint> => pointerArb(abi).filter((v) => v !== 0n);

const STATUS_NAMES = new Map<number, string>(Object.entries(NDIS_STATUS_VALUES).map(([k, v]) => [v, k]));
export const KNOWN_STATUS_WORDS: readonly number[] = Object.values(NDIS_STATUS_VALUES);
/** Words no header defines: the third-party 0x40020001, the extremes, PARTIAL_SUCCESS's neighbours. */
export const UNKNOWN_STATUS_WORDS: readonly number[] = [0x40020001, 0x40020005, 0x7fffffff, -0x80000000, -1, 0x12345678, 0xc0231012 | 0];

/** An NDIS_STATUS as stored (signed 32-bit): known names, unknown words, anything. */
export const statusWordArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KNOWN_STATUS_WORDS) },
  { weight: 1, arbitrary: fc.constantFrom(...UNKNOWN_STATUS_WORDS) },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
);

/** The decoder's Status object for a word. */
export const statusJson = (v: number): { value: number; hex: string; name: string } => ({
  value: v | 0,
  hex: statusHex(v),
  name: STATUS_NAMES.get(v | 0) ?? `unknown (${statusHex(v)})`,
});

/** UCHAR[n] as decode prints it: zeros, ones, a MAC address then zeros, anything. */
function bytesHexArb(n: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant('00'.repeat(n)),
    fc.constant('ff'.repeat(n)),
    fc.uint8Array({ minLength: Math.min(6, n), maxLength: Math.min(6, n) }).map((mac) => toHex(mac) + '00'.repeat(n - mac.length)),
    fc.uint8Array({ minLength: n, maxLength: n }).map(toHex),
  );
}

/** IPv6 text as RFC 5952 writes it (lowercase, no leading zeros, the longest run of two or more zero words compressed, the first on a tie). */
export function ipv6Text(bytes: Uint8Array): string {
  const w = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i >= 2 && j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    if (j > i) i = j - 1;
  }
  const h = (ws: number[]): string => ws.map((x) => x.toString(16)).join(':');
  return best < 0 ? h(w) : `${h(w.slice(0, best))}::${h(w.slice(best + bestLen))}`;
}

/** 16 address bytes with the zero-word patterns RFC 5952 cares about. */
const ipv6BytesArb: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 0x120 })), { minLength: 8, maxLength: 8 }),
    fc.constantFrom('as-is', 'zeros', 'fe80', 'loopback', 'tie'),
  )
  .map(([words, pattern]) => {
    const w = [...words];
    if (pattern === 'zeros') w.fill(0);
    if (pattern === 'loopback') w.fill(0, 0, 7).splice(7, 1, 1);
    if (pattern === 'fe80') w.splice(0, 4, 0xfe80, 0, 0, 0);
    if (pattern === 'tie') {
      w.splice(1, 2, 0, 0);
      w.splice(5, 2, 0, 0);
    }
    return Uint8Array.from(w.flatMap((x) => [x >> 8, x & 0xff]));
  });

export const ipTextArb = (bytes: 4 | 16): fc.Arbitrary<string> =>
  bytes === 4
    ? fc.oneof(fc.constantFrom('0.0.0.0', '255.255.255.255'), fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => Array.from(b).join('.')))
    : ipv6BytesArb.map(ipv6Text);

// ---- structures from their layouts ----------------------------------------------------------------

/** Reads a little-endian unsigned value of `size` bytes at `at`. */
const readLE = (bytes: Uint8Array, at: number, size: number): bigint => {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]!);
  return v;
};

/** A member's value in decoder form: an override from `special`, null to leave it out. */
type Special = (path: string, f: PlacedField) => fc.Arbitrary<unknown> | null | undefined;

function fieldArb(f: PlacedField, abi: Abi, path: string, special: Special): fc.Arbitrary<unknown> | null {
  const s = special(path, f);
  if (s !== undefined) return s;
  if (f.fields) return membersArb(f.fields, abi, `${path}.`, special);
  if (f.bitWidth !== undefined) return uintArb(f.bitWidth);
  const t = f.type;
  if (t.kind === 'array') {
    if (t.of.kind === 'scalar' && t.of.name === 'UCHAR') return bytesHexArb(t.count);
    if (t.of.kind === 'pointer') return fc.array(pointerArb(abi).map((v) => hexPtr(v, abi)), { minLength: t.count, maxLength: t.count });
    throw new Error(`no arbitrary for ${f.ctype}`);
  }
  if (t.kind === 'pointer') return pointerArb(abi).map((v) => hexPtr(v, abi));
  if (t.kind === 'enum') return uintArb(32);
  if (t.kind === 'scalar') return t.name === 'NDIS_STATUS' ? statusWordArb : uintArb(f.size * 8);
  throw new Error(`no arbitrary for ${f.ctype}`);
}

/**
 * Every member of `fields` in decoder form. Members of one anonymous union are generated as the
 * union's bytes, each alternative read from them, so the alternatives always agree (as decode gives them).
 */
function membersArb(fields: readonly PlacedField[], abi: Abi, prefix: string, special: Special): fc.Arbitrary<Record<string, unknown>> {
  const parts: fc.Arbitrary<Record<string, unknown>>[] = [];
  const unions = new Map<number, PlacedField[]>();
  for (const f of fields) {
    if (f.union) {
      unions.set(f.union.id, [...(unions.get(f.union.id) ?? []), f]);
      continue;
    }
    const a = fieldArb(f, abi, `${prefix}${f.name}`, special);
    if (a) parts.push(a.map((v) => ({ [f.name]: v })));
  }
  for (const members of unions.values()) {
    const start = Math.min(...members.map((m) => m.offset));
    const size = Math.max(...members.map((m) => m.offset + m.size)) - start;
    const bytes = fc.oneof(
      fc.constant(new Uint8Array(size)),
      fc.constant(new Uint8Array(size).fill(0xff)),
      fc.uint8Array({ minLength: size, maxLength: size }),
    );
    parts.push(
      bytes.map((b) =>
        Object.fromEntries(
          members.map((m) => {
            const v = readLE(b, m.offset - start, m.size);
            return [m.name, m.type.kind === 'pointer' ? hexPtr(v, abi) : Number(v)];
          }),
        ),
      ),
    );
  }
  return fc.tuple(...parts).map((ps) => Object.assign({}, ...ps) as Record<string, unknown>);
}

/** Usually the structure's size; sometimes any other value (the decoder warns, and decodes on). */
const sizeOrOther = (size: number, bits: number): fc.Arbitrary<number> =>
  fc.oneof({ weight: 12, arbitrary: fc.constant(size) }, { weight: 1, arbitrary: uintArb(bits) });

/** One state part in decoder form. */
function partArb(part: string, type: StateType, abi: Abi, ndis: NdisRevision): fc.Arbitrary<Record<string, unknown>> {
  const layout = layoutOf(part, abi, ndis);
  const special: Special = (path) => {
    if (path === 'Header.Length') return sizeOrOther(layout.size, 32);
    if (part === 'TCP_OFFLOAD_STATE_DELEGATED' && path === 'State') {
      return fc
        .oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: TCP_OFFLOAD_CONNECTION_STATE.length - 1 }) }, { weight: 1, arbitrary: uintArb(32) })
        .map((v) => ({ value: v, name: TCP_OFFLOAD_CONNECTION_STATE[v] ?? `unknown (${v})` }));
    }
    if (part === 'PATH_OFFLOAD_STATE_CONST' && (path === 'SourceAddress' || path === 'DestinationAddress')) return null;
    return undefined;
  };
  const members = membersArb(layout.fields, abi, '', special);
  if (part !== 'PATH_OFFLOAD_STATE_CONST' || !type.addressBytes) return members;
  return fc
    .tuple(members, ipTextArb(type.addressBytes), ipTextArb(type.addressBytes))
    .map(([m, src, dst]) => ({ ...m, '*SourceAddress': src, '*DestinationAddress': dst }));
}

// ---- blocks and trees -------------------------------------------------------------------------

/** The state types a non-placeholder may have at a layer in an operation (update: the cached ones). */
export function typesFor(layer: number, op: Operation): StateType[] {
  const name = LAYER_NAMES[layer]!;
  return OFFLOAD_STATE_TYPE.filter(
    (t) => t.layer === name && t.parts.length > 0 && (op !== 'update' || (t.parts.length === 1 && t.parts[0]!.endsWith('_CACHED'))),
  );
}

/** The reference page's rule: which blocks carry state in an operation. */
export function carriesState(role: Role, op: Operation): boolean {
  if (role === 'placeholder' || op === 'invalidate') return false;
  return op === 'initiate' ? role === 'new-offload' : true;
}

/** Header.Type of placeholders is not significant: junk, other layers' types, reserved markers. */
const PLACEHOLDER_TYPES = [0, 16, 0xfe, 0xff, 0x42, 4, 13, 8, 200, 12];
const typeName = (v: number): string => OFFLOAD_STATE_TYPE.find((t) => t.value === v)?.name ?? `unknown (${v})`;

interface Ctx {
  abi: Abi;
  ndis: NdisRevision;
  op: Operation;
}

/** One block (without dependents) at `layer`, in decoder form, without the recomputed members. */
export function blockArb(layer: number, ctx: Ctx, roles: readonly Role[] = ROLE_LIST): fc.Arbitrary<BlockInput> {
  const { abi, ndis, op } = ctx;
  const blockLayout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis);
  return fc.constantFrom(...roles).chain((role) => {
    const typeArb =
      role === 'placeholder'
        ? fc.oneof(fc.constantFrom(...PLACEHOLDER_TYPES), fc.integer({ min: 0, max: 255 }))
        : fc.constantFrom(...typesFor(layer, op).map((t) => t.value));
    return typeArb.chain((typeValue) => {
      const type = OFFLOAD_STATE_TYPE.find((t) => t.value === typeValue);
      const special: Special = (path) => {
        if (path === 'Header.Type') return fc.constant(typeValue);
        if (path === 'Header.Size') return sizeOrOther(blockLayout.size, 16);
        if (path === 'NextBlock' || path === 'DependentBlockList' || path === 'MiniportOffloadContext') return null;
        if (path === 'Status') return statusWordArb.map(statusJson);
        return undefined;
      };
      const state =
        carriesState(role, op) && type
          ? fc.tuple(...type.parts.map((p) => partArb(p, type, abi, ndis).map((v) => [p, v] as const))).map((ps) => Object.fromEntries(ps))
          : fc.constant(undefined);
      const cell = role === 'linker' ? nonNullPointerArb(abi) : fc.constant(0n);
      return fc.tuple(membersArb(blockLayout.fields, abi, '', special), state, cell).map(([members, st, c]) => {
        const block: BlockInput = { layer: LAYER_NAMES[layer], role, type: typeName(typeValue), ...members };
        if (role !== 'placeholder') block['*MiniportOffloadContext'] = hexPtr(c, abi);
        if (st) block.state = st;
        block.dependents = [];
        return block;
      });
    });
  });
}

export interface ShapeOptions {
  /** 'small': at most a few dozen blocks (for costly checks); 'full': also long chains and wide fan-out. */
  size?: 'small' | 'full';
  /** Roles to draw from (default: all three). */
  roles?: readonly Role[];
}

/** The root chain of a tree: bushy trees, and (size 'full') long chains and wide fan-out. */
export function treeBlocksArb(ctx: Ctx, options: ShapeOptions = {}): fc.Arbitrary<BlockInput[]> {
  const roles = options.roles ?? ROLE_LIST;
  const tcp = blockArb(2, ctx, roles);
  const withDeps = (b: fc.Arbitrary<BlockInput>, deps: fc.Arbitrary<BlockInput[]>): fc.Arbitrary<BlockInput> =>
    fc.tuple(b, deps).map(([block, dependents]) => ({ ...block, dependents }));
  const path = (maxTcp: number): fc.Arbitrary<BlockInput> => withDeps(blockArb(1, ctx, roles), fc.array(tcp, { maxLength: maxTcp }));
  const neighbor = (maxPaths: number, maxTcp: number): fc.Arbitrary<BlockInput> =>
    withDeps(blockArb(0, ctx, roles), fc.array(path(maxTcp), { maxLength: maxPaths }));
  const bushy = fc.array(neighbor(3, 4), { minLength: 1, maxLength: 3 });
  if (options.size === 'small') return bushy;
  return fc.oneof(
    { weight: 10, arbitrary: bushy },
    // A long root chain of neighbors.
    { weight: 1, arbitrary: fc.array(blockArb(0, ctx, roles), { minLength: 40, maxLength: 250, size: 'max' }) },
    // A long chain of TCP blocks under one path.
    { weight: 1, arbitrary: fc.tuple(withDeps(blockArb(0, ctx, roles), fc.tuple(withDeps(blockArb(1, ctx, roles), fc.array(tcp, { minLength: 40, maxLength: 300, size: 'max' }))))).map(([n]) => [n]) },
    // Wide fan-out: many paths under one neighbor.
    { weight: 1, arbitrary: fc.tuple(withDeps(blockArb(0, ctx, roles), fc.array(path(2), { minLength: 20, maxLength: 100, size: 'max' }))).map(([n]) => [n]) },
  );
}

/** Where the image lies: kernel and user addresses, across 2^32 and 2^53, near the top of the address space. */
export function baseArb(abi: Abi): fc.Arbitrary<bigint> {
  if (abi.pointerSize === 4) {
    return fc.oneof(fc.constantFrom(0x80000000n, 0x1000n, 0xc1230000n, 0xfff00000n), fc.bigInt({ min: 0x1000n, max: 0xf0000000n }).map((b) => b & ~0xfn));
  }
  return fc.oneof(
    fc.constantFrom(0xffffc70a12340000n, 0x10000n, 0x7fe012340000n, 0x100000000n - 0x800n, (1n << 53n) - 0x800n, 0xfffffffff0000000n),
    fc.bigInt({ min: 0x1000n, max: 0xffffffff00000000n }).map((b) => b & ~0xfn),
  );
}

export interface TreeCase {
  abi: Abi;
  ndis: NdisRevision;
  operation: Operation;
  base: bigint;
  /** The document in decoder form, without what encodeTree recomputes. */
  doc: EncodeInput & { blocks: BlockInput[] };
}

export interface TreeCaseOptions extends ShapeOptions {
  operations?: readonly Operation[];
  abis?: readonly Abi[];
  revisions?: readonly NdisRevision[];
}

/** A whole valid tree document with its ABI, revision, operation and base. */
export function treeCaseArb(options: TreeCaseOptions = {}): fc.Arbitrary<TreeCase> {
  return fc
    .record({
      abi: fc.constantFrom(...(options.abis ?? ABI_LIST)),
      ndis: fc.constantFrom(...(options.revisions ?? REVISIONS)),
      operation: fc.constantFrom(...(options.operations ?? OPERATIONS)),
    })
    .chain(({ abi, ndis, operation }) =>
      fc.tuple(baseArb(abi), treeBlocksArb({ abi, ndis, op: operation }, options)).map(([base, blocks]) => ({
        abi,
        ndis,
        operation,
        base,
        doc: { format: 'ndis-offload-tree/1', abi: abi.name, ndis, base: hexPtr(base, abi), operation, blocks },
      })),
    );
}

// ---- models -----------------------------------------------------------------------------------

export interface Node {
  block: BlockInput;
  path: string;
  layer: number;
  /** Index (in preorder) of the block whose dependents this block is; -1 at the root layer. */
  owner: number;
}

/** The blocks in decode order (a block, its dependents, its next sibling), with paths and owners. */
export function preorder(blocks: readonly BlockInput[]): Node[] {
  const out: Node[] = [];
  const visit = (list: readonly BlockInput[], prefix: string, layer: number, owner: number): void => {
    list.forEach((block, i) => {
      const index = out.length;
      const path = `${prefix}[${i}]`;
      out.push({ block, path, layer, owner });
      visit(block.dependents ?? [], `${path}.dependents`, layer + 1, index);
    });
  };
  visit(blocks, 'blocks', 0, -1);
  return out;
}

/** The statuses each operation allows, from the reference page (tree-rules.md). */
export const ALLOWED: Readonly<Record<Operation, readonly number[]>> = (() => {
  const v = NDIS_STATUS_VALUES;
  const done = [v.NDIS_STATUS_SUCCESS, v.NDIS_STATUS_FAILURE];
  return {
    initiate: [
      v.NDIS_STATUS_SUCCESS,
      v.NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS,
      v.NDIS_STATUS_FAILURE,
      v.NDIS_STATUS_RESOURCES,
      v.NDIS_STATUS_OFFLOAD_TCP_ENTRIES,
      v.NDIS_STATUS_OFFLOAD_PATH_ENTRIES,
      v.NDIS_STATUS_OFFLOAD_NEIGHBOR_ENTRIES,
      v.NDIS_STATUS_OFFLOAD_HW_ADDRESS_ENTRIES,
      v.NDIS_STATUS_OFFLOAD_IP_ADDRESS_ENTRIES,
      v.NDIS_STATUS_OFFLOAD_TCP_XMIT_BUFFER,
      v.NDIS_STATUS_OFFLOAD_TCP_RCV_BUFFER,
      v.NDIS_STATUS_OFFLOAD_TCP_RCV_WINDOW,
      v.NDIS_STATUS_OFFLOAD_VLAN_ENTRIES,
      v.NDIS_STATUS_OFFLOAD_VLAN_MISMATCH,
    ],
    query: done,
    update: done,
    invalidate: done,
    terminate: done,
  };
})();
export const allowed = (op: Operation, status: number): boolean => ALLOWED[op].includes(status | 0);

/**
 * The diagnostics decodeTree must give for a generated document decoded with its operation
 * (`path code member`, sorted): Header.Size and state Header.Length that are not the sizes, and
 * statuses of non-placeholders the operation does not allow. A valid tree has no others.
 */
export function expectedDiagnostics(tc: TreeCase): string[] {
  const blockSize = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', tc.abi, tc.ndis).size;
  const out: string[] = [];
  for (const { block, path } of preorder(tc.doc.blocks)) {
    const header = block.Header as { Size: number };
    if (header.Size !== blockSize) out.push(`${path} HEADER_SIZE_MISMATCH Header.Size`);
    const status = (block.Status as { value: number }).value;
    if (block.role !== 'placeholder' && !allowed(tc.operation, status)) out.push(`${path} STATUS_NOT_ALLOWED Status`);
    for (const [part, json] of Object.entries(block.state ?? {})) {
      if ((json.Header as { Length: number }).Length !== layoutOf(part, tc.abi, tc.ndis).size) {
        out.push(`${path} STATE_LENGTH_MISMATCH ${part}.Header.Length`);
      }
    }
  }
  return out.sort();
}

/** A decoded (or generated) document with what depends on where the blocks lie taken out. */
export function comparable(blocks: readonly BlockInput[]): unknown[] {
  return blocks.map((b) => {
    const { address, offset, NextBlock, DependentBlockList, MiniportOffloadContext, dependents, state, ...rest } = b;
    const out: Record<string, unknown> = { ...rest };
    if (state) {
      out.state = Object.fromEntries(
        Object.entries(state).map(([name, part]) => {
          const { SourceAddress, DestinationAddress, ...p } = part;
          return [name, p];
        }),
      );
    }
    out.dependents = comparable(dependents ?? []);
    return out;
  });
}

// ---- the status writer's rules ------------------------------------------------------------------

export const SUCCESS = NDIS_STATUS_VALUES.NDIS_STATUS_SUCCESS;
export const FAILURE = NDIS_STATUS_VALUES.NDIS_STATUS_FAILURE;
export const PARTIAL = NDIS_STATUS_VALUES.NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS;

/** Whether the caller decides a block's status (else the writer does: placeholders, initiate's linkers). */
export const callerDecides = (role: Role, op: Operation): boolean => role !== 'placeholder' && !(role === 'linker' && op === 'initiate');

export interface CompletionModel {
  /** The status of every block, in preorder. */
  statuses: number[];
  /** Indexes (preorder) of the blocks whose decided status the operation refuses. */
  refused: number[];
}

/**
 * What completing a tree must write, from tree-rules.md: placeholders SUCCESS; in initiate a linker
 * SUCCESS when every dependent succeeded (NT_SUCCESS: the word read as signed is >= 0, partial
 * success included; vacuously when it has none), FAILURE when none did, PARTIAL_SUCCESS otherwise;
 * every other block the caller's decision.
 */
export function modelCompletion(nodes: readonly { role: Role; owner: number }[], op: Operation, decision: (index: number) => number): CompletionModel {
  const statuses = new Array<number>(nodes.length).fill(0);
  const deps = new Array<number>(nodes.length).fill(0);
  const ok = new Array<number>(nodes.length).fill(0);
  const refused: number[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const { role, owner } = nodes[i]!;
    let s: number;
    if (role === 'placeholder') s = SUCCESS;
    else if (role === 'linker' && op === 'initiate') s = ok[i] === deps[i] ? SUCCESS : ok[i] === 0 ? FAILURE : PARTIAL;
    else {
      s = decision(i) | 0;
      if (!allowed(op, s)) refused.push(i);
    }
    statuses[i] = s;
    if (owner >= 0) {
      deps[owner]!++;
      if (s >= 0) ok[owner]!++;
    }
  }
  return { statuses, refused };
}

// ---- images ---------------------------------------------------------------------------------------

/** mulberry32: junk bytes from a seed (cheaper than generating an image's worth of values). */
export function junk(seed: number, length: number): Uint8Array {
  let a = seed >>> 0;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}
