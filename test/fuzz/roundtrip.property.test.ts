/**
 * Round trips over generated trees of every shape (test/support/arbitraries.ts):
 *
 * - document -> encodeTree -> decodeTree gives the same document, apart from the block places and
 *   the members encodeTree recomputes (links, context cells, address pointers), with exactly the
 *   diagnostics the document's values call for;
 * - image -> decodeTree -> encodeOntoCopy gives the same bytes, on images whose padding, gaps and
 *   spare bit-field bits are junk; and editing one member changes only that member's bytes;
 * - decode -> JSON text -> parse -> encodeTree is stable: the same bytes twice;
 * - every accepted spelling of a value (status names, hex words, numbers, omitted defaults, IPv6 in
 *   any case or compression, separated byte strings) encodes to the same bytes.
 *
 * Replay a failure with the seed and path fast-check prints: see test/support/arbitraries.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SegmentImage } from '../../src/codec/image.js';
import type { Abi } from '../../src/layout/abi.js';
import { NDIS_STATUS_VALUES, TCP_OFFLOAD_CONNECTION_STATE, stateTypeNamed } from '../../src/layout/constants.js';
import type { PlacedField } from '../../src/layout/msvc.js';
import { layoutOf } from '../../src/layout/registry.js';
import { decodeTree } from '../../src/tree/decode.js';
import type { BlockJson, TreeDocument } from '../../src/tree/document.js';
import { type BlockInput, type EncodeInput, encodeOntoCopy, encodeTree } from '../../src/tree/encode.js';
import { stateParts } from '../../src/tree/state.js';
import {
  type TreeCase,
  comparable,
  expectedDiagnostics,
  fcParams,
  hexPtr,
  junk,
  preorder,
  statusJson,
  treeCaseArb,
} from '../support/arbitraries.js';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
const firstDifference = (a: Uint8Array, b: Uint8Array): string => {
  const i = a.findIndex((x, k) => x !== b[k]);
  return i < 0 ? (a.length === b.length ? 'none' : `lengths ${a.length} and ${b.length}`) : `offset ${i}: ${a[i]} vs ${b[i]}`;
};
const diagKeys = (doc: TreeDocument): string[] => doc.diagnostics.map((d) => `${d.path} ${d.code} ${d.member ?? ''}`.trim()).sort();

const decodeCase = (tc: TreeCase, bytes: Uint8Array): TreeDocument =>
  decodeTree(SegmentImage.region(bytes, tc.base), tc.base, { abi: tc.abi, ndis: tc.ndis, operation: tc.operation });

/** The compact image of a case, and the same tree re-encoded onto junk: padding, gaps and spare bits random. */
function images(tc: TreeCase, seed: number): { compact: Uint8Array; junked: Uint8Array; doc: TreeDocument } {
  const enc = encodeTree(clone(tc.doc));
  const doc = decodeCase(tc, enc.bytes);
  const junked = encodeOntoCopy(clone(doc) as unknown as EncodeInput, junk(seed, enc.bytes.length), tc.base);
  return { compact: enc.bytes, junked, doc };
}

