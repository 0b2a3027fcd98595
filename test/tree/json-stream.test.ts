/**
 * The streamed JSON forms against the whole document: writeDocument writes exactly
 * `JSON.stringify(decodeTree(...), null, 2) + '\n'`, and the NDJSON lines reassemble to that
 * document, on every fixture and on generated trees (intact, with bytes flipped, cut into
 * segments, with low limits), including cycles and shared blocks below the top layer.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildFixture, decodeOptionsOf, fixtureNames, readDescription } from '../../scripts/fixtures.js';
import {
  type BlockJson,
  type DecodeOptions,
  type MemoryImage,
  type TreeDocument,
  SegmentImage,
  X64,
  blockOffsets,
  chunkedSink,
  decodeBlocks,
  decodeTree,
  encodeTree,
  writeDocument,
  writeNdjson,
} from '../../src/index.js';
import { fcParams, treeCaseArb } from '../support/arbitraries.js';

const streamed = (image: MemoryImage, root: bigint, options: DecodeOptions): string => {
  let text = '';
  writeDocument(decodeBlocks(image, root, options), (s) => (text += s));
  return text;
};

const ndjson = (image: MemoryImage, root: bigint, options: DecodeOptions): string => {
  let text = '';
  writeNdjson(decodeBlocks(image, root, options), (s) => (text += s));
  return text;
};

/** The document the NDJSON lines stand for: blocks placed by their paths. */
function reassemble(text: string): TreeDocument {
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const { kind, ...head } = lines[0]!;
  expect(kind).toBe('document');
  const doc = { ...head, blocks: [], diagnostics: [] } as unknown as TreeDocument;
  const byPath = new Map<string, BlockJson>();
  let seenDiagnostic = false;
  for (const line of lines.slice(1)) {
    const { kind: k, ...rest } = line;
    if (k === 'block') {
      expect(seenDiagnostic, 'blocks come before diagnostics').toBe(false);
      const { path, ...members } = rest as { path: string };
      const block = { ...members, dependents: [] } as unknown as BlockJson;
      const m = /^(.*)\.dependents\[(\d+)\]$/.exec(path) ?? /^()blocks\[(\d+)\]$/.exec(path);
      expect(m, path).not.toBeNull();
      const list = m![1] === '' ? doc.blocks : byPath.get(m![1]!)!.dependents;
      expect(list.length, `${path} comes in order`).toBe(Number(m![2]));
      list.push(block);
      byPath.set(path, block);
    } else {
      expect(k).toBe('diagnostic');
      seenDiagnostic = true;
      doc.diagnostics.push(rest as unknown as TreeDocument['diagnostics'][number]);
    }
  }
  return doc;
}

const check = (image: MemoryImage, root: bigint, options: DecodeOptions): void => {
  const doc = decodeTree(image, root, options);
  const whole = `${JSON.stringify(doc, null, 2)}\n`;
  expect(streamed(image, root, options)).toBe(whole);
  // Reassembled from its lines, the NDJSON form is the document, key order included.
  expect(JSON.stringify(reassemble(ndjson(image, root, options)), null, 2) + '\n').toBe(whole);
};

