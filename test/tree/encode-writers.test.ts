/**
 * The compiled state-part writers (src/tree/encode-writers.ts), compiled afresh for every part of
 * every state type in both ABIs and NDIS revisions, against the rules they implement, stated
 * again here: a writer takes an object exactly when every key is a member (or a key it must skip),
 * every value a plain in-range number, a "0x" pointer or a nested object of such, the members given
 * of a union belong to one alternative and a Header is a plain object with its Length; then its
 * bytes are writeStruct's for the same members (Header.Length defaulting to the part's size).
 * Anything else it refuses, having written only members the object gives.
 */
import { describe, expect, it } from 'vitest';
import {
  NDIS_STATUS_VALUES,
  OFFLOAD_STATE_TYPE,
  layoutOf,
  SCALARS,
  TCP_OFFLOAD_CONNECTION_STATE,
  X64,
  X86,
  stateParts,
  writeStruct,
  type PlacedField,
  type StructLayout,
} from '../../src/index.js';
import { compilePartWriter } from '../../src/tree/encode-writers.js';

function rng(seed: number) {
  let x = seed | 0 || 1;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let i = 0; i < 16; i++) next(); // small seeds start with small numbers
  return { next, int: (n: number) => next() % n, chance: (p: number) => next() / 4294967296 < p, pick: <T>(xs: readonly T[]): T => xs[next() % xs.length]! };
}
type R = ReturnType<typeof rng>;

const connectionState = (v: unknown): unknown => {
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  const name = o ? o.name : v;
  const i = typeof name === 'string' ? (TCP_OFFLOAD_CONNECTION_STATE as readonly string[]).indexOf(name) : -1;
  return i >= 0 ? i : o ? o.value : v;
};

/** Every distinct part layout, with what its writer is told. */
const parts: { key: string; layout: StructLayout; lengthAt: number; delegated: boolean }[] = [];
for (const abi of [X64, X86]) {
  for (const ndis of ['6.0', '6.1'] as const) {
    for (const type of OFFLOAD_STATE_TYPE) {
      if (!type.parts.length) continue;
      for (const p of stateParts(type, abi, ndis)) {
        const key = `${abi.name}/${ndis}/${p.name}`;
        if (parts.some((q) => q.key === key)) continue;
        const header = p.layout.fields.find((f) => f.name === 'Header')!;
        parts.push({ key, layout: p.layout, lengthAt: header.fields!.find((f) => f.name === 'Length')!.offset, delegated: p.name === 'TCP_OFFLOAD_STATE_DELEGATED' });
      }
    }
  }
}

const BAD = [-1, 1.5, Number.NaN, Infinity, '7', null, true, 5n, [], '0x', ' 0x1', '0xg', '0x12345678123456789'];

/** A value for a member: mostly one the fast path takes (its edges included), now and then one just past them or a bad one. */
function valueFor(r: R, f: PlacedField, ptr: number, depth: number): unknown {
  if (f.fields) return r.chance(0.05) ? r.pick([5, null, [], new Uint8Array(2)]) : objectFor(r, f.fields, ptr, depth + 1, false);
  if (r.chance(0.03)) return r.pick(BAD);
  const past = r.chance(0.03);
  if (f.type.kind === 'pointer') {
    const max = ptr === 8 ? Number.MAX_SAFE_INTEGER : 0xffffffff;
    if (past) return r.pick([max + 1, ptr === 4 ? '0x100000000' : '0x10000000000000000', -1]);
    return r.pick([0, max, r.next(), '0x0', `0x${r.next().toString(16)}`, ptr === 8 ? `0x${r.next().toString(16)}${r.next().toString(16).padStart(8, '0')}` : '0xffffffff', ptr === 8 ? '0xffffffffffffffff' : '0x00000000ffffffff']);
  }
  if (f.type.kind === 'scalar' && SCALARS[f.type.name].signed) {
    return past ? r.pick([-(2 ** 31) - 1, 2 ** 32]) : r.pick([0, -1, -(2 ** 31), 2 ** 32 - 1, 0x7fffffff, r.next() | 0, r.next()]);
  }
  const max = 2 ** (f.bitWidth ?? f.size * 8) - 1;
  return past ? r.pick([max + 1, -1]) : r.pick([0, max, r.next() % (max + 1), Math.floor(max / 2)]);
}

function objectFor(r: R, fields: readonly PlacedField[], ptr: number, depth: number, top: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) {
    if (!r.chance(f.union ? 0.3 : 0.6)) continue;
    if (top && f.name === 'Header' && r.chance(0.5)) {
      o.Header = r.chance(0.7) ? { Length: r.pick([0, 12, 0xffff]), ...(r.chance(0.5) ? { RecognizedOptions: 3 } : {}) } : r.pick([{ RecognizedOptions: 1 }, null, 5]);
      continue;
    }
    o[f.name] = valueFor(r, f, ptr, depth);
  }
  if (top && r.chance(0.2)) o[r.pick(['*SourceAddress', '*Other', 'SourceAddress', 'DestinationAddress'])] = '10.0.0.1';
  if (r.chance(0.05)) o[r.pick(['Bogus', 'header', 'flags'])] = 1;
  if (depth === 0 && r.chance(0.03)) return Object.assign(Object.create({ inherited: 1 }) as Record<string, unknown>, o);
  return o;
}

