/** decodeTree's options from a program: checked before any byte is read, one typed error each. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SegmentImage } from '../../src/codec/image.js';
import { UsageError } from '../../src/errors.js';
import { X64 } from '../../src/layout/abi.js';
import { decodeBlocks, decodeTree } from '../../src/tree/decode.js';

const BASE = 0xffffc70a12340000n;
const image = SegmentImage.region(new Uint8Array(readFileSync('fixtures/sample-x64.bin')), BASE);

describe('decode options', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['an unknown operation', { operation: 'initate' }, "decode: unknown operation 'initate' (did you mean initiate?) (operations: initiate, query, update, invalidate, terminate)"],
    ['an unknown revision', { ndis: '6.2' }, "decode: unknown NDIS revision '6.2' (known: 6.0, 6.1)"],
    ['an ABI that is not one', { abi: { ...X64 } }, 'decode: abi must be one of x64, x86 (the exported X64 or X86)'],
    ['a block limit of 0', { maxBlocks: 0 }, 'decode: maxBlocks must be a positive integer, got 0'],
    ['a fractional diagnostic limit', { maxDiagnostics: 1.5 }, 'decode: maxDiagnostics must be a positive integer, got 1.5'],
  ];
  for (const [what, options, message] of cases) {
    it(`refuses ${what} with a UsageError, from decodeTree and decodeBlocks alike`, () => {
      for (const call of [() => decodeTree(image, BASE, options), () => decodeBlocks(image, BASE, options)]) {
        let error: unknown;
        try {
          call();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(UsageError);
        expect((error as Error).message).toBe(message);
      }
    });
  }

  it('refuses a root given as a number (an address above 2^53 would have lost bits)', () => {
    expect(() => decodeTree(image, Number(BASE) as unknown as bigint)).toThrow(new UsageError('decode: the root must be a bigint address, got number'));
  });

  it('takes every valid option', () => {
    const doc = decodeTree(image, BASE, { operation: 'initiate', ndis: '6.1', abi: X64, maxBlocks: 10, maxDiagnostics: 1 });
    expect(doc.blocks.length).toBe(2);
  });
});
