/**
 * Issue 22, "every printed form is input": for any decoded document, any member and any one of
 * its printed forms, changing that one form to a new valid value and encoding onto the capture
 * changes exactly that member's bytes, to that value, and decoding back prints the new value.
 * The forms: every plain member (union alternatives included), Status's value, hex and name, a
 * block's type and Header.Type, State's value and name, a linker's context cell, a path's address
 * text, and a port given in host order.
 *
 * The expected bytes are written here by hand (little-endian stores at the member's place from
 * the layout), not by the encoder. Not edited here: the pointers that decoding follows
 * (NextBlock, DependentBlockList, MiniportOffloadContext, a path's SourceAddress and
 * DestinationAddress): the document also describes what they point to, so moving one moves that
 * too (an example test in encode-forms.test.ts shows it); and the type of a block with state
 * (its state parts are the old type's).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SegmentImage } from '../../src/codec/image.js';
import type { Abi } from '../../src/layout/abi.js';
import { NDIS_STATUS_VALUES, OFFLOAD_STATE_TYPE, TCP_OFFLOAD_CONNECTION_STATE } from '../../src/layout/constants.js';
import type { NdisRevision } from '../../src/layout/descriptor.js';
import type { PlacedField } from '../../src/layout/msvc.js';
import { layoutOf } from '../../src/layout/registry.js';
import { decodeTree } from '../../src/tree/decode.js';
import { hexPtr, type TreeDocument } from '../../src/tree/document.js';
import { type EncodeInput, encodeOntoCopy, encodeTree } from '../../src/tree/encode.js';
import { parseIp } from '../../src/tree/ip.js';
import { stateParts } from '../../src/tree/state.js';
import { fcParams, ipTextArb, statusJson, treeCaseArb } from '../support/arbitraries.js';

type Json = Record<string, unknown>;

/** One edit: what it does to the document, to the bytes, and what decoding back must print. */
interface Edit {
  what: string;
  /** Changes the one form in `doc` (a fresh copy of the decoded document). */
  apply(doc: Json): void;
  /** Writes the new value into `bytes` (a copy of the capture), as the C layout places it. */
  store(bytes: Uint8Array): void;
  /** The printed value at the edited place in a decoded document. */
  read(doc: Json): unknown;
  want: unknown;
}

/** `v` stored little-endian in `size` bytes at `at`. */
function storeLE(bytes: Uint8Array, at: number, size: number, v: bigint): void {
  for (let i = 0; i < size; i++) bytes[at + i] = Number((BigInt.asUintN(64, v) >> BigInt(8 * i)) & 0xffn);
}
const loadLE = (bytes: Uint8Array, at: number, size: number): bigint => {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]!);
  return v;
};

const get = (o: unknown, path: readonly (string | number)[]): unknown => path.reduce<unknown>((x, k) => (x as Record<string | number, unknown>)[k], o);
const set = (o: unknown, path: readonly (string | number)[], v: unknown): void => {
  (get(o, path.slice(0, -1)) as Record<string | number, unknown>)[path[path.length - 1]!] = v;
};

const STATUS_NAMES = Object.entries(NDIS_STATUS_VALUES);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The plain members of a structure (nested structures flattened, array elements one by one), with an arbitrary new value each. */
function* plainMembers(fields: readonly PlacedField[], abi: Abi, skip: (f: PlacedField) => boolean, prefix: string[] = []): Generator<{ path: string[]; index?: number; f: PlacedField; at: number; size: number }> {
  for (const f of fields) {
    if (skip(f)) continue;
    if (f.fields) {
      yield* plainMembers(f.fields, abi, skip, [...prefix, f.name]);
      continue;
    }
    if (f.type.kind === 'array' && !(f.type.of.kind === 'scalar' && f.type.of.name === 'UCHAR')) {
      const stride = f.size / f.type.count;
      for (let i = 0; i < f.type.count; i++) yield { path: [...prefix, f.name], index: i, f, at: f.offset + i * stride, size: stride };
      continue;
    }
    yield { path: [...prefix, f.name], f, at: f.offset, size: f.size };
  }
}