describe('document -> encodeTree -> decodeTree', () => {
  it('gives the same document, with only the diagnostics its values call for, laid out compactly in decode order', () => {
    fc.assert(
      fc.property(treeCaseArb(), (tc) => {
        const enc = encodeTree(clone(tc.doc));
        expect(enc.base).toBe(tc.base);
        expect(enc.root).toBe(tc.base);
        expect(enc.abi).toBe(tc.abi);
        expect(enc.ndis).toBe(tc.ndis);
        const doc = decodeCase(tc, enc.bytes);
        expect({ format: doc.format, abi: doc.abi, ndis: doc.ndis, base: doc.base, root: doc.root, operation: doc.operation }).toEqual({
          format: 'ndis-offload-tree/1',
          abi: tc.abi.name,
          ndis: tc.ndis,
          base: hexPtr(tc.base, tc.abi),
          root: hexPtr(tc.base, tc.abi),
          operation: tc.operation,
        });
        expect(comparable(doc.blocks as unknown as BlockInput[])).toEqual(comparable(tc.doc.blocks));
        expect(diagKeys(doc)).toEqual(expectedDiagnostics(tc));

        // The recomputed members: links to the right blocks, cells where the roles need them, in order.
        const blockSize = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', tc.abi, tc.ndis).size;
        const nodes = preorder(doc.blocks as unknown as BlockInput[]);
        const NULL = hexPtr(0n, tc.abi);
        let end = 0;
        nodes.forEach(({ block }, i) => {
          const b = block as unknown as BlockJson;
          expect(BigInt(b.address)).toBe(tc.base + BigInt(b.offset!));
          expect(b.offset! % tc.abi.pointerSize).toBe(0);
          expect(b.offset!).toBeGreaterThanOrEqual(end);
          end = b.offset! + blockSize;
          expect(b.DependentBlockList).toBe(b.dependents[0]?.address ?? NULL);
          expect(b.MiniportOffloadContext === NULL).toBe(b.role === 'placeholder');
          if (i === 0) expect(b.address).toBe(hexPtr(tc.base, tc.abi));
        });
        const checkChain = (list: BlockJson[]): void =>
          list.forEach((b, i) => {
            expect(b.NextBlock).toBe(list[i + 1]?.address ?? NULL);
            checkChain(b.dependents);
          });
        checkChain(doc.blocks);

        // The same document always gives the same bytes.
        expect(sameBytes(encodeTree(clone(tc.doc)).bytes, enc.bytes)).toBe(true);
      }),
      fcParams({ numRuns: 60 }),
    );
  });
});

describe('decodeTree without the operation', () => {
  it('infers state where its first part\'s Header.Length says so, with a STATE_INFERRED note per block, and decodes it the same', () => {
    fc.assert(
      fc.property(treeCaseArb(), (tc) => {
        const enc = encodeTree(clone(tc.doc));
        const doc = decodeTree(SegmentImage.region(enc.bytes, enc.base), enc.root, { abi: tc.abi, ndis: tc.ndis });
        expect(doc.operation).toBeNull();
        const want = preorder(tc.doc.blocks);
        const got = preorder(doc.blocks as unknown as BlockInput[]);
        expect(got.map((n) => `${n.path} ${String(n.block.role)}`)).toEqual(want.map((n) => `${n.path} ${String(n.block.role)}`));
        const notes: string[] = [];
        want.forEach(({ block, path }, i) => {
          const decoded = got[i]!.block;
          if (block.role === 'placeholder') {
            expect(decoded.state, path).toBeUndefined();
            return;
          }
          // State follows when the word after the block, where the first part's Header.Length
          // would be, is that part's size in either revision. Without state, that word is the
          // context cell's: its low half can read as a Length too (then the decoder rightly
          // infers state, which is garbage: only its presence is checked).
          const type = stateTypeNamed(block.type as string)!;
          const first = type.parts[0]!;
          const after = (decoded as unknown as BlockJson).offset! + layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', tc.abi, tc.ndis).size;
          const length = after + 4 <= enc.bytes.length ? new DataView(enc.bytes.buffer, enc.bytes.byteOffset).getUint32(after, true) : undefined;
          const present = length !== undefined && [layoutOf(first, tc.abi, '6.0').size, layoutOf(first, tc.abi, '6.1').size].includes(length);
          notes.push(`${path} ${present ? 'present' : 'absent'}`);
          if (present && block.state) expect(comparable([{ ...decoded, dependents: [] }]), path).toEqual(comparable([{ ...block, dependents: [] }]));
          else if (present) expect(decoded.state, path).toBeDefined();
          else expect(decoded.state, path).toBeUndefined();
        });
        const inferred = doc.diagnostics.filter((d) => d.code === 'STATE_INFERRED');
        expect(inferred.map((d) => `${d.path} ${d.message.includes('state inferred present') ? 'present' : 'absent'}`)).toEqual(notes);
        expect(inferred.every((d) => d.severity === 'info')).toBe(true);
        expect(doc.diagnostics.filter((d) => d.code === 'STATUS_NOT_ALLOWED')).toEqual([]);
      }),
      fcParams({ numRuns: 60 }),
    );
  });
});

