/**
 * The same work done with general-purpose struct codecs, decoding (and encoding) whole structures
 * into objects: restructure (through the project's restructure codecs, src/codec/restructure.ts)
 * and @solana/buffer-layout (codecs built here from the same layouts). Navigation is the nested
 * loop of the hand-written walk: the codecs do the reading.
 */
import * as bl from '@solana/buffer-layout';
import * as r from 'restructure';
import {
  NDIS_STATUS_VALUES,
  TCP_OFFLOAD_CONNECTION_STATE,
  X64,
  layoutOf,
  restructureCodecFor,
  stateTypeNamed,
  type BlockInput,
  type EncodeInput,
  type PlacedField,
  type PlainStruct,
  type StructLayout,
} from '../src/index.js';
import { pointer64 } from '../src/codec/restructure.js';

const BLOCK = 152;
const SUCCESS = 0;
const PARTIAL = 0x40020004;
const FAILURE = 0xc0000001 | 0;

type Obj = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// restructure

const rBlock = restructureCodecFor('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
const rTcp = restructureCodecFor('TCP_OFFLOAD_STATE', X64);

/** walk-read/restructure: every block and every TCP state decoded to an object. */
export function restructureWalk(bytes: Uint8Array, base: bigint, root: number): number {
  let sum = 0;
  const block = (o: number): Obj => rBlock.fromBuffer(bytes.subarray(o, o + BLOCK)) as Obj;
  const at = (p: bigint): number => (p === 0n ? -1 : Number(p - base));
  for (let n = root; n >= 0; ) {
    const nb = block(n);
    for (let p = at(nb.DependentBlockList); p >= 0; ) {
      const pb = block(p);
      for (let t = at(pb.DependentBlockList); t >= 0; ) {
        const tb = block(t);
        const state = rTcp.fromBuffer(bytes.subarray(t + BLOCK, t + BLOCK + 200)) as Obj;
        sum += state.ConstState.LocalPort + state.ConstState.RemotePort;
        t = at(tb.NextBlock);
      }
      p = at(pb.NextBlock);
    }
    n = at(nb.NextBlock);
  }
  return sum;
}

/** status-write/restructure: decode each block, decide its Status, encode it back in place. */
export function restructureStatusWrite(bytes: Uint8Array, base: bigint, root: number, status: number): number {
  let blocks = 0;
  const at = (p: bigint): number => (p === 0n ? -1 : Number(p - base));
  const roleOf = (b: Obj): number => {
    if (b.MiniportOffloadContext === 0n) return 0;
    const cell = at(b.MiniportOffloadContext);
    if (cell + 8 > bytes.length) return 2;
    return pointer64.decode(new r.DecodeStream(bytes.subarray(cell, cell + 8))) === 0n ? 2 : 1;
  };
  const decide = (role: number, ok: number, deps: number): number =>
    role === 0 ? SUCCESS : role === 1 ? (ok === deps ? SUCCESS : ok === 0 ? FAILURE : PARTIAL) : status;
  const write = (o: number, b: Obj, s: number): void => {
    b.Status = s;
    bytes.set(rBlock.toBuffer(b as PlainStruct), o);
  };
  for (let n = root; n >= 0; ) {
    const nb = rBlock.fromBuffer(bytes.subarray(n, n + BLOCK)) as Obj;
    let nOk = 0;
    let nDeps = 0;
    for (let p = at(nb.DependentBlockList); p >= 0; ) {
      const pb = rBlock.fromBuffer(bytes.subarray(p, p + BLOCK)) as Obj;
      let pOk = 0;
      let pDeps = 0;
      for (let t = at(pb.DependentBlockList); t >= 0; ) {
        const tb = rBlock.fromBuffer(bytes.subarray(t, t + BLOCK)) as Obj;
        const s = decide(roleOf(tb), 0, 0);
        write(t, tb, s);
        pDeps++;
        if (s >= 0) pOk++;
        blocks++;
        t = at(tb.NextBlock);
      }
      const s = decide(roleOf(pb), pOk, pDeps);
      write(p, pb, s);
      nDeps++;
      if (s >= 0) nOk++;
      blocks++;
      p = at(pb.NextBlock);
    }
    write(n, nb, decide(roleOf(nb), nOk, nDeps));
    blocks++;
    n = at(nb.NextBlock);
  }
  return blocks;
}

const rState = new Map<string, r.Struct<PlainStruct>>();
const stateCodec = (name: string): r.Struct<PlainStruct> => {
  let c = rState.get(name);
  if (!c) rState.set(name, (c = restructureCodecFor(name, X64)));
  return c;
};

/** The state object of a part as restructure encodes it: Header.Length filled, names to numbers. */
function partObject(name: string, json: Obj): Obj {
  const out: Obj = { ...json, Header: { Length: layoutOf(name, X64).size, ...(json.Header ?? {}) } };
  for (const k of Object.keys(out)) if (k.startsWith('*')) delete out[k];
  if (name === 'TCP_OFFLOAD_STATE_DELEGATED' && typeof out.State === 'string') {
    out.State = (TCP_OFFLOAD_CONNECTION_STATE as readonly string[]).indexOf(out.State);
  }
  return out;
}

const MEMBER_OF_PART: Record<string, string> = {
  TCP_OFFLOAD_STATE_CONST: 'ConstState',
  TCP_OFFLOAD_STATE_CACHED: 'CachedState',
  TCP_OFFLOAD_STATE_DELEGATED: 'DelegatedState',
  PATH_OFFLOAD_STATE_CONST: 'ConstState',
  PATH_OFFLOAD_STATE_CACHED: 'CachedState',
  PATH_OFFLOAD_STATE_DELEGATED: 'DelegatedState',
  NEIGHBOR_OFFLOAD_STATE_CONST: 'ConstState',
  NEIGHBOR_OFFLOAD_STATE_CACHED: 'CachedState',
  NEIGHBOR_OFFLOAD_STATE_DELEGATED: 'DelegatedState',
};

/**
 * encode/restructure: the compact image of the document (the layout encodeTree makes: each block,
 * its state, its context cell, its IP address bytes), every structure encoded with restructure.
 * Handles what the synthetic documents use: combined state types, roles, Status names, IPv4.
 */
export function restructureEncode(doc: EncodeInput, base: bigint): Uint8Array {
  interface Item {
    block: BlockInput;
    next?: BlockInput;
    first?: BlockInput;
  }
  const order: Item[] = [];
  const visit = (list: BlockInput[]): void => {
    list.forEach((block, i) => {
      order.push({ block, next: list[i + 1], first: block.dependents?.[0] });
      if (block.dependents?.length) visit(block.dependents);
    });
  };
  // Iterative enough for three layers.
  visit(doc.blocks);
  const offsets = new Map<BlockInput, number>();
  let cursor = 0;
  for (const { block } of order) {
    const type = stateTypeNamed(block.type!)!;
    cursor = Math.ceil(cursor / 8) * 8;
    offsets.set(block, cursor);
    cursor += BLOCK;
    if (block.state) cursor += layoutOf(type.combined!, X64).size;
    if (block.role !== 'placeholder') cursor = Math.ceil(cursor / 8) * 8 + 8;
    if (type.addressBytes && block.state?.PATH_OFFLOAD_STATE_CONST) cursor += 2 * type.addressBytes;
  }
  const bytes = new Uint8Array(Math.ceil(cursor / 8) * 8);
  const addr = (o: number): bigint => base + BigInt(o);
  const cellCodec = pointer64;
  for (const { block, next, first } of order) {
    const type = stateTypeNamed(block.type!)!;
    const at = offsets.get(block)!;
    let tail = at + BLOCK + (block.state ? layoutOf(type.combined!, X64).size : 0);
    const members: Obj = {
      Header: { Type: type.value, Revision: 0, Size: BLOCK },
      NextBlock: next ? addr(offsets.get(next)!) : 0n,
      DependentBlockList: first ? addr(offsets.get(first)!) : 0n,
      Status: typeof block.Status === 'string' ? NDIS_STATUS_VALUES[block.Status as keyof typeof NDIS_STATUS_VALUES] : (block.Status ?? 0),
    };
    if (block.role !== 'placeholder') {
      tail = Math.ceil(tail / 8) * 8;
      members.MiniportOffloadContext = addr(tail);
      const cell = block.role === 'new-offload' ? 0n : BigInt((block['*MiniportOffloadContext'] as string | undefined) ?? addr(at));
      const s = new r.EncodeStream(bytes.subarray(tail, tail + 8));
      cellCodec.encode(s, cell);
      tail += 8;
    }
    bytes.set(rBlock.toBuffer(members as PlainStruct), at);
    if (block.state) {
      const combined: Obj = {};
      for (const [part, json] of Object.entries(block.state)) combined[MEMBER_OF_PART[part]!] = partObject(part, json);
      const pc = combined.ConstState;
      if (type.addressBytes && block.state.PATH_OFFLOAD_STATE_CONST) {
        for (const member of ['SourceAddress', 'DestinationAddress']) {
          const text = block.state.PATH_OFFLOAD_STATE_CONST[`*${member}`] as string;
          bytes.set(text.split('.').map(Number), tail);
          pc[member] = addr(tail);
          tail += type.addressBytes;
        }
      }
      bytes.set(stateCodec(type.combined!).toBuffer(combined as PlainStruct), at + BLOCK);
    }
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// @solana/buffer-layout

/** A 64-bit little-endian pointer as a bigint (buffer-layout's nu64 loses bits above 2^53). */
class Pointer64 extends bl.Layout<bigint> {
  constructor(property?: string) {
    super(8, property);
  }
  decode(b: Uint8Array, offset = 0): bigint {
    return bl.uint8ArrayToBuffer(b).readBigUInt64LE(offset);
  }
  encode(src: bigint, b: Uint8Array, offset = 0): number {
    bl.uint8ArrayToBuffer(b).writeBigUInt64LE(src, offset);
    return 8;
  }
}

/** The alternatives of an anonymous union, each decoded from the same bytes into one object. */
class Overlay extends bl.Layout<Obj> {
  constructor(
    private readonly alternatives: bl.Structure<Obj>[],
    span: number,
    property: string,
  ) {
    super(span, property);
  }
  decode(b: Uint8Array, offset = 0): Obj {
    const o: Obj = {};
    for (const a of this.alternatives) Object.assign(o, a.decode(b, offset));
    return o;
  }
  encode(): number {
    throw new Error('not used');
  }
}

function blScalar(f: PlacedField, property?: string): bl.Layout<any> {
  const t = f.type.kind === 'array' ? f.type.of : f.type;
  if (t.kind === 'pointer') return new Pointer64(property);
  if (t.kind === 'enum') return bl.u32(property);
  if (t.kind === 'scalar') {
    if (t.name === 'NDIS_STATUS') return bl.s32(property);
    return t.name === 'UCHAR' ? bl.u8(property) : t.name === 'USHORT' ? bl.u16(property) : bl.u32(property);
  }
  throw new Error(`no scalar for ${t.kind}`);
}

function blStruct(fields: readonly PlacedField[], start: number, end: number, property?: string): bl.Structure<Obj> {
  const parts: bl.Layout<any>[] = [];
  let at = start;
  const place = (offset: number, span: number, layout: bl.Layout<any>): void => {
    if (offset > at) parts.push(bl.blob(offset - at));
    parts.push(layout);
    at = offset + span;
  };
  for (let i = 0; i < fields.length; ) {
    const f = fields[i]!;
    let j = i + 1;
    const same = (g: PlacedField): boolean =>
      f.union ? g.union?.id === f.union.id : f.bitWidth !== undefined && g.bitWidth !== undefined && !g.union && g.offset === f.offset;
    while (j < fields.length && same(fields[j]!)) j++;
    const group = fields.slice(i, j);
    i = j;
    if (f.union) {
      const spanEnd = Math.max(...group.map((g) => g.offset + g.size));
      const alts = [...new Set(group.map((g) => g.union!.alternative))].map((a) => {
        const members = group.filter((g) => g.union!.alternative === a).map(({ union: _, ...g }) => g);
        return blStruct(members, f.offset, Math.max(...members.map((g) => g.offset + g.size)));
      });
      place(f.offset, spanEnd - f.offset, new Overlay(alts, spanEnd - f.offset, `union@${f.offset}`));
    } else if (f.bitWidth !== undefined) {
      const word = f.size === 1 ? bl.u8() : f.size === 2 ? bl.u16() : bl.u32();
      const bits = bl.bits(word, false, `bits@${f.offset}`);
      for (const g of group) bits.addField(g.bitWidth!, g.name);
      place(f.offset, f.size, bits);
    } else if (f.fields) {
      place(f.offset, f.size, blStruct(f.fields, f.offset, f.offset + f.size, f.name));
    } else if (f.type.kind === 'array') {
      const { of, count } = f.type;
      place(f.offset, f.size, of.kind === 'scalar' && of.name === 'UCHAR' ? bl.blob(count, f.name) : bl.seq(blScalar(f), count, f.name));
    } else place(f.offset, f.size, blScalar(f, f.name));
  }
  if (end > at) parts.push(bl.blob(end - at));
  return bl.struct(parts, property);
}

export const bufferLayoutOf = (layout: StructLayout): bl.Structure<Obj> => blStruct(layout.fields, 0, layout.size);

const blBlock = bufferLayoutOf(layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64));
const blTcp = bufferLayoutOf(layoutOf('TCP_OFFLOAD_STATE', X64));

/** walk-read/buffer-layout: every block and every TCP state decoded to an object. */
export function bufferLayoutWalk(bytes: Uint8Array, base: bigint, root: number): number {
  let sum = 0;
  const at = (p: bigint): number => (p === 0n ? -1 : Number(p - base));
  for (let n = root; n >= 0; ) {
    const nb = blBlock.decode(bytes, n);
    for (let p = at(nb.DependentBlockList); p >= 0; ) {
      const pb = blBlock.decode(bytes, p);
      for (let t = at(pb.DependentBlockList); t >= 0; ) {
        const tb = blBlock.decode(bytes, t);
        const state = blTcp.decode(bytes, t + BLOCK);
        sum += state.ConstState.LocalPort + state.ConstState.RemotePort;
        t = at(tb.NextBlock);
      }
      p = at(pb.NextBlock);
    }
    n = at(nb.NextBlock);
  }
  return sum;
}
