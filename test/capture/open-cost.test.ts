/**
 * Opening a capture costs what the format's metadata costs, never a pass over the file (issue 23,
 * "Speed"): the bench times it (`open/<format>@4g`, bench/dump-cases.ts); here the same sparse
 * captures of a 4 GiB machine (bench/open-captures.ts) are opened and read once at the root, and
 * what went through the readers (ByteSource.reads / bytesRead) is bounded, so that the property
 * holds in CI without timing anything.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_FORMATS, type OpenFile, PATTERN, openFormat, readRoot, writeOpenCaptures } from '../../bench/open-captures.js';

/** What an open and a first translated read may read beyond the format's metadata: a few frames (tables, the data page). */
const SLACK = 64 * 1024;
const MAX_READS = 32;
const GIB4 = 4 * 2 ** 30;

let dir: string;
let files: OpenFile[];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ndis-open-cost-'));
  files = writeOpenCaptures(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('opening a 4 GiB capture reads its metadata, not its memory', () => {
  it('writes every format of the bench', () => {
    expect(files.map((f) => f.format)).toEqual([...OPEN_FORMATS]);
  });

  for (const format of OPEN_FORMATS) {
    it(`${format}: open + first read of the root read the metadata and at most ${SLACK / 1024} KiB more`, () => {
      const f = files.find((x) => x.format === format)!;
      // The memory the capture holds is a 4 GiB machine's: the file (VMware: the .vmem) is that big, sparse.
      expect(statSync(f.vmem ?? f.file).size).toBeGreaterThan(GIB4 - 2 ** 20);
      const o = openFormat(f);
      let sum: number;
      try {
        sum = readRoot(o.image, BigInt(f.root));
      } finally {
        o.close();
      }
      expect(sum).toBe(PATTERN.reduce((a, b) => a + b, 0));
      const reads = o.sources.reduce((n, s) => n + s.reads, 0);
      const bytes = o.sources.reduce((n, s) => n + s.bytesRead, 0);
      // At least the metadata (the counters count, and metadataBytes is what the open needs)...
      expect(bytes).toBeGreaterThanOrEqual(f.metadataBytes);
      // ...and little more: the page-table frames and the root's frame.
      expect(bytes - f.metadataBytes).toBeLessThanOrEqual(SLACK);
      expect(reads).toBeLessThanOrEqual(MAX_READS);
    });
  }

  it('a bitmap dump reads its bitmap, whose size is the machine\'s, and no stored page beyond the few it translates through', () => {
    const f = files.find((x) => x.format === 'dump')!;
    // 2^20 pages: a 128 KiB bitmap after the 8 KiB header: more than the slack, so it is metadata, counted as such.
    expect(f.metadataBytes).toBeGreaterThan(128 * 1024);
    const o = openFormat(f);
    o.close();
    // Opening alone: the header and the bitmap, nothing of the 4 GiB of pages.
    expect(o.sources[0]!.bytesRead).toBeLessThanOrEqual(f.metadataBytes + 4096);
  });
});