/** A new value for a plain member, as decode prints it, and the bytes it stores. */
function plainEdit(m: { path: string[]; index?: number; f: PlacedField; at: number; size: number }, docPath: (string | number)[], base: number, abi: Abi, current: unknown): fc.Arbitrary<Edit> {
  const path = m.index === undefined ? [...docPath, ...m.path] : [...docPath, ...m.path, m.index];
  const what = path.join('.');
  const f = m.f;
  const kind = f.type.kind === 'array' ? f.type.of.kind : f.type.kind;
  let arb: fc.Arbitrary<{ printed: unknown; store: (b: Uint8Array) => void }>;
  if (f.type.kind === 'array' && f.type.of.kind === 'scalar' && f.type.of.name === 'UCHAR') {
    arb = fc.uint8Array({ minLength: f.type.count, maxLength: f.type.count }).map((v) => ({ printed: hex(v), store: (b) => b.set(v, base + m.at) }));
  } else if (kind === 'pointer') {
    arb = fc.bigInt({ min: 0n, max: (1n << BigInt(8 * abi.pointerSize)) - 1n }).map((v) => ({ printed: hexPtr(v, abi.pointerSize), store: (b) => storeLE(b, base + m.at, abi.pointerSize, v) }));
  } else if (f.bitWidth !== undefined) {
    const width = f.bitWidth;
    const low = f.bitOffset!;
    arb = fc.integer({ min: 0, max: 2 ** width - 1 }).map((v) => ({
      printed: v,
      store: (b) => {
        const unit = loadLE(b, base + m.at, m.size);
        const mask = ((1n << BigInt(width)) - 1n) << BigInt(low);
        storeLE(b, base + m.at, m.size, (unit & ~mask) | (BigInt(v) << BigInt(low)));
      },
    }));
  } else {
    arb = fc.integer({ min: 0, max: 2 ** (8 * m.size) - 1 }).map((v) => ({ printed: v, store: (b) => storeLE(b, base + m.at, m.size, BigInt(v)) }));
  }
  return arb
    .filter((x) => x.printed !== current)
    .map((x) => ({ what, apply: (doc) => set(doc, path, x.printed), store: x.store, read: (doc) => get(doc, path), want: x.printed }));
}

