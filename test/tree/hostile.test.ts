import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OffloadError, SegmentImage, X64, decodeTree, encodeTree, layoutOf, type EncodeInput } from '../../src/index.js';

const BASE = 0xffffc70a12340000n;
const sample = (): Uint8Array => new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
const off = (name: string): number => block.fields.find((f) => f.name === name)!.offset;
const codes = (bytes: Uint8Array, options = {}, root = BASE): string[] =>
  decodeTree(SegmentImage.region(bytes, BASE), root, options).diagnostics.map((d) => d.code);
const setPtr = (bytes: Uint8Array, at: number, v: bigint): void => new DataView(bytes.buffer).setBigUint64(at, v, true);

describe('hostile images give diagnostics with offsets and paths, never exceptions', () => {
  it('a root outside the image', () => {
    const doc = decodeTree(SegmentImage.region(sample(), BASE), 0xffff800000000000n);
    expect(doc.blocks).toEqual([]);
    expect(doc.diagnostics).toMatchObject([{ code: 'POINTER_OUTSIDE_IMAGE', path: 'blocks[0]', member: 'root', offset: null }]);
  });

  it('a NULL root', () => {
    expect(codes(sample(), {}, 0n)).toEqual(['ROOT_NULL']);
  });

  it('a capture cut inside the second top-level block', () => {
    const bytes = sample();
    const second = Number(new DataView(bytes.buffer).getBigUint64(off('NextBlock'), true) - BASE);
    const doc = decodeTree(SegmentImage.region(bytes.subarray(0, second + 40), BASE), BASE);
    const d = doc.diagnostics.find((x) => x.code === 'BLOCK_TRUNCATED')!;
    expect(d).toMatchObject({ path: 'blocks[1]', member: 'NextBlock', offset: second });
  });

  it('a self-loop, a two-block cycle and a shared block', () => {
    const bytes = sample();
    setPtr(bytes, off('NextBlock'), BASE); // the root points at itself
    expect(codes(bytes)).toContain('CYCLE');

    const shared = sample();
    const doc = decodeTree(SegmentImage.region(shared, BASE), BASE);
    const path6 = doc.blocks[0]!.dependents[1]!;
    const tcp4 = BigInt(doc.blocks[0]!.dependents[0]!.dependents[0]!.address);
    setPtr(shared, path6.offset! + off('DependentBlockList'), tcp4);
    const d = decodeTree(SegmentImage.region(shared, BASE), BASE).diagnostics.find((x) => x.code === 'BLOCK_SHARED');
    expect(d).toMatchObject({ path: 'blocks[0].dependents[1].dependents[0]', member: 'DependentBlockList' });
  });

  it('misaligned and out-of-image pointers, TCP dependents, wrong sizes, unknown types', () => {
    const bytes = sample();
    const doc = decodeTree(SegmentImage.region(bytes, BASE), BASE);
    const tcp = doc.blocks[0]!.dependents[0]!.dependents[0]!;
    const dv = new DataView(bytes.buffer);
    setPtr(bytes, tcp.offset! + off('DependentBlockList'), BASE + 8n);
    dv.setUint16(tcp.offset! + off('Header') + 2, 100, true); // Header.Size
    dv.setUint32(tcp.offset! + block.size, 99, true); // TCP_OFFLOAD_STATE_CONST.Header.Length
    dv.setUint8(doc.blocks[1]!.offset! + off('Header'), 0x42); // Header.Type
    setPtr(bytes, doc.blocks[1]!.dependents[0]!.offset! + off('NextBlock'), BASE + 3n);
    const out = decodeTree(SegmentImage.region(bytes, BASE), BASE, { operation: 'initiate' });
    const byCode = Object.fromEntries(out.diagnostics.reverse().map((d) => [d.code, d])); // the first of each code
    expect(byCode.TCP_HAS_DEPENDENTS).toMatchObject({ path: 'blocks[0].dependents[0].dependents[0]', offset: tcp.offset });
    expect(byCode.HEADER_SIZE_MISMATCH).toMatchObject({ member: 'Header.Size' });
    expect(byCode.STATE_LENGTH_MISMATCH).toMatchObject({ member: 'TCP_OFFLOAD_STATE_CONST.Header.Length', offset: tcp.offset! + block.size });
    expect(byCode.TYPE_UNKNOWN).toMatchObject({ path: 'blocks[1]' });
    expect(byCode.POINTER_MISALIGNED).toMatchObject({ path: 'blocks[1].dependents[1]', member: 'NextBlock' });
  });

  it('a status the operation does not allow', () => {
    expect(codes(sample(), { operation: 'query' })).toContain('STATUS_NOT_ALLOWED');
    expect(codes(sample(), { operation: 'initiate' })).not.toContain('STATUS_NOT_ALLOWED');
  });

  it('random bytes and mutated captures: a document, in bounded time, input untouched', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 2048 }), fc.nat(2048), (bytes, rootOffset) => {
        const copy = bytes.slice();
        const image = SegmentImage.region(bytes.length ? bytes : new Uint8Array(1), BASE);
        const doc = decodeTree(image, BASE + BigInt(rootOffset & ~7));
        expect(Array.isArray(doc.diagnostics)).toBe(true);
        expect(bytes).toEqual(copy);
      }),
      { numRuns: 300 },
    );
    const original = sample();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(original.length - 1), fc.nat(7)), { minLength: 1, maxLength: 16 }), (flips) => {
        const bytes = original.slice();
        for (const [i, bit] of flips) bytes[i]! ^= 1 << bit;
        const copy = bytes.slice();
        const t = performance.now();
        for (const operation of [undefined, 'initiate', 'terminate'] as const) {
          decodeTree(SegmentImage.region(bytes, BASE), BASE, operation ? { operation } : {});
        }
        expect(performance.now() - t).toBeLessThan(1000);
        expect(bytes).toEqual(copy);
      }),
      { numRuns: 300 },
    );
  });
});

describe('hostile documents give EncodeError with the path', () => {
  const cases: [string, unknown, string][] = [
    ['no blocks', {}, '$'],
    ['a wrong format', { format: 'x/2', blocks: [] }, '$.format'],
    ['an unknown type', { blocks: [{ type: 'Nope' }] }, 'blocks[0].type'],
    ['a value too large', { blocks: [{ role: 'placeholder', PortNumber: 2 ** 33 }] }, 'blocks[0].PortNumber'],
    ['a bit-field too wide', { blocks: [{ type: 'TcpOffloadConstState', state: { TCP_OFFLOAD_STATE_CONST: { SndWindScale: 16 } } }] }, 'blocks[0].state.TCP_OFFLOAD_STATE_CONST.SndWindScale'],
    ['a misspelt member', { blocks: [{ role: 'placeholder', NextBlok: '0x0' }] }, 'blocks[0].NextBlok'],
    ['a bad IP', { blocks: [{ type: 'Ip4OffloadConstState', state: { PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': '1.2.3' } } }] }, 'blocks[0].state.PATH_OFFLOAD_STATE_CONST.*SourceAddress'],
    ['TCP dependents', { blocks: [{ dependents: [{ dependents: [{ dependents: [{}] }] }] }] }, 'blocks[0].dependents[0].dependents[0].dependents'],
  ];
  for (const [name, doc, path] of cases) {
    it(name, () => {
      const e = (() => {
        try {
          encodeTree(doc as EncodeInput);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(OffloadError);
      expect((e as { path: string }).path).toBe(path);
    });
  }
});
