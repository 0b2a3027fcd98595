/**
 * annotateBlocks: the labelled ranges of a tree from a stream of blocks, as hexdump writes them
 * without the document. They must be annotateTree(decodeTree(...)) exactly, in the same order,
 * ranges that start at one address included (blocks sharing a context cell or IP address bytes,
 * blocks overlapping in a hostile image): on every fixture, on the synthetic tree of the bench,
 * on trees built to share cells across lists and on fixtures with pointers rewritten at random.
 */
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Abi,
  type BlockInput,
  type ByteRange,
  type DecodeOptions,
  type IndexedRange,
  type NdisRevision,
  SegmentImage,
  X64,
  X86,
  annotateBlocks,
  annotateTree,
  blockAnnotation,
  blockRanges,
  decodeBlocks,
  decodeTree,
  encodeTree,
} from '../../src/index.js';
import { SIZES, syntheticDocument } from '../../bench/synthetic.js';
import { fcParams } from '../support/arbitraries.js';

const K = 0xffffc70a00000000n;
const plain = ({ address, size, path, label, padding }: ByteRange): ByteRange => ({ address, size, path, label, padding });

/** Both ways: the streamed ranges (without their block and seq) and the whole document's. */
function both(image: SegmentImage, root: bigint, options: DecodeOptions): { streamed: IndexedRange[]; whole: ByteRange[] } {
  const abi = options.abi ?? X64;
  const ndis = options.ndis ?? '6.1';
  const streamed = [...annotateBlocks(decodeBlocks(image, root, options), abi, ndis)];
  return { streamed, whole: annotateTree(decodeTree(image, root, options), abi) };
}

interface Fixture {
  name: string;
  bytes: Uint8Array;
  base: bigint;
  abi: Abi;
  ndis: NdisRevision;
  operation: DecodeOptions['operation'];
}
const FIXTURES: Fixture[] = readdirSync('fixtures')
  .filter((f) => f.endsWith('.bin'))
  .map((f) => {
    const j = JSON.parse(readFileSync(`fixtures/${f.replace(/\.bin$/, '.json')}`, 'utf8')) as { base: string; abi: string; ndis: NdisRevision; operation: DecodeOptions['operation'] };
    return { name: f, bytes: new Uint8Array(readFileSync(`fixtures/${f}`)), base: BigInt(j.base), abi: j.abi === 'x86' ? X86 : X64, ndis: j.ndis, operation: j.operation };
  });