// ---- the rules, stated again ----

const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

function valueTaken(f: PlacedField, v: unknown, ptr: number): boolean {
  if (f.fields) return plain(v) && !(v instanceof Uint8Array) && objectTaken(f.fields, v, ptr, false);
  if (f.type.kind === 'pointer') {
    if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 && v <= (ptr === 8 ? 2 ** 64 : 2 ** 32 - 1);
    return typeof v === 'string' && /^0x[0-9a-fA-F]{1,16}$/.test(v) && (ptr === 8 || BigInt(v) <= 0xffffffffn);
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) return false;
  if (f.type.kind === 'scalar' && SCALARS[f.type.name].signed) return v >= -(2 ** 31) && v <= 2 ** 32 - 1;
  if (f.type.kind !== 'scalar' && f.type.kind !== 'enum') return false;
  return v >= 0 && v <= 2 ** (f.bitWidth ?? f.size * 8) - 1;
}

function objectTaken(fields: readonly PlacedField[], o: Record<string, unknown>, ptr: number, top: boolean, delegated = false): boolean {
  if (!plain(o)) return false;
  const byName = new Map(fields.map((f) => [f.name, f]));
  const alternatives = new Map<number, number>();
  for (const k in o) {
    if (top && (k.startsWith('*') || k === 'SourceAddress' || k === 'DestinationAddress')) continue;
    const f = byName.get(k);
    if (!f) return false;
    let v = o[k];
    if (f.union) {
      if (f.fields || f.bitWidth !== undefined) return false;
      const a = alternatives.get(f.union.id);
      if (a !== undefined && a !== f.union.alternative) return false;
      alternatives.set(f.union.id, f.union.alternative);
    }
    if (top && k === 'Header' && !(plain(v) && v.Length !== undefined)) return false;
    if (delegated && k === 'State') v = connectionState(v);
    if (!valueTaken(f, v, ptr)) return false;
  }
  return true;
}

/** The object without the members of a union's later alternatives (for counting what the test covers). */
function withoutConflicts(fields: readonly PlacedField[], o: Record<string, unknown>): Record<string, unknown> {
  if (!plain(o)) return o;
  const out = { ...o };
  const first = new Map<number, number>();
  for (const f of fields) {
    if (!f.union || !(f.name in o)) continue;
    const a = first.get(f.union.id);
    if (a === undefined) first.set(f.union.id, f.union.alternative);
    else if (a !== f.union.alternative) delete out[f.name];
  }
  return out;
}

/** writeStruct's bytes for what the writer should have written. */
function expectedBytes(part: (typeof parts)[number], o: Record<string, unknown>): Uint8Array {
  const members: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    if (k.startsWith('*') || k === 'SourceAddress' || k === 'DestinationAddress') continue;
    members[k] = part.delegated && k === 'State' ? connectionState(o[k]) : o[k];
  }
  members.Header = { Length: part.layout.size, ...(o.Header as object | undefined) };
  const bytes = new Uint8Array(part.layout.size + 16).fill(0xa5);
  writeStruct(part.layout, new DataView(bytes.buffer), 8, members);
  return bytes;
}

