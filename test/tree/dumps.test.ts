// Trees read through page tables: the fixture trees in full and bitmap crash dumps and raw
// physical images (frames scattered, blocks straddling pages, a 2 MiB page, a transition PTE)
// decode to exactly the document the plain region gives, apart from `base` and `offset`.
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openCapture } from '../../src/codec/dump.js';
import { SegmentImage } from '../../src/codec/image.js';
import { decodeTree } from '../../src/tree/decode.js';
import type { Diagnostic, TreeDocument } from '../../src/tree/document.js';
import { scanImage } from '../../src/tree/scan.js';
import {
  CAPTURE_KINDS,
  type CaptureKind,
  type PlacedTree,
  blocksByPath,
  normalised,
  placeTree,
  secondPage,
  standardSpace,
  standardTrees,
  writeCaptures,
} from '../support/dump-trees.js';

const TREES = standardTrees();
const SPACE = standardSpace(TREES);
const CAPTURES = writeCaptures(SPACE);
const dirs = [CAPTURES.dir];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const regionDoc = (t: PlacedTree): TreeDocument => decodeTree(SegmentImage.region(t.bytes, t.root), t.root, t.options);

function withCapture<T>(files: Record<CaptureKind, string>, kind: CaptureKind, dtb: bigint, fn: (o: ReturnType<typeof openCapture>) => T): T {
  const o = openCapture(files[kind], kind === 'raw' ? { dtb } : {});
  try {
    return fn(o);
  } finally {
    o.close();
  }
}