/** Every edit of one form of one member of the decoded document. */
function editsOf(doc: TreeDocument, abi: Abi, ndis: NdisRevision, base: bigint): fc.Arbitrary<Edit>[] {
  const out: fc.Arbitrary<Edit>[] = [];
  const blockLayout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis);
  const ptr = abi.pointerSize;
  const offsetOf = (address: unknown): number => Number(BigInt(address as string) - base);
  const byName = new Map(blockLayout.fields.map((f) => [f.name, f]));
  const statusAt = byName.get('Status')!.offset;
  const typeAt = byName.get('Header')!.fields!.find((f) => f.name === 'Type')!.offset;

  const visit = (blocks: readonly Json[], path: (string | number)[]): void => {
    blocks.forEach((block, i) => {
      const bp = [...path, i];
      const at = offsetOf(block.address);
      const linkOrSpecial = (f: PlacedField): boolean => ['NextBlock', 'DependentBlockList', 'MiniportOffloadContext', 'Status'].includes(f.name) || (f.name === 'Type' && !f.fields);
      for (const m of plainMembers(blockLayout.fields, abi, linkOrSpecial)) {
        const p = m.index === undefined ? [...bp, ...m.path] : [...bp, ...m.path, m.index];
        out.push(plainEdit(m, bp, at, abi, get({ blocks: doc.blocks }, p)));
      }
      // Status: value, hex or name.
      const status = block.Status as { value: number };
      const word = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).filter((v) => v !== status.value);
      const statusEdit = (form: 'value' | 'hex' | 'name', arb: fc.Arbitrary<number>): fc.Arbitrary<Edit> =>
        arb.map((v) => {
          const printed = statusJson(v);
          return {
            what: `${[...bp, 'Status', form].join('.')}`,
            apply: (d) => set(d, [...bp, 'Status', form], printed[form]),
            store: (b) => storeLE(b, at + statusAt, 4, BigInt(v)),
            read: (d) => get(d, [...bp, 'Status']),
            want: printed,
          };
        });
      out.push(statusEdit('value', word), statusEdit('hex', word), statusEdit('name', fc.oneof(fc.constantFrom(...STATUS_NAMES.map(([, v]) => v)), word).filter((v) => v !== status.value)));
      // The type: its name or Header.Type (a block without state: a state's parts are its type's).
      if (!block.state) {
        const current = (block.Header as { Type: number }).Type;
        const value = fc.oneof(fc.constantFrom(...OFFLOAD_STATE_TYPE.map((t) => t.value)), fc.integer({ min: 0, max: 255 })).filter((v) => v !== current);
        const typeEdit = (form: 'type' | 'Header.Type'): fc.Arbitrary<Edit> =>
          value.map((v) => {
            const name = OFFLOAD_STATE_TYPE.find((t) => t.value === v)?.name ?? `unknown (${v})`;
            return {
              what: `${bp.join('.')}.${form}`,
              apply: (d) => set(d, form === 'type' ? [...bp, 'type'] : [...bp, 'Header', 'Type'], form === 'type' ? name : v),
              store: (b) => storeLE(b, at + typeAt, 1, BigInt(v)),
              read: (d) => [get(d, [...bp, 'type']), get(d, [...bp, 'Header', 'Type'])],
              want: [name, v],
            };
          });
        out.push(typeEdit('type'), typeEdit('Header.Type'));
      }
      // The context cell of a linker: a new non-NULL value where MiniportOffloadContext points.
      if (block.role === 'linker' && typeof block['*MiniportOffloadContext'] === 'string') {
        const cellAt = offsetOf(block.MiniportOffloadContext);
        out.push(
          fc.bigInt({ min: 1n, max: (1n << BigInt(8 * ptr)) - 1n }).filter((v) => hexPtr(v, ptr) !== block['*MiniportOffloadContext']).map((v) => ({
            what: `${bp.join('.')}.*MiniportOffloadContext`,
            apply: (d) => set(d, [...bp, '*MiniportOffloadContext'], hexPtr(v, ptr)),
            store: (b) => storeLE(b, cellAt, ptr, v),
            read: (d) => get(d, [...bp, '*MiniportOffloadContext']),
            want: hexPtr(v, ptr),
          })),
        );
      }
      // State parts.
      const type = OFFLOAD_STATE_TYPE.find((t) => t.name === block.type);
      if (block.state && type) {
        for (const part of stateParts(type, abi, ndis)) {
          const json = (block.state as Record<string, Json>)[part.name];
          if (!json) continue;
          const pp = [...bp, 'state', part.name];
          const partAt = at + blockLayout.size + part.offset;
          const skip = (f: PlacedField): boolean =>
            (part.name === 'TCP_OFFLOAD_STATE_DELEGATED' && f.name === 'State') || (part.name === 'PATH_OFFLOAD_STATE_CONST' && (f.name === 'SourceAddress' || f.name === 'DestinationAddress'));
          for (const m of plainMembers(part.layout.fields, abi, skip)) {
            const p = m.index === undefined ? [...pp, ...m.path] : [...pp, ...m.path, m.index];
            out.push(plainEdit(m, pp, partAt, abi, get({ blocks: doc.blocks }, p)));
          }
          if (part.name === 'TCP_OFFLOAD_STATE_CONST') {
            // A port given in host order ({ "host": N }): stored in network byte order.
            for (const port of ['RemotePort', 'LocalPort']) {
              const portAt = partAt + part.layout.fields.find((f) => f.name === port)!.offset;
              out.push(
                fc.integer({ min: 0, max: 0xffff }).filter((host) => ((host & 0xff) << 8 | (host >> 8)) !== json[port]).map((host) => {
                  const stored = ((host & 0xff) << 8) | (host >> 8);
                  return {
                    what: `${pp.join('.')}.${port}.host`,
                    apply: (d) => set(d, [...pp, port], { host }),
                    store: (b) => {
                      b[portAt] = host >> 8;
                      b[portAt + 1] = host & 0xff;
                    },
                    read: (d) => get(d, [...pp, port]),
                    want: stored,
                  };
                }),
              );
            }
          }
          if (part.name === 'TCP_OFFLOAD_STATE_DELEGATED') {
            const stateAt = partAt + part.layout.fields.find((f) => f.name === 'State')!.offset;
            const current = (json.State as { value: number }).value;
            const stateEdit = (form: 'value' | 'name', arb: fc.Arbitrary<number>): fc.Arbitrary<Edit> =>
              arb.filter((v) => v !== current).map((v) => {
                const printed = { value: v, name: TCP_OFFLOAD_CONNECTION_STATE[v] ?? `unknown (${v})` };
                return {
                  what: `${pp.join('.')}.State.${form}`,
                  apply: (d) => set(d, [...pp, 'State', form], printed[form]),
                  store: (b) => storeLE(b, stateAt, 4, BigInt(v)),
                  read: (d) => get(d, [...pp, 'State']),
                  want: printed,
                };
              });
            out.push(stateEdit('value', fc.integer({ min: 0, max: 2 ** 32 - 1 })), stateEdit('name', fc.integer({ min: 0, max: TCP_OFFLOAD_CONNECTION_STATE.length - 1 })));
          }
          if (part.name === 'PATH_OFFLOAD_STATE_CONST' && type.addressBytes) {
            for (const member of ['SourceAddress', 'DestinationAddress']) {
              const text = json[`*${member}`];
              if (typeof text !== 'string') continue;
              const ipAt = offsetOf(json[member]);
              out.push(
                ipTextArb(type.addressBytes as 4 | 16)
                  .filter((t) => t !== text)
                  .map((t) => ({
                    what: `${pp.join('.')}.*${member}`,
                    apply: (d) => set(d, [...pp, `*${member}`], t),
                    store: (b) => b.set(parseIp(t, type.addressBytes!, 'ip'), ipAt),
                    read: (d) => get(d, [...pp, `*${member}`]),
                    want: t,
                  })),
              );
            }
          }
        }
      }
      visit(block.dependents as Json[], [...bp, 'dependents']);
    });
  };
  visit(doc.blocks as unknown as Json[], ['blocks']);
  return out;
}