describe('writeDocument and writeNdjson', () => {
  for (const name of fixtureNames()) {
    it(`fixtures/${name}: the streamed document is JSON.stringify's, byte for byte; the NDJSON lines reassemble to it`, () => {
      const d = readDescription(name);
      const { base } = buildFixture(d);
      const image = SegmentImage.region(new Uint8Array(readFileSync(`fixtures/${name}.bin`)), base);
      check(image, base, decodeOptionsOf(d));
      check(image, base, { ...decodeOptionsOf(d), operation: undefined });
    });
  }

  it('an empty tree (a NULL root): "blocks": [] and the ROOT_NULL diagnostic', () => {
    const image = SegmentImage.region(new Uint8Array(64), 0x1000n);
    const text = streamed(image, 0n, {});
    expect(text).toBe(`${JSON.stringify(decodeTree(image, 0n, {}), null, 2)}\n`);
    expect(text).toContain('"blocks": [],\n  "diagnostics": [\n    {\n      "severity": "error",\n      "code": "ROOT_NULL"');
  });

  it('on generated trees, intact and with bytes flipped (cycles, shared blocks), in one segment or several, with low limits', () => {
    fc.assert(
      fc.property(
        treeCaseArb(),
        fc.array(fc.tuple(fc.nat(), fc.nat(7)), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        fc.boolean(),
        fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
        (tc, flips, cuts, withOperation, maxBlocks, maxDiagnostics) => {
          const enc = encodeTree(JSON.parse(JSON.stringify(tc.doc)));
          const bytes = enc.bytes.slice();
          for (const [i, bit] of flips) bytes[i % bytes.length]! ^= 1 << bit;
          const edges = [0, ...new Set(cuts.map((c) => c % bytes.length).filter((c) => c > 0).sort((a, b) => a - b)), bytes.length];
          const image = new SegmentImage(edges.slice(1).map((end, k) => ({ base: enc.base + BigInt(edges[k]!), bytes: bytes.subarray(edges[k]!, end) })));
          check(image, enc.root, {
            abi: tc.abi,
            ndis: tc.ndis,
            ...(withOperation ? { operation: tc.operation } : {}),
            ...(maxBlocks ? { maxBlocks } : {}),
            ...(maxDiagnostics ? { maxDiagnostics } : {}),
          });
        },
      ),
      fcParams({ numRuns: 300 }),
    );
  });

  it('a block shared and a cycle below the top layer name the earlier visit by its path', () => {
    // sample-x64: repoint the second neighbor's DependentBlockList at the first neighbor's path block (shared)...
    const d = readDescription('sample-x64');
    const { base } = buildFixture(d);
    const bytes = new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
    const doc = decodeTree(SegmentImage.region(bytes, base), base, decodeOptionsOf(d));
    const [n0, n1] = doc.blocks;
    expect(n1, 'the sample has two neighbors').toBeDefined();
    const offsets = blockOffsets(X64);
    const at = (b: BlockJson, member: 'DependentBlockList' | 'NextBlock'): number => Number(BigInt(b.address) - base) + (member === 'NextBlock' ? offsets.next : offsets.dependent);
    const shared = bytes.slice();
    new DataView(shared.buffer).setBigUint64(at(n1!, 'DependentBlockList'), BigInt(n0!.dependents[0]!.address), true);
    const sharedDoc = decodeTree(SegmentImage.region(shared, base), base, decodeOptionsOf(d));
    expect(sharedDoc.diagnostics.map((x) => x.message)).toContain('DependentBlockList leads back to the block at blocks[0].dependents[0], reached twice; not followed again');
    check(SegmentImage.region(shared, base), base, decodeOptionsOf(d));
    // ...and a path block's NextBlock back to itself (a cycle at depth 1).
    const looped = bytes.slice();
    const path0 = n0!.dependents[0]!;
    new DataView(looped.buffer).setBigUint64(at(path0, 'NextBlock'), BigInt(path0.address), true);
    const loopedDoc = decodeTree(SegmentImage.region(looped, base), base, decodeOptionsOf(d));
    expect(loopedDoc.diagnostics.map((x) => x.message)).toContain('NextBlock leads back to the block at blocks[0].dependents[0]: a cycle; not followed again');
    check(SegmentImage.region(looped, base), base, decodeOptionsOf(d));
  });

  it('a cycle closing on a block visited past the first 65,536 (a second chunk of visits) names it', () => {
    const n = 70_000;
    const size = blockOffsets(X64).size;
    const base = 0xffffc70a00000000n;
    const bytes = new Uint8Array(n * size);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < n; i++) {
      dv.setUint16(i * size + 2, size, true);
      dv.setBigUint64(i * size + blockOffsets(X64).next, base + BigInt(((i + 1) % n || 66_000) * size), true);
    }
    const stream = decodeBlocks(SegmentImage.region(bytes, base), base, { operation: 'invalidate' });
    let count = 0;
    for (const _ of stream) count++;
    expect(count).toBe(n);
    expect(stream.diagnostics.map((d) => [d.code, d.path, d.message])).toEqual([
      ['CYCLE', `blocks[${n}]`, 'NextBlock leads back to the block at blocks[66000]: a cycle; not followed again'],
    ]);
  });

  it('a stream is read once; its diagnostics are known at its end, its head before', () => {
    const image = SegmentImage.region(new Uint8Array(readFileSync('fixtures/sample-x64.bin')), 0xffffc70a12340000n);
    const stream = decodeBlocks(image, 0xffffc70a12340000n, { operation: 'initiate' });
    expect(stream.head.root).toBe('0xffffc70a12340000');
    const it = stream[Symbol.iterator]();
    it.next();
    expect(() => stream.diagnostics).toThrow('the diagnostics are known once every block has been read');
    while (!it.next().done);
    expect(stream.diagnostics).toEqual(decodeTree(image, 0xffffc70a12340000n, { operation: 'initiate' }).diagnostics);
    expect(stream.blockCount).toBe(JSON.stringify(decodeTree(image, 0xffffc70a12340000n, { operation: 'initiate' })).split('"address"').length - 1);
    expect(() => [...stream]).toThrow('a stream of blocks is read once');
  });

  it('chunkedSink hands on chunks of at least its size, and the rest on flush, in order', () => {
    const chunks: string[] = [];
    const sink = chunkedSink((s) => chunks.push(s), 10);
    for (const s of ['abc', 'defg', 'hij', 'k', 'lmnopqrstuvwxyz', '12']) sink.write(s);
    expect(chunks).toEqual(['abcdefghij', 'klmnopqrstuvwxyz']);
    sink.flush();
    expect(chunks).toEqual(['abcdefghij', 'klmnopqrstuvwxyz', '12']);
    sink.flush();
    expect(chunks).toHaveLength(3);
  });
});