function fileBytes(path: string, offset: number, n: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const b = new Uint8Array(n);
    readSync(fd, b, 0, n, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

describe('fixture trees in crash dumps and physical images', () => {
  it('the trees straddle pages: the first block of every 4 KiB-mapped tree crosses a boundary', () => {
    for (const t of TREES) expect(Number(t.root & 0xfffn) + 152).toBeGreaterThan(0x1000);
    expect(TREES.some((t) => t.pageSize === 0x200000)).toBe(true);
    expect(TREES.find((t) => t.name === 'large-x64')!.bytes.length).toBeGreaterThan(40 * 0x1000);
  });

  for (const kind of CAPTURE_KINDS) {
    for (const t of TREES) {
      it(`${kind}: ${t.name} decodes to the region's document, apart from base and offset`, () => {
        const want = regionDoc(t);
        expect(want.blocks.length).toBeGreaterThan(0);
        withCapture(CAPTURES.files, kind, CAPTURES.dtb, ({ image }) => {
          const got = decodeTree(image, t.root, t.options);
          expect(got.base).toBeNull();
          expect(normalised(got)).toEqual(normalised(want));
          // Offsets: null where a block straddles pages, else the file offset of its bytes.
          const blocks = [...blocksByPath(got).values()];
          expect(blocks.some((b) => b.offset === null)).toBe(true);
          const placed = blocks.filter((b) => b.offset !== null);
          expect(placed.length).toBeGreaterThan(0);
          for (const b of placed.slice(0, 50)) {
            const head = fileBytes(CAPTURES.files[kind], b.offset!, 4);
            expect([head[0], head[2]! | (head[3]! << 8)]).toEqual([b.Header.Type, b.Header.Size]);
          }
        });
      });
    }
  }

  it('the sample\'s second page is mapped by a transition PTE, and reads', () => {
    const sample = TREES.find((t) => t.name === 'sample-x64')!;
    const entry = SPACE.entryOf(secondPage(sample), 3)!;
    const pte = new DataView(SPACE.frames.get(entry.pfn)!.buffer).getBigUint64(entry.offset, true);
    expect(pte & 1n).toBe(0n);
    expect(pte & 0xc00n).toBe(0x800n);
    withCapture(CAPTURES.files, 'bitmap', CAPTURES.dtb, ({ image }) => {
      expect(image.physicalAddress(secondPage(sample))).toBeDefined();
    });
  });

  for (const kind of CAPTURE_KINDS) {
    it(`${kind}: scan finds the root of every tree, with its block count, best first`, () => {
      withCapture(CAPTURES.files, kind, CAPTURES.dtb, ({ image }) => {
        const found = scanImage(image);
        expect(new Set(found.slice(0, TREES.length).map((c) => c.address))).toEqual(new Set(TREES.map((t) => t.root)));
        for (const t of TREES) {
          const c = found.find((x) => x.address === t.root)!;
          expect(c.blocks).toBe(blocksByPath(regionDoc(t)).size);
        }
      });
    });
  }
});

describe('pages missing from the capture', () => {
  const large = placeTree('large-x64');
  const want = regionDoc(large);
  const byPath = blocksByPath(want);
  const pageOf = (path: string, plus = 0): bigint => (BigInt(byPath.get(path)!.address) + BigInt(plus)) & ~0xfffn;
  // A page of TCP blocks under the first neighbor; the state of blocks under the second; a third.
  const holes = {
    missing: pageOf('blocks[0].dependents[3].dependents[20]'),
    pagedOut: pageOf('blocks[1].dependents[5].dependents[10]', 152),
    notStored: pageOf('blocks[0].dependents[7].dependents[40]'),
  };
  const kept = new Set([pageOf('blocks[0]'), pageOf('blocks[0]', 151), pageOf('blocks[1]'), pageOf('blocks[1]', 151)]);
  const space = standardSpace([large], { missing: [holes.missing], pagedOut: [holes.pagedOut], notStored: [holes.notStored] });
  const captures = writeCaptures(space, 'ndis-holes-');
  dirs.push(captures.dir);
  const mentions = (d: Diagnostic, page: bigint): boolean => {
    const a = BigInt(d.address);
    return (a >= page && a < page + 0x1000n) || d.message.includes(`0x${page.toString(16)}`);
  };

  it('the holes are distinct pages away from the neighbors', () => {
    expect(new Set(Object.values(holes)).size).toBe(3);
    for (const h of Object.values(holes)) expect(kept.has(h)).toBe(false);
  });

  for (const kind of CAPTURE_KINDS) {
    it(`${kind}: each hole gives an error naming its address, member and path; decoding goes on`, () => {
      withCapture(captures.files, kind, captures.dtb, ({ image }) => {
        const got = decodeTree(image, large.root, large.options);
        const errors = got.diagnostics.filter((d) => d.severity === 'error');
        const why = { missing: /not present|never mapped/, pagedOut: /paged out/, notStored: /not in the dump|not stored/ };
        for (const [what, page] of Object.entries(holes) as [keyof typeof holes, bigint][]) {
          const hits = errors.filter((d) => mentions(d, page));
          expect(hits.length, `${what} page 0x${page.toString(16)}`).toBeGreaterThan(0);
          for (const d of hits) {
            expect(d.path).toMatch(/^blocks\[\d+\]/);
            expect(d.member).toMatch(/^[A-Za-z_*][A-Za-z0-9_.*]*$/); // the C member it was needed for
            expect(['POINTER_OUTSIDE_IMAGE', 'BLOCK_TRUNCATED', 'STATE_TRUNCATED', 'ADDRESS_OUTSIDE_IMAGE']).toContain(d.code);
            expect(d.message).toMatch(why[what]);
          }
        }
        // Both neighbors and most of the tree are there; every block decoded without a problem
        // of its own is exactly the region's block at the same path.
        expect(got.blocks.length).toBe(2);
        const gotBlocks = blocksByPath(got);
        expect(gotBlocks.size).toBeGreaterThan(600);
        expect(gotBlocks.size).toBeLessThan(byPath.size);
        const troubled = new Set(got.diagnostics.filter((d) => d.severity !== 'info').map((d) => d.path));
        let compared = 0;
        for (const [path, b] of gotBlocks) {
          if (troubled.has(path)) continue;
          const { dependents: _a, offset: _b, ...mine } = b;
          const { dependents: _c, offset: _d, ...theirs } = byPath.get(path)!;
          expect(mine, path).toEqual(theirs);
          compared++;
        }
        expect(compared).toBeGreaterThan(600);
      });
    });
  }
});