describe('image -> decodeTree -> encodeOntoCopy', () => {
  it('reproduces the image byte for byte, junk in padding and spare bits included, and never touches the capture', () => {
    fc.assert(
      fc.property(treeCaseArb(), fc.integer(), (tc, seed) => {
        const { junked, doc } = images(tc, seed);
        const again = decodeCase(tc, junked);
        // The junk changes no member: the same document, places included.
        expect(clone(again)).toEqual(clone(doc));
        const before = junked.slice();
        const out = encodeOntoCopy(clone(again) as unknown as EncodeInput, junked, tc.base);
        expect(firstDifference(out, junked)).toBe('none');
        expect(sameBytes(junked, before)).toBe(true);
        // A document that gives no member writes nothing.
        const bare = { blocks: clone(again).blocks.map(function strip(b: BlockJson): BlockInput {
          return { address: b.address, dependents: b.dependents.map(strip) };
        }) };
        expect(firstDifference(encodeOntoCopy(bare, junked, tc.base, { abi: tc.abi, ndis: tc.ndis }), junked)).toBe('none');
      }),
      fcParams({ numRuns: 40 }),
    );
  });

  it('an edit of one member changes only that member\'s bytes, and decodes to the edited value', () => {
    fc.assert(
      fc.property(treeCaseArb({ size: 'small' }), fc.integer(), fc.nat(), fc.nat(), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (tc, seed, pickBlock, pickLeaf, raw) => {
        const { junked, doc } = images(tc, seed);
        const nodes = preorder(doc.blocks as unknown as BlockInput[]);
        const node = nodes[pickBlock % nodes.length]!;
        const leaves = editableLeaves(node.block as unknown as BlockJson, tc);
        const leaf = leaves[pickLeaf % leaves.length]!;
        const value = leaf.valueFor(raw);

        const edited = clone(doc);
        const target = preorder(edited.blocks as unknown as BlockInput[])[pickBlock % nodes.length]!.block;
        leaf.set(target, value.input);
        const out = encodeOntoCopy(edited as unknown as EncodeInput, junked, tc.base);
        for (let i = 0; i < out.length; i++) {
          if (out[i] !== junked[i] && (i < leaf.start || i >= leaf.start + leaf.size)) {
            expect.fail(`${node.path}.${leaf.name}: byte ${i} changed, outside [${leaf.start}, ${leaf.start + leaf.size})`);
          }
        }
        // Decoded, the edited member has the value given and nothing else changed.
        const back = decodeCase(tc, out);
        const expected = clone(doc);
        leaf.set(preorder(expected.blocks as unknown as BlockInput[])[pickBlock % nodes.length]!.block, value.decoded);
        expect(clone(back.blocks)).toEqual(expected.blocks);
      }),
      fcParams({ numRuns: 100 }),
    );
  });
});

interface Leaf {
  name: string;
  /** Offset of the member's bytes in the image, and how many (a bit-field: its whole storage unit). */
  start: number;
  size: number;
  set(block: BlockInput, v: unknown): void;
  /** A value of the member's type from 64 random bits: how it is given, and how decode prints it. */
  valueFor(raw: bigint): { input: unknown; decoded: unknown };
}