describe('compiled part writers against the rules', () => {
  it('every part of every state type, both ABIs and revisions: takes what the rules take, and writes writeStruct\'s bytes', () => {
    expect(parts.length).toBeGreaterThanOrEqual(20);
    let taken = 0;
    let refused = 0;
    let conflicts = 0; // refused for two alternatives of a union alone
    for (const part of parts) {
      const write = compilePartWriter(part.layout, { lengthAt: part.lengthAt, connectionState: part.delegated ? connectionState : undefined });
      const ptr = part.layout.abi.pointerSize;
      for (let seed = 1; seed <= 300; seed++) {
        const r = rng(Math.imul(seed, 0x9e3779b9) ^ part.key.length);
        const o = objectFor(r, part.layout.fields, ptr, 0, true);
        const bytes = new Uint8Array(part.layout.size + 16).fill(0xa5);
        const got = write(new DataView(bytes.buffer), 8, o);
        const want = objectTaken(part.layout.fields, o, ptr, true, part.delegated);
        if (!want && objectTaken(part.layout.fields, withoutConflicts(part.layout.fields, o), ptr, true, part.delegated)) conflicts++;
        expect(got, `${part.key} ${JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`).toBe(want);
        if (got) {
          taken++;
          expect(Buffer.from(bytes).equals(Buffer.from(expectedBytes(part, o))), `${part.key} seed ${seed}`).toBe(true);
        } else refused++;
        // Never a byte outside the part.
        expect(bytes.subarray(0, 8).every((b) => b === 0xa5) && bytes.subarray(8 + part.layout.size).every((b) => b === 0xa5)).toBe(true);
      }
    }
    expect(conflicts).toBeGreaterThan(20);
    expect(taken).toBeGreaterThan(parts.length * 20);
    expect(refused).toBeGreaterThan(parts.length * 20);
  });

  it('connection states by name or { name, value } in TCP_OFFLOAD_STATE_DELEGATED only', () => {
    const part = parts.find((p) => p.delegated && p.key.startsWith('x64/6.1'))!;
    const write = compilePartWriter(part.layout, { lengthAt: part.lengthAt, connectionState });
    const state = part.layout.fields.find((f) => f.name === 'State')!;
    const dv = new DataView(new ArrayBuffer(part.layout.size));
    expect(write(dv, 0, { State: 'TcpConnectionEstablished' })).toBe(true);
    expect(dv.getUint32(state.offset, true)).toBe(TCP_OFFLOAD_CONNECTION_STATE.indexOf('TcpConnectionEstablished'));
    expect(write(dv, 0, { State: { name: 'nonsense', value: 3 } })).toBe(true);
    expect(dv.getUint32(state.offset, true)).toBe(3);
    expect(write(dv, 0, { State: 'nonsense' })).toBe(false);
    const plainWriter = compilePartWriter(part.layout, { lengthAt: part.lengthAt });
    expect(plainWriter(dv, 0, { State: 'TcpConnectionEstablished' })).toBe(false);
  });

  it('Header.Length is the part\'s size unless a Header is given, and a Header without Length is refused', () => {
    for (const part of parts.slice(0, 6)) {
      const write = compilePartWriter(part.layout, { lengthAt: part.lengthAt });
      const dv = new DataView(new ArrayBuffer(part.layout.size));
      expect(write(dv, 0, {})).toBe(true);
      expect(dv.getUint16(part.lengthAt, true)).toBe(part.layout.size);
      expect(write(dv, 0, { Header: { Length: 7 } })).toBe(true);
      expect(dv.getUint16(part.lengthAt, true)).toBe(7);
      expect(write(dv, 0, { Header: {} })).toBe(false);
      expect(write(dv, 0, { Header: Object.assign(Object.create({ x: 1 }), { Length: 1 }) })).toBe(false);
    }
  });

  it('pointers at the ends of their range, as numbers and as text', () => {
    for (const abi of [X64, X86]) {
      const part = parts.find((p) => p.delegated && p.key.startsWith(`${abi.name}/`))!;
      const write = compilePartWriter(part.layout, { lengthAt: part.lengthAt, connectionState });
      const at = part.layout.fields.find((f) => f.name === 'BufferedData')!.offset;
      const dv = new DataView(new ArrayBuffer(part.layout.size));
      const max = abi.pointerSize === 8 ? Number.MAX_SAFE_INTEGER : 0xffffffff;
      const read = (): bigint => (abi.pointerSize === 8 ? dv.getBigUint64(at, true) : BigInt(dv.getUint32(at, true)));
      for (const v of [0, max, 2 ** 32 - 1, '0x0', '0xffffffff', '0x00000000ffffffff']) {
        expect(write(dv, 0, { BufferedData: v }), `${abi.name} ${v}`).toBe(true);
        expect(read()).toBe(BigInt(v));
      }
      for (const v of [max + 1, -1, 0.5, abi.pointerSize === 4 ? '0x100000000' : '0x10000000000000000', '0x', 'ffff']) {
        expect(write(dv, 0, { BufferedData: v }), `${abi.name} ${v}`).toBe(false);
      }
      if (abi.pointerSize === 8) {
        expect(write(dv, 0, { BufferedData: '0xffffffffffffffff' })).toBe(true);
        expect(read()).toBe(2n ** 64n - 1n);
        expect(write(dv, 0, { BufferedData: 2 ** 32 })).toBe(true);
        expect(read()).toBe(2n ** 32n);
      }
    }
  });

  it('a signed member (NDIS_STATUS, as in the block list): -2^31 to 2^32 - 1, stored as its 32 bits', () => {
    // No state part has one; the block list does, and the writers are compiled from any layout.
    const layout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
    const write = compilePartWriter(layout, { lengthAt: 0 });
    const at = layout.fields.find((f) => f.name === 'Status')!.offset;
    const dv = new DataView(new ArrayBuffer(layout.size));
    for (const v of [-(2 ** 31), -1, 0, 0x7fffffff, 0x80000000, 2 ** 32 - 1, NDIS_STATUS_VALUES.NDIS_STATUS_FAILURE]) {
      expect(write(dv, 0, { Status: v }), String(v)).toBe(true);
      expect(dv.getInt32(at, true)).toBe(v | 0);
    }
    for (const v of [-(2 ** 31) - 1, 2 ** 32, 1.5, 'NDIS_STATUS_SUCCESS', 1n]) expect(write(dv, 0, { Status: v }), String(v)).toBe(false);
  });
});