const decode = (bytes: Uint8Array, base: bigint, abi: Abi, ndis: NdisRevision, operation: TreeDocument['operation']): TreeDocument =>
  decodeTree(SegmentImage.region(bytes, base), base, { abi, ndis, ...(operation ? { operation } : {}) });

describe('every printed form is input (issue 22)', () => {
  it('changing any one form of any member to a new value changes exactly that member\'s bytes, to that value', () => {
    const cases = treeCaseArb({ size: 'small' }).chain((tc) => {
      const capture = encodeTree(tc.doc, { base: tc.base }).bytes;
      const decoded = decode(capture, tc.base, tc.abi, tc.ndis, tc.operation);
      const edits = editsOf(decoded, tc.abi, tc.ndis, tc.base);
      return fc.oneof(...edits).map((edit) => ({ tc, capture, decoded, edit }));
    });
    let count = 0;
    fc.assert(
      fc.property(cases, ({ tc, capture, decoded, edit }) => {
        const doc = structuredClone(decoded) as unknown as Json;
        edit.apply(doc);
        const out = encodeOntoCopy(doc as EncodeInput, capture, tc.base);
        const want = capture.slice();
        edit.store(want);
        // Every byte of the capture: only the member's differ, and they hold the new value.
        expect(hex(out), edit.what).toBe(hex(want));
        expect(hex(out), `${edit.what}: a new value`).not.toBe(hex(capture));
        const back = decode(out, tc.base, tc.abi, tc.ndis, tc.operation) as unknown as Json;
        expect(edit.read(back), edit.what).toEqual(edit.want);
        count++;
      }),
      fcParams({ numRuns: 300 }),
    );
    expect(count).toBeGreaterThan(0);
  });
});