/** Every member of a decoded block (and its state) that can be edited without changing the tree's shape. */
function editableLeaves(block: BlockJson, tc: TreeCase): Leaf[] {
  const { abi, ndis } = tc;
  const blockLayout = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis);
  const at = Number(BigInt(block.address) - tc.base);
  const out: Leaf[] = [];
  const skip = new Set(['NextBlock', 'DependentBlockList', 'MiniportOffloadContext', 'Type', 'SourceAddress', 'DestinationAddress']);
  const visit = (fields: readonly PlacedField[], base: number, get: (b: BlockInput) => Record<string, unknown>, prefix: string): void => {
    for (const f of fields) {
      if (skip.has(f.name) || f.union) continue;
      if (f.fields) {
        visit(f.fields, base, (b) => get(b)[f.name] as Record<string, unknown>, `${prefix}${f.name}.`);
        continue;
      }
      const t = f.type;
      if (t.kind === 'array' && t.of.kind === 'pointer') {
        const stride = f.size / t.count;
        for (let i = 0; i < t.count; i++) {
          out.push({
            name: `${prefix}${f.name}[${i}]`,
            start: base + f.offset + i * stride,
            size: stride,
            set: (b, v) => ((get(b)[f.name] as unknown[])[i] = v),
            valueFor: (raw) => pointerValue(raw, abi),
          });
        }
        continue;
      }
      out.push({
        name: `${prefix}${f.name}`,
        start: base + f.offset,
        size: f.size,
        set: (b, v) => (get(b)[f.name] = v),
        valueFor: (raw) => leafValue(f, raw, abi),
      });
    }
  };
  visit(blockLayout.fields, at, (b) => b as Record<string, unknown>, '');
  const type = stateTypeNamed(block.type);
  if (block.state && type) {
    for (const part of stateParts(type, abi, ndis)) {
      visit(part.layout.fields, at + blockLayout.size + part.offset, (b) => b.state![part.name]!, `state.${part.name}.`);
    }
  }
  return out;
}

const pointerValue = (raw: bigint, abi: Abi): { input: unknown; decoded: unknown } => {
  const v = BigInt.asUintN(abi.pointerSize * 8, raw);
  return { input: `0x${v.toString(16)}`, decoded: hexPtr(v, abi) };
};

function leafValue(f: PlacedField, raw: bigint, abi: Abi): { input: unknown; decoded: unknown } {
  const t = f.type;
  if (f.bitWidth !== undefined) {
    const v = Number(BigInt.asUintN(f.bitWidth, raw));
    return { input: v, decoded: v };
  }
  if (t.kind === 'array') {
    const bytes = junk(Number(raw & 0xffffffffn), t.count);
    const hex = Buffer.from(bytes).toString('hex');
    return { input: hex, decoded: hex };
  }
  if (t.kind === 'pointer') return pointerValue(raw, abi);
  if (t.kind === 'enum') {
    // TCP_OFFLOAD_STATE_DELEGATED.State: a number in, { value, name } out.
    const v = Number(BigInt.asUintN(32, raw) % 14n);
    return { input: v, decoded: { value: v, name: TCP_OFFLOAD_CONNECTION_STATE[v] ?? `unknown (${v})` } };
  }
  if (t.kind === 'scalar' && t.name === 'NDIS_STATUS') {
    const v = Number(BigInt.asIntN(32, raw));
    return { input: v, decoded: statusJson(v) };
  }
  const v = Number(BigInt.asUintN(f.size * 8, raw));
  return { input: v, decoded: v };
}

describe('decode -> JSON text -> parse -> encodeTree', () => {
  it('is stable: the same bytes twice, the same JSON text twice, and the text encodes back onto the capture', () => {
    fc.assert(
      fc.property(treeCaseArb(), fc.integer(), (tc, seed) => {
        const { junked } = images(tc, seed);
        const text1 = JSON.stringify(decodeCase(tc, junked));
        const once = encodeTree(JSON.parse(text1) as EncodeInput);
        const text2 = JSON.stringify(decodeCase(tc, once.bytes));
        const twice = encodeTree(JSON.parse(text2) as EncodeInput);
        expect(firstDifference(twice.bytes, once.bytes)).toBe('none');
        expect(JSON.stringify(decodeCase(tc, twice.bytes))).toBe(text2);
        expect(firstDifference(encodeOntoCopy(JSON.parse(text1) as EncodeInput, junked, tc.base), junked)).toBe('none');
      }),
      fcParams({ numRuns: 40 }),
    );
  });
});

// ---- other spellings of the same values ----------------------------------------------------------

const STATUS_NAME_OF = new Map<number, string>(Object.entries(NDIS_STATUS_VALUES).map(([k, v]) => [v, k]));

