import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SegmentImage, X64, X86, decodeTree, scanImage } from '../../src/index.js';
import { buildFixture, readDescription } from '../../scripts/fixtures.js';

/** A region with noise around the fixture trees, placed at distinct offsets. */
function buried(names: string[], seed = 1): { image: SegmentImage; roots: bigint[] } {
  let x = seed;
  const rand = (): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) & 0xff;
  const base = 0xffffc70a00000000n;
  const parts = names.map((n) => {
    const d = readDescription(n);
    return { bytes: buildFixture({ ...d, base: '0x0' }).bytes, d };
  });
  const size = 1 << 20;
  const bytes = new Uint8Array(size).map(() => rand());
  const roots: bigint[] = [];
  let at = 0x10000;
  for (const p of parts) {
    const address = base + BigInt(at);
    const placed = buildFixture({ ...p.d, base: `0x${address.toString(16)}` }).bytes;
    bytes.set(placed, at);
    roots.push(address);
    at += Math.ceil((placed.length + 0x3000) / 0x1000) * 0x1000 + 0x808; // page-crossing offsets
  }
  return { image: SegmentImage.region(bytes, base), roots };
}

describe('scan', () => {
  it('finds the root of every tree buried in noise, best first', () => {
    const names = ['sample-x64', 'query-x64', 'terminate-x64', 'large-x64'];
    const { image, roots } = buried(names);
    const found = scanImage(image, { abi: X64 });
    const top = found.slice(0, names.length).map((c) => c.address);
    expect(new Set(top)).toEqual(new Set(roots));
    const sample = found.find((c) => c.address === roots[0])!;
    const doc = decodeTree(image, roots[0]!, { operation: 'initiate' });
    expect(sample.blocks).toBe(10);
    expect(sample.layers).toEqual({ neighbor: 2, path: 3, tcp: 5 });
    expect(sample.roles).toEqual({ placeholder: 1, linker: 1, 'new-offload': 8 });
    expect(doc.diagnostics).toEqual([]);
    expect(found.find((c) => c.address === roots[3])!.blocks).toBe(2 + 20 + 1000);
  });

  it('works on x86 captures', () => {
    const d = readDescription('initiate-x86');
    const { bytes, base } = buildFixture(d);
    const found = scanImage(SegmentImage.region(bytes, base), { abi: X86 });
    expect(found[0]!.address).toBe(base);
    expect(found[0]!.blocks).toBe(10);
  });

  it('finds nothing plausible in noise, and terminates on cycles', () => {
    const { image } = buried([], 7);
    expect(scanImage(image).filter((c) => c.blocks > 1)).toEqual([]);
    const cyc = new Uint8Array(readFileSync('fixtures/broken-self-loop.bin'));
    const found = scanImage(SegmentImage.region(cyc, 0xffffc70a40000000n));
    expect(found.length).toBeGreaterThan(0);
  });
});
