// The fixture corpus: every image is exactly what its description builds, and decodes as described.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BufferSource, SegmentImage, decodeTree, readDump } from '../../src/index.js';
import { SAMPLE_DUMP, buildFixture, buildSampleDump, decodeOptionsOf, fixtureNames, readDescription } from '../../scripts/fixtures.js';

describe('fixtures', () => {
  const names = fixtureNames();
  it('cover every operation, both ABIs, both NDIS revisions, IPv6 and broken images', () => {
    const ds = names.map(readDescription);
    expect(new Set(ds.map((d) => d.decodeOptions?.operation))).toEqual(new Set(['initiate', 'query', 'update', 'invalidate', 'terminate', undefined].filter(Boolean)));
    expect(new Set(ds.map((d) => d.abi))).toEqual(new Set(['x64', 'x86']));
    expect(new Set(ds.map((d) => d.ndis))).toEqual(new Set(['6.0', '6.1']));
    expect(names.filter((n) => n.startsWith('broken-')).length).toBeGreaterThanOrEqual(8);
  });

  for (const name of names) {
    it(`${name}: regenerates byte for byte and decodes as described`, () => {
      const d = readDescription(name);
      expect(d.description.length).toBeGreaterThan(10);
      const { bytes, base } = buildFixture(d);
      const committed = new Uint8Array(readFileSync(`fixtures/${name}.bin`));
      expect(Buffer.from(bytes).equals(Buffer.from(committed)), `fixtures/${name}.bin is stale: run npm run fixtures`).toBe(true);
      const doc = decodeTree(SegmentImage.region(committed, base), base, decodeOptionsOf(d));
      const found = doc.diagnostics.filter((x) => x.severity !== 'info').map((x) => ({ code: x.code, path: x.path }));
      expect(found).toEqual(d.expectDiagnostics ?? []);
      expect(doc.blocks.length).toBeGreaterThan(0);
    });
  }

  it(`${SAMPLE_DUMP.file}: regenerates byte for byte, stays small, and holds the sample tree`, () => {
    const committed = new Uint8Array(readFileSync(SAMPLE_DUMP.file));
    expect(Buffer.from(buildSampleDump()).equals(Buffer.from(committed)), `${SAMPLE_DUMP.file} is stale: run npm run fixtures`).toBe(true);
    expect(committed.length).toBeLessThan(200 * 1024);
    const d = readDescription(SAMPLE_DUMP.fixture);
    const plain = buildFixture({ ...d, base: `0x${SAMPLE_DUMP.root.toString(16)}` });
    const want = decodeTree(SegmentImage.region(plain.bytes, SAMPLE_DUMP.root), SAMPLE_DUMP.root, decodeOptionsOf(d));
    const dump = readDump(new BufferSource(committed));
    const got = decodeTree(dump.image(), SAMPLE_DUMP.root, decodeOptionsOf(d));
    const strip = (doc: typeof got): unknown => JSON.parse(JSON.stringify({ ...doc, base: null }, (k, v: unknown) => (k === 'offset' ? null : v)));
    expect(strip(got)).toEqual(strip(want));
    expect(got.diagnostics).toEqual([]);
    expect(got.blocks[0]!.offset).toBeNull(); // the first block straddles two pages
  });
});
