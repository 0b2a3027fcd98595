/**
 * Bugs the property tests found (test/fuzz, test/tree/status-writer.property), pinned as plain
 * examples so that they stay fixed whatever seed a property run draws.
 */
import { describe, expect, it } from 'vitest';
import { EncodeError } from '../../src/errors.js';
import { SegmentImage } from '../../src/codec/image.js';
import { decodeTree } from '../../src/tree/decode.js';
import { type EncodeInput, encodeOnto, encodeOntoCopy, encodeTree } from '../../src/tree/encode.js';
import { errorOf } from '../support/errors.js';

describe('decode -> encode of a block whose Type has no state parts', () => {
  // TcpOffloadResourceState (16) is a TCP-layer type with no state structure. In query, every
  // non-placeholder carries state, so the decoder used to print `state: {}` for it, which the
  // encoder then refused ("carries no state"): decode -> encodeOntoCopy threw.
  const enc = encodeTree({
    blocks: [
      {
        role: 'placeholder',
        dependents: [{ role: 'placeholder', dependents: [{ role: 'linker', type: 'TcpOffloadResourceState', '*MiniportOffloadContext': '0x1234' }] }],
      },
    ],
  });

  it('decodes without a state key, and encodes back onto the capture byte for byte', () => {
    const doc = decodeTree(SegmentImage.region(enc.bytes, enc.base), enc.root, { operation: 'query' });
    const tcp = doc.blocks[0]!.dependents[0]!.dependents[0]!;
    expect(tcp.type).toBe('TcpOffloadResourceState');
    expect(tcp.role).toBe('linker');
    expect('state' in tcp).toBe(false);
    expect(doc.diagnostics).toEqual([]);
    const out = encodeOntoCopy(JSON.parse(JSON.stringify(doc)) as EncodeInput, enc.bytes, enc.base);
    expect(Buffer.from(out).equals(Buffer.from(enc.bytes))).toBe(true);
  });
});

describe('documents the encoder refused with a TypeError or a SyntaxError, or accepted wrongly', () => {
  const cases: [string, () => unknown, string][] = [
    ['a state part that is null', () => encodeTree({ blocks: [{ role: 'new-offload', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: null as never } }] }), 'blocks[0].state.PATH_OFFLOAD_STATE_CACHED'],
    ['a state part that is a list', () => encodeTree({ blocks: [{ role: 'new-offload', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: [] as never } }] }), 'blocks[0].state.PATH_OFFLOAD_STATE_CACHED'],
    ['state that is a string', () => encodeTree({ blocks: [{ role: 'new-offload', type: 'Ip4OffloadCachedState', state: 'cached' as never }] }), 'blocks[0].state'],
    [
      'a state part that is null, onto a capture',
      () => encodeOntoCopy({ blocks: [{ address: '0x1000', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: null as never } }] }, new Uint8Array(4096), 0x1000n),
      'blocks[0].state.PATH_OFFLOAD_STATE_CACHED',
    ],
    ['a base that is no number', () => encodeTree({ base: 'kernel', blocks: [{ role: 'placeholder' }] }), '$.base'],
    ['a negative base', () => encodeTree({ base: '-8', blocks: [{ role: 'placeholder' }] }), '$.base'],
    ['a base past 2^64', () => encodeTree({ base: '0x10000000000000000', blocks: [{ role: 'placeholder' }] }), '$.base'],
    ['an x64 image running past 2^64', () => encodeTree({ base: '0xffffffffffffff00', blocks: [{ role: 'placeholder' }, { role: 'placeholder' }] }), '$.base'],
    ['an x86 base past 2^32', () => encodeTree({ abi: 'x86', base: '0x100000000', blocks: [{ role: 'placeholder' }] }), '$.base'],
    ['an x86 image running past 2^32', () => encodeTree({ abi: 'x86', base: '0xffffffc0', blocks: [{ role: 'placeholder' }, { role: 'placeholder' }] }), '$.base'],
    ['a negative base given as an option', () => encodeTree({ blocks: [{ role: 'placeholder' }] }, { base: -8n }), '$.base'],
    ['a BigInt inside a member (the message could not be written)', () => encodeTree({ blocks: [{ role: 'placeholder', PortNumber: { n: 1n } as never }] }), 'blocks[0].PortNumber'],
    ['a BigInt inside a byte array', () => encodeTree({ blocks: [{ role: 'new-offload', type: 'NeighborOffloadConstState', state: { NEIGHBOR_OFFLOAD_STATE_CONST: { DlSourceAddress: { n: 1n } as never } } }] }), 'blocks[0].state.NEIGHBOR_OFFLOAD_STATE_CONST.DlSourceAddress'],
  ];
  for (const [name, fn, path] of cases) {
    it(`${name}: an EncodeError at ${path}`, () => {
      const e = errorOf(fn);
      expect(e, String(e)).toBeInstanceOf(EncodeError);
      expect((e as EncodeError).path).toBe(path);
    });
  }

  it('a base at the very top of the address space still fits when the image does', () => {
    const enc = encodeTree({ base: '0xffffffffffffff68', blocks: [{ role: 'placeholder' }] });
    expect(enc.base + BigInt(enc.bytes.length)).toBe(1n << 64n);
    const x86 = encodeTree({ abi: 'x86', base: '0xffffffb4', blocks: [{ role: 'placeholder' }] });
    expect(x86.base + BigInt(x86.bytes.length)).toBe(1n << 32n);
  });
});