describe('annotateBlocks gives annotateTree(decodeTree(...)) exactly', () => {
  it.each(FIXTURES.map((f) => [f.name, f] as const))('%s, with and without the operation', (_, f) => {
    for (const operation of [f.operation, undefined]) {
      const options: DecodeOptions = { abi: f.abi, ndis: f.ndis, ...(operation ? { operation } : {}) };
      const { streamed, whole } = both(SegmentImage.region(f.bytes, f.base), f.base, options);
      expect(whole.length).toBeGreaterThan(0);
      expect(streamed.map(plain)).toEqual(whole);
    }
  });

  it('the bench tree of 10,000 connections (10,110 blocks)', () => {
    const { bytes, base, root } = encodeTree(syntheticDocument(SIZES['10k']).doc);
    const image = SegmentImage.region(bytes, base);
    const tree = annotateBlocks(decodeBlocks(image, root, { operation: 'initiate' }), X64, '6.1');
    expect(tree.blockCount).toBe(10_110);
    const streamed = [...tree];
    expect(streamed.map(plain)).toEqual(annotateTree(decodeTree(image, root, { operation: 'initiate' }), X64));
  });

  it('ranges at one address come in annotateTree\'s order: blocks first to last, dependents last to first', () => {
    const linker = (): BlockInput => ({ role: 'linker', type: 'NeighborOffloadState' });
    const path = (): BlockInput => ({ role: 'linker', type: 'Ip4OffloadState', dependents: [{ role: 'linker', type: 'TcpOffloadState' }, { role: 'linker', type: 'TcpOffloadState' }] });
    const { bytes } = encodeTree({ abi: 'x64', blocks: [{ ...linker(), dependents: [path(), path(), path()] }, linker(), linker()] }, { base: K });
    const image = SegmentImage.region(bytes, K);
    const doc = decodeTree(image, K, { operation: 'initiate' });
    // Every block's MiniportOffloadContext pointed at blocks[0]'s cell: one address, 12 labels.
    const cell = BigInt(doc.blocks[0]!.MiniportOffloadContext as string);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const at = (address: string): number => Number(BigInt(address) - K) + 0x30;
    const all = [...doc.blocks];
    for (let i = 0; i < all.length; i++) all.push(...all[i]!.dependents);
    expect(all).toHaveLength(12);
    for (const b of all) dv.setBigUint64(at(b.address), cell, true);
    const { streamed, whole } = both(image, K, { operation: 'initiate' });
    expect(streamed.map(plain)).toEqual(whole);
    const labels = streamed.filter((r) => r.address === cell).map((r) => r.path);
    expect(labels).toEqual([
      'blocks[0]',
      'blocks[0].dependents[2]',
      'blocks[0].dependents[2].dependents[1]',
      'blocks[0].dependents[2].dependents[0]',
      'blocks[0].dependents[1]',
      'blocks[0].dependents[1].dependents[1]',
      'blocks[0].dependents[1].dependents[0]',
      'blocks[0].dependents[0]',
      'blocks[0].dependents[0].dependents[1]',
      'blocks[0].dependents[0].dependents[0]',
      'blocks[1]',
      'blocks[2]',
    ]);
  });

  it('rangesOf and blocksAt: a block\'s ranges in the order they are labelled, found by its path', () => {
    const f = FIXTURES.find((x) => x.name === 'sample-x64.bin')!;
    const image = SegmentImage.region(f.bytes, f.base);
    const blocks = [...decodeBlocks(image, f.base, { operation: 'initiate' })];
    const tree = annotateBlocks(decodeBlocks(image, f.base, { operation: 'initiate' }), X64, '6.1');
    const found = tree.blocksAt([...blocks.map((b) => b.path), 'blocks[9]', 'blocks[0].dependents[7]', 'blocks']);
    expect([...found]).toEqual(blocks.map((b, i) => [b.path, i]));
    blocks.forEach((b, i) => {
      expect(tree.rangesOf(i)).toEqual(blockRanges(blockAnnotation(b.block), b.path, X64, '6.1').map((r, seq) => ({ ...r, block: i, seq })));
    });
  });

  it('on fixtures whose pointers and bytes are rewritten at random (hostile trees: cycles, shared and overlapping blocks)', () => {
    const edit = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('byte', 'aligned', 'anywhere', 'beyond'),
      to: fc.nat(),
    });
    /** Runs with ranges of two blocks at one address (so that the order between blocks was put to the test). */
    let ties = 0;
    fc.assert(
      fc.property(fc.nat(FIXTURES.length - 1), fc.array(edit, { minLength: 1, maxLength: 8 }), fc.boolean(), (which, edits, withOperation) => {
        const f = FIXTURES[which]!;
        const bytes = f.bytes.slice();
        const dv = new DataView(bytes.buffer);
        const ptr = f.abi.pointerSize;
        for (const e of edits) {
          const at = (e.at % Math.max(1, bytes.length - 8)) & ~(ptr - 1);
          if (e.kind === 'byte') bytes[at + (e.to % ptr)] = e.to & 0xff;
          else {
            const span = e.kind === 'beyond' ? bytes.length + 64 : bytes.length;
            const off = e.kind === 'aligned' ? (e.to % bytes.length) & ~7 : e.to % span;
            const target = f.base + BigInt(off);
            if (ptr === 8) dv.setBigUint64(at, target, true);
            else dv.setUint32(at, Number(target & 0xffffffffn), true);
          }
        }
        const options: DecodeOptions = { abi: f.abi, ndis: f.ndis, ...(withOperation ? { operation: f.operation } : {}) };
        const { streamed, whole } = both(SegmentImage.region(bytes, f.base), f.base, options);
        expect(streamed.map(plain)).toEqual(whole);
        if (streamed.some((r, i) => i > 0 && r.address === streamed[i - 1]!.address && r.block !== streamed[i - 1]!.block)) ties++;
      }),
      fcParams({ numRuns: 300 }),
    );
    expect(ties).toBeGreaterThan(10);
  });
});