/** IPv6 text in other accepted spellings: uppercase, uncompressed with leading zeros, compressed differently. */
function respellIp(text: string, how: number): string {
  if (!text.includes(':')) return text;
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  switch (how % 3) {
    case 0:
      return text.toUpperCase();
    case 1:
      return words.map((w) => w.padStart(4, '0')).join(':');
    default: {
      // Compress the first single zero word when nothing else is compressed (RFC 4291 allows it).
      const i = words.indexOf('0');
      return tail === undefined && i >= 0 ? `${words.slice(0, i).join(':')}::${words.slice(i + 1).join(':')}` : text;
    }
  }
}

/** The document with every value respelt as `how` says, and defaults left out where they apply. */
function respell(tc: TreeCase, how: number): EncodeInput {
  const doc = clone(tc.doc);
  const blockSize = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', tc.abi, tc.ndis).size;
  let k = how;
  for (const { block } of preorder(doc.blocks)) {
    k = (k * 1103515245 + 12345) >>> 0;
    const s = block.Status as { value: number; hex: string; name: string };
    const name = STATUS_NAME_OF.get(s.value);
    block.Status = [s.value, s.value >>> 0, s.hex, s.hex.toUpperCase().replace('0X', '0x'), name ?? s.hex, { hex: s.hex }, { value: s.value }, s.hex.slice(2)][k % 8]; // (a status string of digits is hex, with or without 0x)
    const header = block.Header as Record<string, unknown>;
    if (header.Size === blockSize && k & 8) delete header.Size;
    // Type from the name alone, or from Header.Type alone.
    if (block.role !== 'placeholder' && k & 16) delete header.Type;
    else if (k & 32) delete block.type;
    for (const [part, json] of Object.entries(block.state ?? {})) {
      const h = json.Header as Record<string, unknown>;
      if (h.Length === layoutOf(part, tc.abi, tc.ndis).size && k & 64) delete h.Length;
      if (part === 'TCP_OFFLOAD_STATE_DELEGATED') {
        const st = json.State as { value: number; name: string };
        json.State = k & 128 ? st.value : st.name.startsWith('unknown') ? st.value : st.name;
      }
      for (const ip of ['*SourceAddress', '*DestinationAddress']) if (typeof json[ip] === 'string') json[ip] = respellIp(json[ip] as string, k >> 8);
      for (const bytesMember of ['DlSourceAddress', 'DlDestinationAddress']) {
        const hex = json[bytesMember];
        if (typeof hex !== 'string') continue;
        // Trailing zero bytes may be left out, and bytes separated by colons, dashes or spaces.
        const trimmed = k & 512 ? hex.replace(/(00)+$/, '') : hex;
        json[bytesMember] = (trimmed.match(/../g) ?? []).join([':', '-', ' ', ''][(k >> 10) & 3]!).toUpperCase();
      }
    }
    // Pointers as decimal strings or without padding.
    for (const m of ['SourceHandle', 'NetBufferListChain', 'NdisOffloadHandle']) {
      const v = BigInt(block[m] as string);
      block[m] = k & 4096 ? v.toString(10) : `0x${v.toString(16)}`;
    }
  }
  return doc;
}

describe('accepted spellings', () => {
  it('status names, hex words, signed and unsigned numbers, omitted defaults, respelt IPs and bytes: the same bytes', () => {
    fc.assert(
      fc.property(treeCaseArb({ size: 'small' }), fc.nat(), (tc, how) => {
        const canonical = encodeTree(clone(tc.doc)).bytes;
        const other = encodeTree(respell(tc, how)).bytes;
        expect(firstDifference(other, canonical)).toBe('none');
      }),
      fcParams({ numRuns: 100 }),
    );
  });

  it('the IPv6 spellings above are real respellings (the oracle is not vacuous)', () => {
    expect(respellIp('fe80::1', 0)).toBe('FE80::1');
    expect(respellIp('fe80::1', 1)).toBe('fe80:0000:0000:0000:0000:0000:0000:0001');
    expect(respellIp('1:0:2:3:4:5:6:7', 2)).toBe('1::2:3:4:5:6:7');
    expect(stateTypeNamed('Ip6OffloadState')?.addressBytes).toBe(16);
  });
});