describe('encodeOnto straight onto an image', () => {
  // It used to write block by block: an error at the second block left the first one rewritten.
  const enc = encodeTree({ blocks: [{ role: 'placeholder' }, { role: 'placeholder' }] });
  const decoded = (): EncodeInput => JSON.parse(JSON.stringify(decodeTree(SegmentImage.region(enc.bytes, enc.base), enc.root))) as EncodeInput;

  it('is all or nothing: an error at a later block leaves the earlier blocks\' bytes as they were', () => {
    const doc = decoded();
    doc.blocks[0]!.Status = 'NDIS_STATUS_FAILURE';
    doc.blocks[1]!.address = '0x10'; // outside the image
    const bytes = enc.bytes.slice();
    const e = errorOf(() => encodeOnto(doc, SegmentImage.region(bytes, enc.base)));
    expect(e).toBeInstanceOf(EncodeError);
    expect((e as EncodeError).path).toBe('blocks[1]');
    expect(Buffer.from(bytes).equals(Buffer.from(enc.bytes))).toBe(true);
    // Without the bad block the same edit lands, and only in the first block's Status.
    doc.blocks.pop();
    encodeOnto(doc, SegmentImage.region(bytes, enc.base));
    const changed = [...bytes.keys()].filter((i) => bytes[i] !== enc.bytes[i]);
    expect(changed.length).toBeGreaterThan(0);
    expect(decodeTree(SegmentImage.region(bytes, enc.base), enc.root).blocks[0]!.Status.name).toBe('NDIS_STATUS_FAILURE');
  });

  it('refuses a role that is none of the three, as encodeTree does', () => {
    const doc = decoded();
    doc.blocks[1]!.role = 'owner' as never;
    const bytes = enc.bytes.slice();
    const e = errorOf(() => encodeOnto(doc, SegmentImage.region(bytes, enc.base)));
    expect(e).toBeInstanceOf(EncodeError);
    expect((e as EncodeError).path).toBe('blocks[1].role');
    expect(Buffer.from(bytes).equals(Buffer.from(enc.bytes))).toBe(true);
  });
});

describe('encodeOnto writes only what the document gives', () => {
  // It used to write a state part's Header.Length whenever the part was given, Length or not.
  it('a part given without Header.Length leaves the capture\'s Length alone; a fresh image gets the default', () => {
    const base = 0x10000n;
    const capture = new Uint8Array(0x100);
    new DataView(capture.buffer).setUint32(152, 99, true); // PATH_OFFLOAD_STATE_CACHED.Header.Length after the x64 block
    const partial = (state: Record<string, unknown>): EncodeInput => ({ blocks: [{ address: '0x10000', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: state } }] });
    for (const state of [{ Header: { RecognizedOptions: 1 } }, { PathMtu: 1400 }]) {
      const out = encodeOntoCopy(partial(state), capture, base);
      expect(new DataView(out.buffer).getUint32(152, true)).toBe(99);
    }
    const given = encodeOntoCopy(partial({ Header: { Length: 12 } }), capture, base);
    expect(new DataView(given.buffer).getUint32(152, true)).toBe(12);
    const fresh = encodeTree({ blocks: [{ role: 'new-offload', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1400 } } }] });
    expect(new DataView(fresh.bytes.buffer).getUint32(152, true)).toBe(12);
  });
});
