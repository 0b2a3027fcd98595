/**
 * decodeTree's compiled readers against the decoder as it was before them
 * (test/support/decode-reference.ts): the same document, key order included, on generated trees of
 * every ABI, revision and operation, decoded with and without an operation, intact and with bytes
 * flipped, in one segment and in several.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OPERATIONS, SegmentImage, decodeTree, encodeTree, type MemoryImage } from '../../src/index.js';
import { referenceDecodeTree } from '../support/decode-reference.js';
import { fcParams, treeCaseArb } from '../support/arbitraries.js';

const same = (image: MemoryImage, root: bigint, options: Parameters<typeof decodeTree>[2]): void => {
  const got = JSON.stringify(decodeTree(image, root, options));
  const want = JSON.stringify(referenceDecodeTree(image, root, options));
  expect(got).toBe(want);
};

describe('decodeTree agrees with the decoder it replaced', () => {
  it('on the bundled sample, for every operation and none', () => {
    const base = 0xffffc70a12340000n;
    const image = SegmentImage.region(new Uint8Array(readFileSync('fixtures/sample-x64.bin')), base);
    for (const operation of [undefined, ...OPERATIONS]) same(image, base, operation ? { operation } : {});
  });

  it('on generated trees, intact and with bytes flipped, in one segment or several', () => {
    fc.assert(
      fc.property(
        treeCaseArb(),
        fc.array(fc.tuple(fc.nat(), fc.nat(7)), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        fc.boolean(),
        fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
        (tc, flips, cuts, withOperation, maxBlocks) => {
          const enc = encodeTree(JSON.parse(JSON.stringify(tc.doc)));
          const bytes = enc.bytes.slice();
          for (const [i, bit] of flips) bytes[i % bytes.length]! ^= 1 << bit;
          const edges = [0, ...new Set(cuts.map((c) => c % bytes.length).filter((c) => c > 0).sort((a, b) => a - b)), bytes.length];
          const image = new SegmentImage(edges.slice(1).map((end, k) => ({ base: enc.base + BigInt(edges[k]!), bytes: bytes.subarray(edges[k]!, end) })));
          same(image, enc.root, { abi: tc.abi, ndis: tc.ndis, ...(withOperation ? { operation: tc.operation } : {}), ...(maxBlocks ? { maxBlocks } : {}), maxDiagnostics: 50 });
        },
      ),
      fcParams({ numRuns: 300 }),
    );
  });
});
